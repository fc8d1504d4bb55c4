"""Brute force and enumeration over HTTP: throttling per account and per client address, one
answer for both kinds of failure. (That both kinds cost one argon2 verify with today's parameters,
so they take the same time, is shown by the unit tests of sessions and of the hasher: timing
assertions have no place in a suite run on shared machines.)"""

from __future__ import annotations

import pytest

from ..conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PROBLEM, RunningIdentity, Start

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


async def test_the_client_address_is_the_one_the_gateway_forwarded(start_identity: Start) -> None:
    identity = await start_identity(login_max_failures=100, login_max_failures_per_client=2)
    await identity.sign_up(EMAIL, PASSWORD)
    far = {"X-Forwarded-For": "203.0.113.7"}  # sent by a local peer, as the gateway does
    for _ in range(2):
        wrong = await identity.send("POST", "/v1/login", {"email": EMAIL, "password": "guess"},
                                    headers=far)
        assert wrong.status == 401
    right = {"email": EMAIL, "password": PASSWORD}
    assert (await identity.send("POST", "/v1/login", right, headers=far)).status == 429
    assert (await identity.log_in(EMAIL, PASSWORD)).status == 200  # another address: not locked
    admin = await identity.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    events = (await identity.send("GET", "/v1/audit", token=admin)).body["items"]
    assert {e["client"] for e in events if e["event"] == "login_failed"} == {"203.0.113.7"}
