"""How a handler's parameters are filled, read once from its signature when the route is declared.

A handler declares what it needs, and the chassis fills it per request::

    async def list_orders(user: Principal, orders: Orders,
                          limit: Annotated[int, Query(ge=1, le=100)] = 20) -> OrderPage: ...

* ``Annotated[T, Query(...)]``, ``Header(...)``, ``Path(...)`` — converted to ``T`` (str, int,
  float, bool, Literal, enums; ``list[T]`` for repeated query keys) and checked against the
  constraints (``ge``, ``le``, ``min_length``, ``max_length``, ``pattern`` …) by msgspec; a bad
  value is a 400 problem naming it. A path template's ``{name}`` is a path parameter even
  without ``Path()``.
* a ``msgspec.Struct`` (or ``list[Struct]``) — the JSON body, decoded and validated in one pass
  (400 when it is not JSON, 415 when it is not declared as JSON, 422 when it does not fit).
* :class:`~chassis.web.request.Request` — the request itself; :class:`Principal` — the caller the
  route's ``auth`` admitted; :class:`~chassis.web.auth.ClientAddress` — the caller's address
  (the gateway's word for it only when the gateway proves who it is).
* anything else — a service object the app was given with ``app.provide(obj)``, looked up by
  its type.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from chassis.auth.principal import Principal
from chassis.problems import Problem
from chassis.settings import ServiceSettings

__all__ = ["Body", "Header", "ParamSpec", "Path", "Query", "compile_params", "type_hints",
           "validation_problem"]

_META_KEYS = ("gt", "ge", "lt", "le", "min_length", "max_length", "pattern", "examples",
              "description", "title", "multiple_of")


class _Source:
    source = ""

    def __init__(self, alias: str | None = None, **constraints: Any) -> None:
        unknown = set(constraints) - set(_META_KEYS)
        if unknown:
            raise TypeError(f"unknown constraint(s) {sorted(unknown)}")
        self.alias = alias
        self.meta = msgspec.Meta(**constraints) if constraints else None
        self.description = constraints.get("description", "")


class Query(_Source):
    """A query parameter: ``Annotated[int, Query(ge=1, le=100)] = 20``."""

    source = "query"


class Header(_Source):
    """A request header: ``Annotated[str, Header("Idempotency-Key", pattern=...)]``."""

    source = "header"


class Path(_Source):
    """A path parameter with constraints: ``Annotated[str, Path(max_length=64)]``."""

    source = "path"


class Body:
    """Marks a parameter as the JSON body when its type is not a Struct (``list[Struct]`` is
    recognised without it)."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One ``in: query|header|path`` parameter, as the OpenAPI document shows it."""

    name: str  # the wire name (the query key, header name or path segment name)
    source: str
    type: Any  # with its constraints, for conversion and the schema
    required: bool
    default: Any
    description: str
    is_list: bool = False


@dataclass(slots=True)
class Compiled:
    """A handler's parameters, in call order: ``(argument name, kind, detail)``."""

    fill: list[tuple[str, str, Any]] = field(default_factory=list)
    params: list[ParamSpec] = field(default_factory=list)
    body: Any = None  # the body type, when there is one
    body_decoder: msgspec.json.Decoder[Any] | None = None
    wants_principal: bool = False
    provided: list[type] = field(default_factory=list)

    @property
    def query_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params if p.source == "query")


_SIMPLE = (str, int, float, bool)


def _is_struct(tp: Any) -> bool:
    # settings are Structs too, but always given by the app (``app.provide``), never a body
    return (isinstance(tp, type) and issubclass(tp, msgspec.Struct)
            and not issubclass(tp, ServiceSettings))


def _is_body_type(tp: Any) -> bool:
    if _is_struct(tp):
        return True
    return get_origin(tp) is list and bool(get_args(tp)) and _is_struct(get_args(tp)[0])


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(tp)):
            return args[0], True
    return tp, False


def type_hints(handler: Callable[..., Any]) -> dict[str, Any]:
    """``handler``'s annotations resolved, including names of the scope it was defined in (a
    handler declared inside a function may use that function's local classes)."""
    code = getattr(handler, "__code__", None)
    cells = getattr(handler, "__closure__", None) or ()
    local = ({name: cell.cell_contents for name, cell in zip(code.co_freevars, cells, strict=True)}
             if code is not None else {})
    return typing.get_type_hints(handler, localns=local, include_extras=True)


def compile_params(handler: Callable[..., Any], path_names: set[str]) -> Compiled:
    """Read ``handler``'s signature once; raise TypeError for anything the chassis cannot fill."""
    hints = type_hints(handler)
    compiled = Compiled()
    from chassis.web.auth import ClientAddress
    from chassis.web.request import Request  # the request module needs nothing from here

    for name, parameter in inspect.signature(handler).parameters.items():
        if name not in hints:
            raise TypeError(f"{handler.__qualname__}: parameter {name!r} has no type annotation")
        hint = hints[name]
        default = parameter.default
        required = default is inspect.Parameter.empty
        base, marker = hint, None
        if get_origin(hint) is Annotated:
            base, *extras = get_args(hint)
            marker = next((e for e in extras if isinstance(e, _Source | Body)), None)
        if base is Request:
            compiled.fill.append((name, "request", None))
        elif base is ClientAddress:
            compiled.fill.append((name, "client", None))
        elif base is Principal:
            compiled.fill.append((name, "principal", None))
            compiled.wants_principal = True
        elif isinstance(marker, Body) or (marker is None and _is_body_type(base)):
            if compiled.body is not None:
                raise TypeError(f"{handler.__qualname__}: two bodies")
            compiled.body = base
            compiled.body_decoder = msgspec.json.Decoder(base)
            compiled.fill.append((name, "body", None))
        elif isinstance(marker, _Source) or name in path_names:
            source = marker.source if isinstance(marker, _Source) else "path"
            spec = _param_spec(handler, name, base, marker, source, required, default)
            if source == "path" and spec.name not in path_names:
                raise TypeError(f"{handler.__qualname__}: {spec.name!r} is not in the path")
            compiled.params.append(spec)
            compiled.fill.append((name, "param", spec))
        elif isinstance(base, type):
            compiled.fill.append((name, "provided", base))
            compiled.provided.append(base)
        else:
            raise TypeError(f"{handler.__qualname__}: cannot fill parameter {name!r} ({hint!r})")
    missing = path_names - {p.name for p in compiled.params if p.source == "path"}
    if missing:
        raise TypeError(f"{handler.__qualname__}: no parameter for path segment(s) {missing}")
    return compiled


def _param_spec(handler: Callable[..., Any], name: str, base: Any, marker: _Source | None,
                source: str, required: bool, default: Any) -> ParamSpec:
    inner, optional = _strip_optional(base)
    is_list = get_origin(inner) is list
    item = get_args(inner)[0] if is_list else inner
    if not (item in _SIMPLE or get_origin(item) is Literal
            or (isinstance(item, type) and issubclass(item, enum.Enum))):
        raise TypeError(f"{handler.__qualname__}: {name!r} must be str/int/float/bool/Literal/enum")
    if is_list and source != "query":
        raise TypeError(f"{handler.__qualname__}: only query parameters may repeat")
    typ: Any = item if marker is None or marker.meta is None else Annotated[item, marker.meta]
    if is_list:
        typ = list[typ]
    wire = marker.alias if marker is not None and marker.alias else name
    if source == "header":
        wire = (marker.alias if marker is not None and marker.alias
                else name.replace("_", "-")).lower()
    return ParamSpec(name=wire, source=source, type=typ, required=required and not optional,
                     default=None if required else default,
                     description=marker.description if marker is not None else "",
                     is_list=is_list)


_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.DOTALL)


def validation_problem(status: int, where: str, error: msgspec.ValidationError,
                       name: str = "") -> Problem:
    """A 400/422 problem for a value msgspec refused, naming where it was."""
    match = _AT.match(str(error))
    message, at = (match.group(1), match.group(2) or "") if match else (str(error), "")
    loc = [where] + ([name] if name else []) + [p for p in re.split(r"[.\[\]]+", at) if p]
    detail = ("the request body failed validation" if where == "body"
              else "a request parameter is invalid")
    return Problem(status, "validation-error", detail,
                   errors=[{"loc": loc, "msg": message, "type": "validation"}])
