"""Identity over real HTTP, on SQLite and PostgreSQL: accounts, sessions, tokens and keys."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest

from chassis.pagination import CursorCodec
from chassis.testing import connected_database

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
CLAIMS = {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "roles"}


async def verify(identity: RunningIdentity, token: str, audience: str = "souk") -> dict[str, Any]:
    """Check a token against the published JWKS the way any other verifier would."""
    keys = (await identity.send("GET", "/v1/jwks")).body["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"],
                                        audience=audience, issuer="souk-identity")
    return claims


async def stored_hash(identity: RunningIdentity, email: str) -> str:
    async with connected_database(identity.database_url) as db, db.transaction(readonly=True) as tx:
        value = await tx.fetch_value("SELECT password_hash FROM users WHERE email = :e",
                                     {"e": email})
    return str(value)


async def test_sign_up_log_in_and_read_my_profile(identity: RunningIdentity) -> None:
    signed_up = await identity.sign_up("  Ada@Example.COM", PASSWORD)
    assert signed_up.status == 201, signed_up.body
    me = signed_up.body
    assert set(me) == {"id", "email", "roles"}
    assert (me["email"], me["roles"]) == (EMAIL, ["customer"])

    login = await identity.log_in("ADA@example.com", PASSWORD)
    assert login.status == 200
    tokens = login.body
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 900)
    claims = await verify(identity, tokens["access_token"])
    assert set(claims) == CLAIMS
    assert (claims["sub"], claims["roles"], claims["exp"] - claims["iat"]) == (me["id"], ["customer"], 900)
    assert claims["nbf"] == claims["iat"]

    profile = await identity.send("GET", "/v1/me", token=tokens["access_token"])
    assert (profile.status, profile.body) == (200, me)
    anonymous = await identity.send("GET", "/v1/me")
    assert anonymous.status == 401 and anonymous.headers["Content-Type"] == PROBLEM


async def test_stored_hashes_are_argon2id_with_owasp_parameters(identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    assert (await stored_hash(identity, EMAIL)).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_a_hash_with_old_parameters_is_upgraded_at_log_in(start_identity: Start) -> None:
    old = await start_identity(password_time_cost=1)
    await old.sign_up(EMAIL, PASSWORD)
    assert (await stored_hash(old, EMAIL)).startswith("$argon2id$v=19$m=19456,t=1,p=1$")
    current = await start_identity()
    assert (await current.log_in(EMAIL, PASSWORD)).status == 200
    assert (await stored_hash(current, EMAIL)).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_a_role_in_the_sign_up_body_is_ignored(identity: RunningIdentity) -> None:
    reply = await identity.sign_up(EMAIL, PASSWORD, role="admin", roles=["admin"], id="chosen")
    assert reply.status == 201
    assert reply.body["roles"] == ["customer"] and reply.body["id"] != "chosen"
    claims = await verify(identity, await identity.token(EMAIL, PASSWORD))
    assert claims["roles"] == ["customer"]


@pytest.mark.parametrize(("email", "password", "status", "slug"), [
    ("ada@example.com", "short", 422, "identity/weak-password"),
    ("ada@example.com", "x" * 129, 422, "identity/weak-password"),
    ("ada@example.com", "iloveyou", 422, "identity/weak-password"),
    ("ada@example.com", "PASSWORD123", 422, "identity/weak-password"),
    ("not-an-email", PASSWORD, 422, "identity/invalid-email"),
    ("ada@localhost", PASSWORD, 422, "identity/invalid-email"),
])
async def test_sign_up_refuses_bad_emails_and_weak_passwords(
        identity: RunningIdentity, email: str, password: str, status: int, slug: str) -> None:
    reply = await identity.sign_up(email, password)
    assert (reply.status, reply.headers["Content-Type"]) == (status, PROBLEM)
    assert reply.body["type"].endswith(slug)


async def test_an_email_signs_up_once_whatever_its_case(identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    reply = await identity.sign_up(EMAIL.upper(), "another good passphrase")
    assert reply.status == 409 and reply.body["type"].endswith("identity/email-taken")


async def test_refresh_rotates_and_reusing_an_old_token_revokes_the_family(
        identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    first = (await identity.log_in(EMAIL, PASSWORD)).body["refresh_token"]
    rotated = await identity.send("POST", "/v1/refresh", {"refresh_token": first})
    assert rotated.status == 200
    second = rotated.body["refresh_token"]
    assert second != first
    assert (await verify(identity, rotated.body["access_token"]))["roles"] == ["customer"]

    replay = await identity.send("POST", "/v1/refresh", {"refresh_token": first})
    assert replay.status == 401
    assert replay.body["type"].endswith("identity/invalid-refresh-token")
    newest = await identity.send("POST", "/v1/refresh", {"refresh_token": second})
    assert newest.status == 401  # the family is revoked: the legitimate holder logs in again


async def test_log_out_revokes_the_refresh_token(identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    refresh = (await identity.log_in(EMAIL, PASSWORD)).body["refresh_token"]
    out = await identity.send("POST", "/v1/logout", {"refresh_token": refresh})
    assert (out.status, out.raw) == (204, b"")
    assert (await identity.send("POST", "/v1/refresh", {"refresh_token": refresh})).status == 401
    assert (await identity.send("POST", "/v1/logout", {"refresh_token": refresh})).status == 204


async def test_no_successful_answer_carries_a_password_or_a_hash(identity: RunningIdentity) -> None:
    replies = [await identity.sign_up(EMAIL, PASSWORD, password_hash="x")]
    login = await identity.log_in(EMAIL, PASSWORD)
    replies.append(login)
    token, refresh = login.body["access_token"], login.body["refresh_token"]
    replies.append(await identity.send("GET", "/v1/me", token=token))
    replies.append(await identity.send("POST", "/v1/refresh", {"refresh_token": refresh}))
    admin = await identity.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    replies.append(await identity.send("GET", "/v1/audit", token=admin))
    replies.append(await identity.send("GET", "/v1/jwks"))
    for reply in replies:
        assert reply.status < 300, reply.body
        text = reply.raw.decode().lower()
        assert "argon2" not in text and "password" not in text and PASSWORD not in text


async def test_my_profile_is_mine_whatever_else_the_request_says(identity: RunningIdentity) -> None:
    ada = (await identity.sign_up(EMAIL, PASSWORD)).body
    await identity.sign_up("bob@example.com", "bob's own passphrase")
    token = await identity.token("bob@example.com", "bob's own passphrase")
    # parameters /v1/me does not take are refused (the chassis), never read
    reply = await identity.send("GET", f"/v1/me?id={ada['id']}&email={EMAIL}", token=token)
    assert reply.status == 400 and EMAIL not in reply.raw.decode() and ada["id"] not in reply.raw.decode()
    reply = await identity.send("GET", "/v1/me", token=token)
    assert reply.body["email"] == "bob@example.com" and EMAIL not in reply.raw.decode()


async def test_the_jwks_lists_the_active_key_and_may_be_cached_a_minute(
        identity: RunningIdentity) -> None:
    reply = await identity.send("GET", "/v1/jwks")
    assert reply.status == 200 and reply.headers["Cache-Control"] == "max-age=60"
    [key] = reply.body["keys"]
    assert set(key) == {"kty", "use", "alg", "kid", "n", "e"}
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key["kid"])


async def test_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
        identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    before = await identity.token(EMAIL, PASSWORD)
    old_kid = jwt.get_unverified_header(before)["kid"]
    admin = await identity.token(ADMIN_EMAIL, ADMIN_PASSWORD)

    rotated = await identity.send("POST", "/v1/keys/rotate", token=admin)
    assert rotated.status == 200, rotated.body
    new_kid = rotated.body["kid"]
    assert new_kid != old_kid

    kids = [k["kid"] for k in (await identity.send("GET", "/v1/jwks")).body["keys"]]
    assert kids == [new_kid, old_kid]
    after = await identity.token(EMAIL, PASSWORD)
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    for token in (before, after):
        assert (await identity.send("GET", "/v1/me", token=token)).status == 200
        await verify(identity, token)


async def test_identity_trusts_only_the_tokens_it_signed(identity: RunningIdentity) -> None:
    # the test issuer's token has the right issuer name and audience, and another key
    foreign = await identity.call("GET", "/v1/me", user="u1", roles=("admin",))
    assert foreign.status == 401 and foreign.headers["Content-Type"] == PROBLEM
    for forge in identity.issuer.forged_tokens().values():
        assert (await identity.send("GET", "/v1/audit", token=forge())).status == 401


async def test_only_an_admin_rotates_keys_or_reads_the_audit_log(identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    customer = await identity.token(EMAIL, PASSWORD)
    for method, path in (("POST", "/v1/keys/rotate"), ("GET", "/v1/audit")):
        assert (await identity.send(method, path, token=customer)).status == 403
        assert (await identity.send(method, path)).status == 401
        assert (await identity.send(method, path, token="not.a.token")).status == 401


async def test_the_audit_log_records_security_events(identity: RunningIdentity) -> None:
    await identity.sign_up(EMAIL, PASSWORD)
    await identity.log_in(EMAIL, "wrong guess number one")
    admin = await identity.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    await identity.send("POST", "/v1/keys/rotate", token=admin)
    reply = await identity.send("GET", "/v1/audit?limit=50", token=admin)
    assert reply.status == 200
    items = reply.body["items"]
    seen = [item["event"] for item in items]
    assert {"signup", "role_granted", "login_failed", "login_succeeded", "key_rotated"} <= set(seen)
    assert seen[0] == "key_rotated"  # newest first
    failed = next(item for item in items if item["event"] == "login_failed")
    assert (failed["email"], failed["client"]) == (EMAIL, "127.0.0.1")
    assert (await identity.send("GET", "/v1/audit?limit=0", token=admin)).status == 400


async def test_the_audit_log_pages_with_signed_cursors(identity: RunningIdentity) -> None:
    admin = await identity.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    for n in range(3):
        await identity.log_in(EMAIL, f"wrong guess {n}")
    everything = (await identity.send("GET", "/v1/audit?limit=500", token=admin)).body
    assert everything["next"] is None and len(everything["items"]) == 6
    seen: list[str] = []
    query = "/v1/audit?limit=2"
    for _ in range(10):
        page = (await identity.send("GET", query, token=admin)).body
        assert len(page["items"]) == 2  # 6 in pages of 2: the last one full says it is last
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        query = f"/v1/audit?limit=2&cursor={page['next']}"
    assert seen == [item["id"] for item in everything["items"]]
    whole = (await identity.send("GET", "/v1/audit?limit=6", token=admin)).body
    assert len(whole["items"]) == 6 and whole["next"] is None
    first = (await identity.send("GET", "/v1/audit?limit=2", token=admin)).body["next"]
    tampered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    bad = await identity.send("GET", f"/v1/audit?cursor={tampered}", token=admin)
    assert bad.status == 400 and bad.body["type"].endswith("/invalid-cursor")
    # the tag's key is the listing's name, no secret: a cursor made with it that holds no
    # time is refused as well (it was a 500)
    made_up = CursorCodec("identity.audit.v1").encode(["not-a-date", "e1"])
    bad = await identity.send("GET", f"/v1/audit?cursor={made_up}", token=admin)
    assert bad.status == 400 and bad.body["type"].endswith("/invalid-cursor")


async def test_a_service_trades_its_secret_for_a_service_token(identity: RunningIdentity) -> None:
    reply = await identity.send("POST", "/v1/service-tokens",
                                {"service": "orders", "secret": SERVICE_SECRETS["orders"]})
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 300)
    claims = await verify(identity, body["access_token"], audience="souk-internal")
    assert (claims["sub"], claims["svc"], claims["roles"]) == ("service:orders", "orders",
                                                               ["service"])
    assert claims["exp"] - claims["iat"] == 300
    # a service token is no user token
    assert (await identity.send("GET", "/v1/me", token=body["access_token"])).status == 401


async def test_a_wrong_secret_and_an_unknown_service_get_the_same_refusal(
        identity: RunningIdentity) -> None:
    wrong = await identity.send("POST", "/v1/service-tokens",
                                {"service": "orders", "secret": SERVICE_SECRETS["cart"]})
    unknown = await identity.send("POST", "/v1/service-tokens",
                                  {"service": "nosuch", "secret": SERVICE_SECRETS["orders"]})
    assert wrong.status == unknown.status == 401
    assert wrong.raw == unknown.raw
    assert wrong.body["type"].endswith("identity/invalid-service-credentials")


async def test_the_bootstrap_admin_exists_once_across_restarts(start_identity: Start) -> None:
    first = await start_identity()
    second = await start_identity()  # same database, as after a restart
    admin = await second.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    me = (await second.send("GET", "/v1/me", token=admin)).body
    assert me["roles"] == ["admin"]
    audit = (await first.send("GET", "/v1/audit?limit=500", token=admin)).body["items"]
    assert [item["event"] for item in audit].count("role_granted") == 1


@pytest.mark.parametrize("email", ["ada\x00@example.com", "ada@exam\x1fple.com", "\x7f"])
async def test_a_log_in_with_an_address_sign_up_refuses_fails_like_any_unknown_account(
        identity: RunningIdentity, email: str) -> None:
    """No account holds one. PostgreSQL cannot even compare a NUL (it was a 500 there); SQLite
    looked it up and stored it with the failed log-in. Now: 401 at once, on both engines."""
    await identity.sign_up(EMAIL, PASSWORD)
    refused = await identity.log_in(email, PASSWORD)
    assert (refused.status, refused.headers["Content-Type"]) == (401, PROBLEM), refused.body
    assert refused.body["type"].endswith("/invalid-credentials")
    async with connected_database(identity.database_url) as db, \
            db.transaction(readonly=True) as tx:
        assert await tx.fetch_value("SELECT count(*) FROM login_failures") == 0
    assert (await identity.log_in(EMAIL, PASSWORD)).status == 200
