"""The OpenAPI 3.1 document of an app, from its route declarations alone.

Everything a route can answer is in it: its success statuses with their media types and body
schemas, and every problem status the chassis itself can produce for it — 400 for a parameter
that fails its constraints or a body that is not JSON, 413/415/422 for bodies, 401/403 from its
``auth``, 503/504 from admission control (unless the route is never shed), and the statuses of the
domain errors it ``raises`` (from the service's problem map). Every operation also declares
``5XX``: any route can fail unexpectedly (``internal-error``), and a fault rule switched on for it
answers a 5xx of the user's choice (``fault/injected``, ``chassis.web.faults``); a route that
declares a 5xx itself keeps its own description. Schemas come from the msgspec types themselves
(``msgspec.json.schema_components``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from chassis.problems import PROBLEM_JSON
from chassis.web.admission import Priority
from chassis.web.responses import JSON, Media

if TYPE_CHECKING:
    from chassis.web.app import App
    from chassis.web.routing import Route

__all__ = ["build_openapi"]

_REF = "#/components/schemas/{name}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object", "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["https://souk.dev/problems/not-found"]},
        "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "request_id": {"type": "string"}},
    "additionalProperties": True}

SERVER_ERROR = ("a server error: an unexpected failure (internal-error), or a fault switched on "
                "for this route (fault/injected)")

_CHASSIS_PROBLEMS = {
    "params": {400: "a parameter is missing or fails its constraints (validation-error)"},
    "body": {400: "the body is not JSON (invalid-json)",
             413: "the body is too large (too-large)",
             415: "the body is not declared as JSON, or has a content coding "
                  "(unsupported-media-type)",
             422: "the body does not fit the schema (validation-error)"},
    "admission": {503: "this instance is at its concurrency limit: nothing was done, try again "
                       "after Retry-After (overloaded)",
                  504: "the caller's deadline (X-Souk-Deadline) passed before the work began: "
                       "nothing was done (deadline-exceeded)"},
}


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def _types(app: App) -> list[Any]:
    seen: list[Any] = []
    for route in app.table.routes:
        if route.compiled.body is not None:
            seen.append(route.compiled.body)
        seen.extend(spec.type for spec in route.compiled.params)
        seen.extend(doc for doc, _ in route.responses.values()
                    if doc is not None and not isinstance(doc, Media | tuple))
    return seen


def _problems(app: App, route: Route) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}

    def add(status: int, text: str) -> None:
        found.setdefault(status, []).append(text)

    if route.compiled.params:
        for status, text in _CHASSIS_PROBLEMS["params"].items():
            add(status, text)
    if route.compiled.body is not None:
        for status, text in _CHASSIS_PROBLEMS["body"].items():
            add(status, text)
    if route.auth is not None:
        for status, text in route.auth.statuses.items():
            add(status, text)
    for error in route.raises:
        status, slug = next(app.problems[c] for c in error.__mro__ if c in app.problems)
        add(status, f"{_sentence(error)} ({slug})")
    for status, text in route.problems.items():
        add(status, text)
    if route.priority is not Priority.EXEMPT:
        for status, text in _CHASSIS_PROBLEMS["admission"].items():
            add(status, text)
    return found


def _sentence(error: type[Exception]) -> str:
    doc = (error.__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else error.__name__


def build_openapi(app: App) -> dict[str, Any]:
    """The document as a dict (the app serves it encoded at ``/openapi.json``)."""
    types = _types(app)
    schemas_of, components = msgspec.json.schema_components(types, ref_template=_REF)
    schema = dict(zip(map(id, types), schemas_of, strict=True))
    components["Problem"] = PROBLEM_SCHEMA
    problem_content: dict[str, Any] = {
        PROBLEM_JSON: {"schema": {"$ref": _REF.format(name="Problem")}}}
    if app.error_page is not None:  # browsers get the same problem as a page
        problem_content["text/html"] = {"schema": {"type": "string"}}
    paths: dict[str, dict[str, Any]] = {}
    for route in app.table.routes:
        if not route.include_in_schema:
            continue
        op: dict[str, Any] = {"operationId": route.operation_id, "tags": list(route.tags)}
        if route.summary:
            op["summary"] = route.summary
        if route.description:
            op["description"] = route.description
        if route.compiled.params:
            op["parameters"] = [_parameter(spec, schema[id(spec.type)])
                                for spec in route.compiled.params]
        if route.compiled.body is not None:
            op["requestBody"] = {"required": True, "content": {
                JSON: {"schema": schema[id(route.compiled.body)]}}}
        elif route.body_media:
            op["requestBody"] = _read_body(route.body_media)
        if route.auth is not None:
            op["security"] = [{"bearer": []}]
            op["x-souk-auth"] = route.auth.description
        responses: dict[str, Any] = {}
        for status, (doc, text) in sorted(route.responses.items()):
            responses[str(status)] = _success(doc, text, schema)
            if route.headers and 200 <= status < 300:
                responses[str(status)]["headers"] = {
                    name: {"description": said, "schema": {"type": "string"}}
                    for name, said in route.headers.items()}
        for status, texts in sorted(_problems(app, route).items()):
            responses[str(status)] = {"description": "; ".join(texts),
                                      "content": problem_content}
            if status in (429, 503):  # the chassis's and the services' own say when to retry
                responses[str(status)]["headers"] = _RETRY_AFTER
        responses["5XX"] = {"description": SERVER_ERROR, "content": problem_content}
        op["responses"] = responses
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": app.title, "version": app.version, "description": app.description},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _parameter(spec: Any, schema: dict[str, Any]) -> dict[str, Any]:
    param: dict[str, Any] = {"name": spec.name, "in": spec.source,
                             "required": spec.required or spec.source == "path",
                             "schema": schema}
    if spec.default is not None:
        param["schema"] = {**schema, "default": spec.default}
    if spec.description:
        param["description"] = spec.description
    return param


def _is_json(media: Media) -> bool:
    return media.media_type.split(";")[0].endswith("json")


def _read_body(media: tuple[Media, ...]) -> dict[str, Any]:
    # bytes the handler reads itself: any JSON object, else octets
    body: dict[str, Any] = {"required": True, "content": {
        m.media_type: {"schema": {"type": "object"} if _is_json(m)
                       else {"type": "string", "format": "binary"}} for m in media}}
    described = "; ".join(f"{m.media_type}: {m.description}" for m in media if m.description)
    if described:
        body["description"] = described
    return body


def _success(doc: Any, text: str, schema: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if doc is None:
        return {"description": text or "no content"}
    if isinstance(doc, Media):
        doc = (doc,)
    if isinstance(doc, tuple):  # one answer in each of these media types
        return {"description": text or "; ".join(m.description or m.media_type for m in doc),
                "content": {m.media_type: {"schema": {"type": "object" if _is_json(m)
                                                      else "string"}} for m in doc}}
    return {"description": text or "success", "content": {JSON: {"schema": schema[id(doc)]}}}
