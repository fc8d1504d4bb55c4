"""The console opens for a signed-in admin from an allowed address; anyone else signed in is
refused, an anonymous visitor is sent to sign in."""

from __future__ import annotations

import ipaddress

import pytest

from web.domain.console_access import Access, console_access

pytestmark = pytest.mark.unit

LOCAL = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"),
         ipaddress.ip_network("10.1.0.0/16"))


@pytest.mark.parametrize(("signed_in", "roles", "address", "access"), [
    (True, ("admin",), "127.0.0.1", Access.OPEN),
    (True, ("customer", "admin"), "10.1.2.3", Access.OPEN),
    (True, ("admin",), "::1", Access.OPEN),
    (True, ("admin",), "::ffff:127.0.0.1", Access.OPEN),  # IPv4 seen through an IPv6 socket
    (True, ("admin",), "192.168.1.5", Access.REFUSED),
    (True, ("admin",), "unknown", Access.REFUSED),
    (True, ("customer",), "127.0.0.1", Access.REFUSED),
    (True, (), "127.0.0.1", Access.REFUSED),
    (False, (), "127.0.0.1", Access.SIGN_IN),
    (False, ("admin",), "192.168.1.5", Access.SIGN_IN),
])
def test_console_access(signed_in: bool, roles: tuple[str, ...], address: str,
                        access: Access) -> None:
    assert console_access(signed_in=signed_in, roles=roles, address=address,
                          networks=LOCAL) is access
