"""``souk config``: the live settings of the running platform (chassis.live).

``get|set|unset|history|rollback [SERVICE.]KEY`` and ``list [SERVICE]``; a key without a service
is platform-wide (every service that has the setting; a service's own key overrides it). A value
is JSON (``0.5``, ``true``, ``[{"route": "*", "error_rate": 0.1}]``) or plain text
(``100/minute``). Exit 2 when a key or value is refused (nothing is written) or the platform is
not running, 1 when the store cannot be reached.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from chassis.live import default_author
from chassis.live.store import Revision
from souk.console import CANNOT_ACT, HomeOption, command_group, fail, out, running_state
from souk.home import Home
from souk.live_config import ConfigError, Refused, Store, parse_value, store_of

__all__ = ["config_app"]

T = TypeVar("T")

config_app = command_group("Live configuration: change a running platform's settings "
                           "without a restart.")
KeyArgument = Annotated[str, typer.Argument(metavar="[SERVICE.]KEY", help=(
    "payments.decline_rate, gateway.rate_limit, or a platform-wide key such as log_level"))]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON only")]
ByOption = Annotated[str | None, typer.Option(
    "--by", help="who makes the change, for the audit [default: user@host]", show_default=False)]


def _run(home: Path | None, work: Callable[[Store], Awaitable[T]]) -> T:
    state = running_state(Home.resolve(home))

    async def main() -> T:
        async with store_of(state) as store:
            return await work(store)

    try:
        return asyncio.run(main())
    except Refused as exc:
        raise fail(str(exc), CANNOT_ACT) from None
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _show(value: Any) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, str) else value


def _revision_json(revision: Revision) -> dict[str, Any]:
    record = revision.record
    return {"key": revision.key, "revision": revision.revision, "action": record.action,
            "value": record.value, "unset": record.unset, "by": record.by, "at": record.at,
            "old": record.old, "old_unset": record.old_unset,
            "rollback_to": record.rollback_to or None, "deleted": revision.deleted}


def _change_line(revision: Revision) -> str:
    record = revision.record
    old = "(static)" if record.old_unset else _show(record.old)
    new = "(static)" if record.unset else _show(record.value)
    return (f"{revision.key}: {escape(old)} -> {escape(new)}  "
            f"(revision {revision.revision}, by {escape(record.by)} at {record.at})")


def _print_change(revision: Revision, json: bool) -> None:
    if json:
        _json(_revision_json(revision))
    else:
        out.print(_change_line(revision))


# a value that starts with '-' (-5, -0.5) is the value, not an unknown option
@config_app.command("set", context_settings={"ignore_unknown_options": True})
def config_set(key: KeyArgument,
               value: Annotated[str, typer.Argument(help="JSON, or plain text")],
               by: ByOption = None, home: HomeOption = None, json: JsonOption = False) -> None:
    """Set a live setting; the services apply it within a second or two. A value the setting's
    type refuses is not written (exit 2)."""
    revision = _run(home, lambda store: store.set(key, parse_value(value), raw=value,
                                                  by=by or default_author()))
    _print_change(revision, json)


@config_app.command("unset")
def config_unset(key: KeyArgument, by: ByOption = None, home: HomeOption = None,
                 json: JsonOption = False) -> None:
    """Remove a key's value (an audited revision): the static value (or the platform-wide key)
    applies again. A key with no stored value is refused (exit 2): nothing is written."""
    revision = _run(home, lambda store: store.unset(key, by=by or default_author()))
    _print_change(revision, json)


@config_app.command("rollback")
def config_rollback(key: KeyArgument,
                    to: Annotated[int | None, typer.Option(
                        "--to", metavar="REVISION", help="restore this revision's value "
                        "[default: the one before the latest]", show_default=False)] = None,
                    by: ByOption = None, home: HomeOption = None,
                    json: JsonOption = False) -> None:
    """Restore an earlier value as a new, audited revision."""
    revision = _run(home, lambda store: store.rollback(key, to=to, by=by or default_author()))
    _print_change(revision, json)


def _key(key: str) -> tuple[str, str, str]:
    """``key``'s scope, setting name and key in the store; a malformed key is refused."""
    from chassis.live import parse_key, store_key

    try:
        scope, name = parse_key(key)
    except ValueError as exc:
        raise fail(str(exc), CANNOT_ACT) from None
    return scope, name, store_key(scope, name)


@config_app.command("history")
def config_history(key: KeyArgument, home: HomeOption = None, json: JsonOption = False) -> None:
    """Every kept revision of a key (64 at most), oldest first: who, when, old -> new."""
    scope, name, stored = _key(key)

    async def work(store: Store) -> list[Revision]:
        revisions = await store.history(stored)
        if not revisions:  # a key no service has, rather than one never set
            await store.known(scope, name)
        return revisions

    revisions = _run(home, work)
    if json:
        _json([_revision_json(r) for r in revisions])
        return
    if not revisions:
        out.print(f"{stored} was never set: the static value applies.")
        return
    table = Table("revision")
    table.add_column("at", no_wrap=True)
    table.add_column("by", no_wrap=True)
    table.add_column("action", no_wrap=True)
    for column in ("old", "new"):  # values folded, not cut: they are what a rollback restores
        table.add_column(column, overflow="fold")
    for r in revisions:
        record = r.record
        table.add_row(str(r.revision), record.at, escape(record.by),
                      record.action + (f" to {record.rollback_to}" if record.rollback_to else ""),
                      "(static)" if record.old_unset else escape(_show(record.old)),
                      "(static)" if record.unset else escape(_show(record.value)))
    out.print(table)


@config_app.command("get")
def config_get(key: KeyArgument, home: HomeOption = None, json: JsonOption = False) -> None:
    """A key's stored value and what the service's instances run with."""
    from chassis.live import PLATFORM

    scope, name, stored = _key(key)

    async def work(store: Store) -> dict[str, Any]:
        latest = await store.latest(stored)
        docs = await store.docs()
        if latest is None:  # a key no service has, rather than one never set
            await store.known(scope, name, docs)
        running = {instance: state.get("running", {}).get(name)
                   for service, doc in docs.items() if scope in (PLATFORM, service)
                   for instance, state in doc.instances.items()
                   if name in state.get("running", {})}
        static = {service: doc.static.get(name) for service, doc in docs.items()
                  if scope in (PLATFORM, service) and name in doc.static}
        # a service's key not set: the platform-wide one applies where it is stored
        doc = docs.get(scope)
        wide = (await store.latest(f"{PLATFORM}.{name}")
                if doc is not None and scope != PLATFORM and name in doc.platform_fields
                else None)
        return {"key": stored, "set": latest is not None and not latest.record.unset,
                "platform": None if wide is None or wide.record.unset else wide.record.value,
                "platform_set": wide is not None and not wide.record.unset,
                "value": None if latest is None else latest.record.value,
                "revision": None if latest is None else latest.revision,
                "by": None if latest is None else latest.record.by,
                "at": None if latest is None else latest.record.at,
                "static": static, "running": running}

    found = _run(home, work)
    if json:
        _json(found)
        return
    if found["set"]:
        out.print(f"{stored} = {escape(_show(found['value']))}  (revision {found['revision']}, "
                  f"by {escape(found['by'])} at {found['at']})")
    elif found["platform_set"]:
        out.print(f"{stored} is not set: {PLATFORM}.{name} applies "
                  f"(= {escape(_show(found['platform']))})")
    else:
        out.print(f"{stored} is not set: the static value applies")
    for instance, value in sorted(found["running"].items()):
        out.print(f"  {instance} runs with {escape(_show(value))}")


@config_app.command("list")
def config_list(service: Annotated[str | None, typer.Argument(
                    help="one service's settings [default: every service's]",
                    show_default=False)] = None,
                home: HomeOption = None, json: JsonOption = False) -> None:
    """Every live setting with its running and static value and where it comes from
    (service: its own key, platform: the platform-wide key, static: file/env or default)."""
    rows = _run(home, lambda store: store.settings(service))
    if json:
        _json([{"service": r.service, "setting": r.name, "running": r.running,
                "static": r.static, "source": r.source, "instances": r.instances,
                "description": r.description} for r in rows])
        return
    # the service's and the setting's names whole (`souk config set` takes them), values folded
    table = Table()
    table.add_column("service", no_wrap=True,
                     min_width=max((len(r.service) for r in rows), default=7))
    table.add_column("setting", no_wrap=True, min_width=max((len(r.name) for r in rows), default=7))
    for column in ("running", "static"):
        table.add_column(column, overflow="fold")
    table.add_column("source", no_wrap=True)
    for r in rows:
        table.add_row(r.service, r.name, escape(_show(r.running)), escape(_show(r.static)),
                      r.source)
    out.print(table)

