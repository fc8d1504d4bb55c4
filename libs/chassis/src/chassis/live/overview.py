"""What the live configuration looks like across the platform: each service's published live
settings (the ``SOUK_CONFIG_SERVICES`` bucket: schema, static values, each instance's running
values) turned into one row per setting. ``souk config list`` and the web console show these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from chassis.live.store import read_entries

__all__ = ["ServiceDoc", "Setting", "service_docs", "settings_rows"]


@dataclass
class ServiceDoc:
    """What a service published about its live settings."""

    service: str
    schema: dict[str, Any]
    static: dict[str, Any]
    platform_fields: list[str]
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what its fault rules may name: {"routes": ["GET /v1/stock/{sku}", ...], "message_types":
    # [wire and class names]}; empty from a service that published none
    fault_targets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, Any]:
        ref = self.schema.get("$ref", "").rpartition("/")[2]
        found: dict[str, Any] = self.schema.get("$defs", {}).get(ref, {}).get("properties", {})
        return found


@dataclass
class Setting:
    """One live setting of one service, as its instances run it."""

    service: str
    name: str
    running: Any
    static: Any
    source: str  # service | platform | static | refused… | varies
    description: str = ""
    instances: int = 0


async def service_docs(services: Any) -> dict[str, ServiceDoc]:
    """Every service's published live settings (from the ``SOUK_CONFIG_SERVICES`` bucket
    ``services``), with its instances' running values."""
    raw = {entry.key: msgspec.json.decode(entry.value)
           for entry in await read_entries(services)
           if entry.value and entry.operation not in ("DEL", "PURGE")}
    docs = {key: ServiceDoc(key, value["schema"], value.get("static", {}),
                            value.get("platform_fields", []),
                            fault_targets=value.get("fault_targets", {}))
            for key, value in raw.items() if "." not in key}
    for key, value in raw.items():
        service, dot, instance = key.partition(".")
        if dot and service in docs:
            docs[service].instances[value.get("instance", instance)] = value
    return docs


def settings_rows(docs: dict[str, ServiceDoc], service: str | None = None) -> list[Setting]:
    """Every live setting of ``service`` (or of every service) with its running value."""
    rows = []
    for doc in sorted(docs.values(), key=lambda d: d.service):
        if service is not None and doc.service != service:
            continue
        for name, spec in sorted(doc.properties.items()):
            running = [inst.get("running", {}).get(name) for inst in doc.instances.values()]
            sources = {inst.get("sources", {}).get(name, "static")
                       for inst in doc.instances.values()}
            refused = [key for inst in doc.instances.values()
                       for key in inst.get("refused", {}) if key.endswith("." + name)]
            value = running[0] if running else doc.static.get(name)
            source = (sources.pop() if len(sources) == 1 else "varies" if sources
                      else "static")
            if running and any(r != running[0] for r in running):
                source = "varies"
            if refused:
                source += f" (refused: {', '.join(sorted(set(refused)))})"
            rows.append(Setting(doc.service, name, value, doc.static.get(name), source,
                                spec.get("description", ""), len(running)))
    return rows
