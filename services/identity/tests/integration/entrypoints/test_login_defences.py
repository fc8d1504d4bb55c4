"""Brute force and enumeration over HTTP: throttling per account and per client address, one
answer for both kinds of failure. (That both kinds cost one argon2 verify with today's parameters,
so they take the same time, is shown by the unit tests of sessions and of the hasher: timing
assertions have no place in a suite run on shared machines.)"""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from chassis.testing.service import Reply

from ..conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PROBLEM,
    SERVICE_SECRETS,
    RunningIdentity,
    Start,
)

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "ada@example.com", "analytical engine 1843"


async def test_an_account_is_locked_after_n_failures_with_retry_after(start_identity: Start) -> None:
    identity = await start_identity(login_max_failures=3, login_lockout_seconds=60)
    await identity.sign_up(EMAIL, PASSWORD)
    for _ in range(3):
        assert (await identity.log_in(EMAIL, "a wrong guess")).status == 401

    locked = await identity.log_in(EMAIL, PASSWORD)  # even the right password waits
    assert locked.status == 429
    assert locked.headers["Content-Type"] == PROBLEM
    assert locked.body["type"].endswith("identity/too-many-attempts")
    assert 1 <= int(locked.headers["Retry-After"]) <= 60

    other = await identity.sign_up("bob@example.com", "bob's own passphrase")
    assert other.status == 201
    assert (await identity.log_in("bob@example.com", "bob's own passphrase")).status == 200


async def test_a_client_is_locked_after_n_failures_over_many_accounts(start_identity: Start) -> None:
    identity = await start_identity(login_max_failures=100, login_max_failures_per_client=4)
    await identity.sign_up(EMAIL, PASSWORD)
    for n in range(4):
        assert (await identity.log_in(f"user{n}@example.com", "a wrong guess")).status == 401
    locked = await identity.log_in(EMAIL, PASSWORD)
    assert locked.status == 429 and int(locked.headers["Retry-After"]) >= 1


async def test_the_lockout_is_audited(start_identity: Start) -> None:
    identity = await start_identity(login_max_failures=2)
    for _ in range(2):
        await identity.log_in(EMAIL, "a wrong guess")
    admin = await identity.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    events = (await identity.send("GET", "/v1/audit", token=admin)).body["items"]
    lockouts = [e for e in events if e["event"] == "lockout"]
    assert lockouts and lockouts[0]["email"] == EMAIL
    assert lockouts[0]["detail"] == {"scope": "account", "seconds": 60}


async def test_unknown_user_and_wrong_password_get_identical_answers(
        identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    bodies: dict[str, set[bytes]] = {"unknown": set(), "wrong": set()}
    # 5 failures reach the per-account limit of 5 but do not pass it
    for n in range(5):
        for kind, email in (("unknown", "nobody@example.com"), ("wrong", EMAIL)):
            reply = await identity.log_in(email, f"wrong guess {n}")
            assert (reply.status, reply.headers["Content-Type"]) == (401, PROBLEM)
            bodies[kind].add(reply.raw)
    assert bodies["unknown"] == bodies["wrong"] and len(bodies["wrong"]) == 1
    assert b"email or password is incorrect" in next(iter(bodies["wrong"]))


async def test_a_forwarded_address_counts_only_with_the_gateways_proof(
        start_identity: Start) -> None:
    """Issue 10, item 5: a local client varying X-Forwarded-For neither dodges the per-address
    throttle nor writes the audit log's client field; the gateway, proving itself with its
    service token in X-Souk-Edge-Token, names the client."""
    identity = await start_identity(login_max_failures=100, login_max_failures_per_client=2)
    await identity.sign_up(EMAIL, PASSWORD)
    for n in range(2):  # two failures, each from a made-up address
        wrong = await identity.send("POST", "/v1/login", {"email": EMAIL, "password": "guess"},
                                    headers={"X-Forwarded-For": f"203.0.113.{n}"})
        assert wrong.status == 401
    right = {"email": EMAIL, "password": PASSWORD}
    dodge = {"X-Forwarded-For": "203.0.113.99"}
    assert (await identity.send("POST", "/v1/login", right, headers=dodge)).status == 429

    def service_token(name: str) -> Awaitable[Reply]:
        return identity.send("POST", "/v1/service-tokens",
                             {"service": name, "secret": SERVICE_SECRETS[name]})

    gateway = (await service_token("gateway")).body["access_token"]
    orders = (await service_token("orders")).body["access_token"]
    # another service's token is no proof: still the locked-out peer
    not_gateway = {"X-Souk-Edge-Token": orders, "X-Forwarded-For": "203.0.113.99"}
    assert (await identity.send("POST", "/v1/login", right, headers=not_gateway)).status == 429
    # the gateway's: the right-most entry (the peer it saw) is the client, not locked out
    via_gateway = {"X-Souk-Edge-Token": gateway, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert (await identity.send("POST", "/v1/login", right, headers=via_gateway)).status == 200
    admin = await identity.send("POST", "/v1/login",
                                {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                                headers=via_gateway)
    events = (await identity.send("GET", "/v1/audit",
                                  token=admin.body["access_token"])).body["items"]
    assert {e["client"] for e in events if e["event"] == "login_failed"} == {"127.0.0.1"}
    assert {e["client"] for e in events if e["event"] == "login_succeeded"} == {"203.0.113.7"}
