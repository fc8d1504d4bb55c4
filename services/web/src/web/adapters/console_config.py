"""The live configuration as the console shows it: every service's live settings with the
values its instances run (chassis.live.overview, as `souk config list`)."""

from __future__ import annotations

from typing import Any

from chassis.live.overview import Setting, service_docs, settings_rows
from chassis.live.store import open_services
from web.adapters.console import BROKER_ERRORS, Unavailable

__all__ = ["live_settings"]


async def live_settings(js: Any) -> list[Setting]:
    try:
        return settings_rows(await service_docs(await open_services(js)))
    except BROKER_ERRORS as exc:
        raise Unavailable(f"the configuration store did not answer: {exc}") from None
