"""OpenAPI helpers shared by every service's routers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chassis.problems import PROBLEM_JSON

__all__ = ["ProblemOut", "problem_responses"]


class ProblemOut(BaseModel):
    """An RFC 9457 problem document (extension members allowed)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://souk.dev/problems/orders/not-found"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_responses(
        described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json errors, e.g. ``problem_responses({404: "…"})``.

    A catch-all ``4XX`` is always included: it also replaces FastAPI's default ``422`` entry, which
    is wrong here because the chassis answers parameter errors with a 400 problem.
    """
    content = {PROBLEM_JSON: {"schema": ProblemOut.model_json_schema()}}
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": content}
        for status, text in (described or {}).items()}
    responses["4XX"] = {"description": "another client error", "content": content}
    return responses
