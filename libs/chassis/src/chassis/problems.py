"""RFC 9457 problem details: one response shape for every error in Souk.

Domain code raises plain exceptions; each service gives ``create_service_app`` a map from exception
type to ``(status, type slug)``. Anything unmapped becomes a 500 with no stack trace in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson

__all__ = ["PROBLEM_JSON", "Problem", "ProblemMap", "problem_body"]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://souk.dev/problems/"

ProblemMap = Mapping[type[Exception], tuple[int, str]]


class Problem(Exception):
    """An error that already knows its HTTP shape; raise it from edge code (entrypoints, gateway)."""

    def __init__(self, status: int, slug: str, detail: str = "", *, title: str = "",
                 headers: Mapping[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail or slug)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or _reason(status)
        self.headers = dict(headers or {})
        self.extensions = extensions


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(status: int, slug: str, detail: str = "", *, title: str = "",
                 instance: str = "", **extensions: Any) -> bytes:
    """Serialize a problem document; ``slug`` becomes the ``type`` URI (``about:blank`` if empty)."""
    doc: dict[str, Any] = {
        "type": TYPE_BASE + slug if slug else "about:blank",
        "title": title or _reason(status),
        "status": status,
    }
    if detail:
        doc["detail"] = detail
    if instance:
        doc["instance"] = instance
    doc.update(extensions)
    return orjson.dumps(doc)
