"""Structured logs: one JSON object per line on stdout, with service, instance, request and trace ids.

The launcher writes each process's stdout to its own file; ``souk logs`` merges them by timestamp.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

from chassis.tracing import current_ids

__all__ = ["configure_logging", "get_logger", "request_id_var", "set_level"]

# the request being served; set by the HTTP layer per request (cheaper than binding structlog's
# context variables, which copies a dict per request)
request_id_var: ContextVar[str] = ContextVar("souk_request_id", default="")


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


_LEVELS = {"exception": "error", "warn": "warning"}
# service and instance of the process, read by every line (set by configure_logging)
_STATIC: dict[str, str] = {}
_FORMAT = ["json"]  # the format configure_logging last set


def _enrich(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Level, time, service and instance, the request id, and ``trace_id`` and ``span_id`` of
    the current span (so `souk logs --trace` finds the line): one processor rather than five,
    as services log on their hot paths."""
    event["level"] = _LEVELS.get(method, method)
    event["ts"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for key, value in _STATIC.items():
        event.setdefault(key, value)
    request_id = request_id_var.get()
    if request_id:
        event.setdefault("request_id", request_id)
    ids = current_ids()
    if ids is not None:
        event.setdefault("trace_id", ids[0])
        event.setdefault("span_id", ids[1])
    return event


def configure_logging(service: str, instance: str, *, level: str = "info",
                      fmt: str = "json") -> None:
    """Route structlog and the standard library (uvicorn, alembic, asyncio) into one stream.

    Idempotent, so tests may call it for several apps in one process.
    """
    numeric = logging.getLevelName(level.upper())
    _FORMAT[0] = fmt
    _STATIC.clear()
    _STATIC.update(service=service, instance=instance)
    shared: list[Any] = [_enrich]
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_dumps) if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    # Our own lines go straight to stdout, rendered by structlog: through the standard library's
    # handlers and formatter a line cost ~4x as much, and services log on their hot paths
    # ("order placed"). The standard library's lines (uvicorn, alembic) take that longer way.
    structlog.configure(
        processors=[_enrich, structlog.processors.format_exc_info, renderer],
        logger_factory=structlog.WriteLoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "alembic"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # Access lines are off (INFO under a WARNING level), and must not reach any handler: uvicorn
    # formats the line for every response whenever its logger has a handler up the tree.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def set_level(level: str) -> None:
    """Change the level of this process's logs (a live setting); the rest stays as
    :func:`configure_logging` set it."""
    configure_logging(_STATIC.get("service", ""), _STATIC.get("instance", ""), level=level,
                      fmt=_FORMAT[0])


def get_logger(name: str | None = None) -> Any:
    """A structlog logger bound to ``name`` (the module, usually)."""
    return structlog.get_logger(name)
