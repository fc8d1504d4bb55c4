"""Who may open the operations console: a signed-in admin, from an address on the allow-list."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from enum import Enum

__all__ = ["Access", "console_access"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Access(Enum):
    OPEN = "open"
    SIGN_IN = "sign-in"  # nobody signed in: to the sign-in form, then back
    REFUSED = "refused"  # not an admin, or not from an allowed address: a 403 page


def _allowed(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # "unknown": no address, no console
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def console_access(*, signed_in: bool, roles: Iterable[str], address: str,
                   networks: Iterable[Network]) -> Access:
    """Both rules hold, or no console: the admin role and an address on the list."""
    if not signed_in:
        return Access.SIGN_IN
    if "admin" not in roles or not _allowed(address, networks):
        return Access.REFUSED
    return Access.OPEN
