"""Souk chassis: the cross-cutting runtime every service is built on. No business rules here.

The package's own names are imported when first used, so that importing one of its modules (the
launcher and the CLI read ``chassis.db`` or ``chassis.messaging``; a migration child imports only
``chassis.db.migrate``) does not load the whole web, discovery and messaging runtime first
(~0.5 s of CPU here, paid by every ``souk`` command)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chassis.app import create_service_app
    from chassis.problems import Problem
    from chassis.settings import ServiceSettings, StatefulServiceSettings

__all__ = ["Problem", "ServiceSettings", "StatefulServiceSettings", "create_service_app"]

_HOME = {"create_service_app": "chassis.app", "Problem": "chassis.problems",
         "ServiceSettings": "chassis.settings", "StatefulServiceSettings": "chassis.settings"}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'chassis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups find it without this function
    return value
