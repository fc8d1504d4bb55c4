"""What the web entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from chassis.http import ServiceClient
from web.service.sessions import Sessions

__all__ = ["WebContext"]


@dataclass(frozen=True, slots=True)
class WebContext:
    sessions: Sessions
    client: ServiceClient  # every other service, called on behalf of the signed-in user
    cookie_secure: bool
    console_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    chaos_experiments: str = ""  # the folder the console lists experiments from
