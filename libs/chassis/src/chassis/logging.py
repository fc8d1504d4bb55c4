"""Structured logs: one JSON object per line on stdout, with service, instance, request and trace ids.

The launcher writes each process's stdout to its own file; ``souk logs`` merges them by timestamp.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

from chassis.tracing import current_ids

__all__ = ["configure_logging", "get_logger"]


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def _trace_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """``trace_id`` and ``span_id`` of the current span, so `souk logs --trace` finds the line."""
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
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _static(service=service, instance=instance),
        _trace_ids,
    ]
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_dumps) if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
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


def _static(**fields: str) -> Any:
    def add(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        for key, value in fields.items():
            event.setdefault(key, value)
        return event
    return add


def get_logger(name: str | None = None) -> Any:
    """A structlog logger bound to ``name`` (the module, usually)."""
    return structlog.get_logger(name)
