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
# each logging method's level, numbered as the standard library numbers them, and the lowest
# level written (set by configure_logging and set_level)
_METHOD_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                  "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
                  "critical": logging.CRITICAL, "fatal": logging.CRITICAL}
_THRESHOLD = [logging.INFO]
# service and instance of the process, read by every line (set by configure_logging)
_STATIC: dict[str, str] = {}


def _below_level(logger: Any, method: str, event: MutableMapping[str, Any]
                 ) -> MutableMapping[str, Any]:
    """Drop a line under the level in force (which :func:`set_level` moves while loggers stay
    cached)."""
    if _METHOD_LEVELS.get(method, logging.INFO) < _THRESHOLD[0]:
        raise structlog.DropEvent
    return event


class _Stdout:
    """Writes a rendered line to whatever ``sys.stdout`` is at the time (a test's capture
    replaces it after loggers are cached), flushed: the launcher sends it to a file."""

    __slots__ = ()

    def msg(self, message: str) -> None:
        out = sys.stdout
        out.write(message + "\n")
        out.flush()

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


_STDOUT = _Stdout()


def _stdout_logger(*args: Any) -> _Stdout:
    return _STDOUT


# One list, changed in place by configure_logging: cached loggers hold this very list, so a
# second configuration (tests; the format) reaches them too.
_PROCESSORS: list[Any] = []


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
    _THRESHOLD[0] = numeric
    _STATIC.clear()
    _STATIC.update(service=service, instance=instance)
    shared: list[Any] = [_enrich]
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_dumps) if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    # Our own lines go straight to stdout, rendered by structlog: through the standard library's
    # handlers and formatter a line cost ~4x as much, and services log on their hot paths
    # ("order placed", a mail written). Loggers are cached on first use (uncached, each line built
    # a bound logger and a file logger anew: about half of a line's cost); the level is the
    # first processor rather than the wrapper class, so that it can change under cached loggers.
    _PROCESSORS[:] = [_below_level, _enrich, structlog.processors.format_exc_info, renderer]
    structlog.configure(
        processors=_PROCESSORS,
        logger_factory=_stdout_logger,
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        cache_logger_on_first_use=True,
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
    numeric = logging.getLevelName(level.upper())
    _THRESHOLD[0] = numeric
    logging.getLogger().setLevel(numeric)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger bound to ``name`` (the module, usually)."""
    return structlog.get_logger(name)
