"""Static settings of the web front end, read from ``WEB_*`` environment variables."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec
from msgspec import Meta

from chassis import StatefulServiceSettings

__all__ = ["WebSettings"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "web"
    session_hours: Annotated[float, Meta(gt=0, le=24 * 90, description=(
        "how long a signed-in session lasts without use"))] = 24 * 7
    anonymous_session_minutes: Annotated[float, Meta(gt=0, le=24 * 60, description=(
        "how long a visitor's session (a form's CSRF token, nothing else) lasts"))] = 120
    cookie_secure: Annotated[bool, Meta(description=(
        "mark the session cookie Secure (set it when the public edge speaks HTTPS)"))] = False
    chaos_experiments: Annotated[str, Meta(description=(
        "folder of the Chaos Toolkit experiments the console lists (souk up sets it to the one "
        "`souk chaos` runs from); empty: none"))] = ""
    console_allow: Annotated[tuple[str, ...], Meta(description=(
        "comma-separated CIDRs from which the console may be opened (besides the admin role)"))] = (
        "127.0.0.1/32", "::1/128")

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.console_allow, str):  # an operator's "a, b"
            msgspec.structs.force_setattr(self, "console_allow", tuple(
                part.strip() for part in self.console_allow.split(",") if part.strip()))
        for cidr in self.console_allow:
            try:
                ipaddress.ip_network(cidr)
            except ValueError as exc:
                raise ValueError(f"console_allow: {exc}") from None

    def console_networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(cidr) for cidr in self.console_allow)
