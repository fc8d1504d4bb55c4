"""Exception handlers that turn every error into RFC 9457 problem+json.

Query, path and header validation errors are 400 (the request line is wrong); body validation
errors are 422 (the document is well-formed but unacceptable); malformed JSON is 400. Unexpected
exceptions are 500 with no stack trace in the body, logged with the request id.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from chassis.logging import get_logger
from chassis.problems import Problem, ProblemMap, problem_response

__all__ = ["install_problem_handlers"]

log = get_logger(__name__)

_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
          405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 413: "too-large",
          415: "unsupported-media-type", 429: "too-many-requests"}


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def install_problem_handlers(app: FastAPI, problems: ProblemMap) -> None:
    """Register handlers for mapped domain errors, ``Problem``, validation, HTTP and 500s."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.slug, exc.detail, title=exc.title,
                                instance=request.url.path, headers=exc.headers, **exc.extensions)

    async def on_domain(request: Request, exc: Exception) -> Response:
        for cls in type(exc).__mro__:
            if cls in problems:
                status, slug = problems[cls]
                return problem_response(status, slug, str(exc), instance=request.url.path)
        return await on_unexpected(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [_describe(e) for e in exc.errors()]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem_response(400, "invalid-json", "the request body is not valid JSON",
                                    instance=request.url.path, errors=errors)
        in_body = any(e["loc"] and e["loc"][0] == "body" for e in errors)
        status = 422 if in_body else 400
        detail = ("the request body failed validation" if in_body
                  else "a request parameter is invalid")
        return problem_response(status, "validation-error", detail,
                                instance=request.url.path, errors=errors)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = _SLUGS.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        return problem_response(exc.status_code, slug, detail, instance=request.url.path,
                                headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path, error_type=type(exc).__name__)
        return problem_response(
            500, "internal-error",
            "an unexpected error occurred; quote the request id when reporting it",
            instance=request.url.path, request_id=_request_id(request))

    async def on_unstorable_text(request: Request, exc: Exception) -> Response:
        # PostgreSQL cannot store NUL in text; that is the caller's input, not our fault
        return problem_response(400, "invalid-characters",
                                "the request contains characters that cannot be stored",
                                instance=request.url.path)

    app.add_exception_handler(Problem, on_problem)
    for cls in _unstorable_text_errors():
        app.add_exception_handler(cls, on_unstorable_text)
    for cls in problems:
        app.add_exception_handler(cls, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _unstorable_text_errors() -> tuple[type[Exception], ...]:
    try:
        from asyncpg.exceptions import CharacterNotInRepertoireError, UntranslatableCharacterError
    except ImportError:  # pragma: no cover - asyncpg is a chassis dependency
        return ()
    return (CharacterNotInRepertoireError, UntranslatableCharacterError)


def _describe(error: Any) -> dict[str, Any]:
    # never echo the offending input: it may be a password or a token
    return {"loc": [str(p) for p in error.get("loc", ())], "msg": error.get("msg", ""),
            "type": error.get("type", "")}
