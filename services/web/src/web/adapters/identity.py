"""Identity through the chassis's service client: sign-up, log-in (then ``/me`` for the roles),
refresh-token rotation and log-out, with identity's refusals turned into :class:`IdentityRefused`."""

from __future__ import annotations

from typing import Any

from chassis import clock
from chassis.http import ServiceClient, UpstreamError
from web.domain.sessions import Tokens
from web.service.ports import Identity, IdentityRefused, SignedIn

__all__ = ["IDENTITY", "IdentityClient"]

IDENTITY = "identity"


def _tokens(body: Any) -> Tokens:
    return Tokens(access_token=str(body["access_token"]),
                  refresh_token=str(body["refresh_token"]),
                  access_expires_at=clock.time() + float(body["expires_in"]))


def _refused(error: UpstreamError) -> IdentityRefused:
    problem = error.problem
    return IdentityRefused(error.status, str(problem.get("type", "")).rsplit("/", 1)[-1],
                           str(problem.get("detail") or problem.get("title") or "refused"))


class IdentityClient(Identity):
    __slots__ = ("_client",)

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def sign_up(self, email: str, password: str, client: str | None = None) -> None:
        try:
            await self._client.post(IDENTITY, "/v1/signup", for_client=client,
                                     json={"email": email, "password": password})
        except UpstreamError as exc:
            if exc.status >= 500:
                raise
            raise _refused(exc) from exc

    async def log_in(self, email: str, password: str, client: str | None = None) -> SignedIn:
        try:
            answer = await self._client.post(IDENTITY, "/v1/login", for_client=client,
                                              json={"email": email, "password": password})
            tokens = _tokens(answer.json())
            me = (await self._client.get(IDENTITY, "/v1/me",
                                         on_behalf_of=tokens.access_token)).json()
        except UpstreamError as exc:
            if exc.status >= 500:
                raise
            raise _refused(exc) from exc
        return SignedIn(str(me["id"]), str(me["email"]), tuple(me["roles"]), tokens)

    async def refresh(self, refresh_token: str) -> Tokens:
        try:
            answer = await self._client.post(IDENTITY, "/v1/refresh",
                                              json={"refresh_token": refresh_token})
        except UpstreamError as exc:
            if exc.status >= 500:
                raise
            raise _refused(exc) from exc
        return _tokens(answer.json())

    async def log_out(self, refresh_token: str) -> None:
        try:
            await self._client.post(IDENTITY, "/v1/logout",
                                    json={"refresh_token": refresh_token})
        except UpstreamError as exc:
            if exc.status >= 500:
                raise
            raise _refused(exc) from exc
