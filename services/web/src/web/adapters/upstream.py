"""One call to another service through the chassis's ServiceClient, on the signed-in user's
behalf when a bearer is given, its failures turned into the shop's errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chassis.http import ServiceCallError, ServiceClient, UpstreamError
from web.domain.errors import NotFound, Refused, Unavailable

__all__ = ["call"]


def _slug(problem: Mapping[str, Any]) -> str:
    kind = str(problem.get("type", ""))
    return "/".join(kind.rstrip("/").rsplit("/", 2)[-2:]) if kind else ""


async def call(client: ServiceClient, method: str, service: str, path: str, *,
               bearer: str | None = None, **kwargs: Any) -> Any:
    """The JSON answer of ``method path`` on ``service`` (None for an empty one)."""
    try:
        answer = await client.request(method, service, path, on_behalf_of=bearer, **kwargs)
    except UpstreamError as exc:
        if exc.status == 404:
            raise NotFound(path) from exc
        if exc.status >= 500 or exc.status == 429:
            raise Unavailable(service) from exc
        raise Refused(exc.status, _slug(exc.problem),
                      str(exc.problem.get("detail") or exc.problem.get("title") or "")) from exc
    except ServiceCallError as exc:
        raise Unavailable(service) from exc
    return answer.json()
