"""The live configuration as the console shows and changes it: every service's live settings
with the values its instances run, and a new value checked against the service's published
schema before it is written with its audit (chassis.live, as `souk config list` and `set`)."""

from __future__ import annotations

from typing import Any

from chassis.live.admin import Store, only_running, parse_value
from chassis.live.overview import Setting, settings_rows
from chassis.live.store import Revision, open_bucket, open_services
from web.adapters.console import BROKER_ERRORS, REGISTRY, Unavailable

__all__ = ["live_settings", "set_setting"]


async def _store(js: Any) -> Store:
    return Store(await open_bucket(js), await open_services(js))


async def live_settings(js: Any, registered: frozenset[str] | None = None) -> list[Setting]:
    """Every live setting with the values its instances run. ``registered``: the instances the
    registry lists (None: not known), whose running values are the ones shown; the registry's
    own, which it does not list, are shown too."""
    try:
        docs = await (await _store(js)).docs()
    except BROKER_ERRORS as exc:
        raise Unavailable(f"the configuration store did not answer: {exc}") from None
    if registered is not None:
        registry = docs.get(REGISTRY)
        docs = only_running(docs, registered | frozenset(registry.instances if registry else ()))
    return settings_rows(docs)


async def set_setting(js: Any, key: str, raw: str, by: str) -> Revision:
    """Write ``key`` = ``raw`` (JSON when it parses, else text) as ``by``; raises
    :class:`~chassis.live.admin.Refused` with the reason when the setting's type refuses it,
    :class:`~chassis.live.admin.ConfigError` when the key changed meanwhile."""
    try:
        return await (await _store(js)).set(key, parse_value(raw), by=by, raw=raw)
    except BROKER_ERRORS as exc:
        raise Unavailable(f"the configuration store did not answer: {exc}") from None
