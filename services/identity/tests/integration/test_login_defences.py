"""Brute force and enumeration: throttling per account and per client, one answer for both
kinds of failure, in similar time."""

from __future__ import annotations

import statistics
import time

import pytest

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Reply, RunningIdentity, Start

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "ada@example.com", "analytical engine 1843"


def without_request_ids(reply: Reply) -> bytes:
    document = reply.json()
    document.pop("request_id", None)
    return repr(sorted(document.items())).encode()


async def test_an_account_is_locked_after_n_failures_with_retry_after(start_identity: Start) -> None:
    identity = await start_identity(login_max_failures=3, login_lockout_seconds=60)
    await identity.sign_up(EMAIL, PASSWORD)
    for _ in range(3):
        assert (await identity.log_in(EMAIL, "a wrong guess")).status == 401

    locked = await identity.log_in(EMAIL, PASSWORD)  # even the right password waits
    assert locked.status == 429
    assert locked.headers["Content-Type"] == "application/problem+json"
    assert locked.json()["type"].endswith("identity/too-many-attempts")
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
    events = (await identity.call("GET", "/v1/audit", token=admin)).json()["items"]
    lockouts = [e for e in events if e["event"] == "lockout"]
    assert lockouts and lockouts[0]["email"] == EMAIL
    assert lockouts[0]["detail"] == {"scope": "account", "seconds": 60}


async def test_unknown_user_and_wrong_password_get_identical_answers_in_similar_time(
        identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    unknown_times: list[float] = []
    wrong_times: list[float] = []
    unknown_bodies: set[bytes] = set()
    wrong_bodies: set[bytes] = set()
    # interleaved, so any drift of the machine affects both alike; 5 failures reach the
    # per-account limit of 5 but do not pass it
    for n in range(5):
        for email, times, bodies in (("nobody@example.com", unknown_times, unknown_bodies),
                                     (EMAIL, wrong_times, wrong_bodies)):
            began = time.perf_counter()
            reply = await identity.log_in(email, f"wrong guess {n}")
            times.append(time.perf_counter() - began)
            assert reply.status == 401
            bodies.add(without_request_ids(reply))
    assert unknown_bodies == wrong_bodies and len(wrong_bodies) == 1
    assert b"email or password is incorrect" in next(iter(wrong_bodies))
    ratio = statistics.median(unknown_times) / statistics.median(wrong_times)
    assert 1 / 3 < ratio < 3, (unknown_times, wrong_times)
