"""OpenAPI conformance, property-based: every operation of a running service is called with
requests generated from its own document (valid ones and invalid ones), and every answer must be
documented — its status, its media type, its body's schema — and never a 5xx.

Schemathesis generates and checks; this module only runs it over every operation with a bounded,
reproducible number of examples, and collects what failed::

    with serve_in_thread(app, issuer) as url:
        failures = check_conformance(url, auth=lambda op: {"Authorization": ...})
    assert failures == []
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_conformance"]

def check_conformance(base_url: str, *, token: str = "", max_examples: int = 15,
                      skip: frozenset[str] = frozenset(), negative: bool = True,
                      document_url: str = "") -> list[str]:
    """Run the checks on every operation (but those labelled in ``skip``, e.g.
    ``"GET /v1/orders/{order_id}/events"``), sending ``token`` where the document asks for the
    bearer scheme (and leaving it out, or spoiling it, in negative cases); return one line per
    failing operation. The document is ``document_url`` (default: the base URL's
    ``/openapi.json``)."""
    import requests
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import CHECKS
    from schemathesis.config import SchemathesisConfig
    from schemathesis.specs.openapi import checks as _registers_openapi_checks  # noqa: F401

    where = document_url or base_url + "/openapi.json"
    answer = requests.get(where, timeout=10)
    if answer.status_code != 200:  # schemathesis would say "Unable to determine the version"
        raise RuntimeError(f"no API document at {where}: {answer.status_code} "
                           f"{answer.text[:300]}")
    document = answer.json()
    settings: dict[str, Any] = {"checks": {"negative_data_rejection": {
        "expected-statuses": _REJECTIONS}}}
    if token:
        settings["auth"] = {"openapi": {"bearer": {"bearer": token}}}
    config = SchemathesisConfig.from_dict(settings)
    schema = schemathesis.openapi.from_dict(document, config=config)
    wanted = [c for c in CHECKS.get_all() if c.__name__ in _CHECKS]
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative else [])
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = getattr(result, "ok", None)
        if operation is None:  # the document itself is broken there
            failures.append(f"invalid operation: {result.err()}")  # type: ignore[union-attr]
            continue
        operation = operation()
        if operation.label in skip:
            continue
        for mode in modes:
            try:
                _run(operation.as_strategy(generation_mode=mode), base_url, wanted, max_examples)
            except Unsatisfiable:  # nothing to spoil: an operation without parameters or body
                continue
            except (Exception, BaseExceptionGroup) as exc:  # a failed check: its first lines
                text = str(exc).strip().splitlines()
                failures.append(f"{operation.label} ({mode.value}): " + " | ".join(text[:12]))
    return failures


def _run(strategy: Any, base_url: str, checks: list[Any], max_examples: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=10)
        case.validate_response(response, checks=_gave_up(response, checks))

    run()


def _gave_up(response: Any, checks: list[Any]) -> list[Any]:
    """The checks for this answer: a generated ``X-Souk-Deadline`` in the past gets the
    documented 504 ``deadline-exceeded`` (the caller has given up, nothing is done), which is
    no server error."""
    if response.status_code != 504 or "x-souk-deadline" not in response.request.headers:
        return checks
    try:
        kind = str(response.json().get("type", ""))
    except ValueError:
        return checks
    if not kind.endswith("/deadline-exceeded"):
        return checks
    return [c for c in checks if c.__name__ != "not_a_server_error"]


# how an invalid request may be refused: schemathesis's list, and a request too large to read
# (a body, a URL or headers over a server's limit: a front server such as the gateway has them)
_REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422",
               "428", "429", "431", "5xx"]

# the response checks that judge the service itself (the stateful and auth-probing ones need
# more context than one call and are covered by the services' own tests)
_CHECKS = frozenset({
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
    "missing_required_header", "unsupported_method", "allow_header_conformance",
})
