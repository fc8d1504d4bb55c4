"""What the web front end's use cases need from the outside: its session store and identity."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from web.domain.sessions import Session, Tokens

__all__ = ["Identity", "IdentityRefused", "SessionStore", "SessionUnitOfWork", "SignedIn"]


class SessionStore(Protocol):
    async def get(self, session_id: str, now: float) -> Session | None: ...
    async def put(self, session: Session) -> None: ...
    async def delete(self, session_id: str) -> None: ...
    async def delete_expired(self, now: float, limit: int) -> int: ...


SessionUnitOfWork = Callable[..., AbstractAsyncContextManager[SessionStore]]


class IdentityRefused(Exception):
    """Identity said no (bad credentials, a taken e-mail, a weak password, a spent refresh
    token): ``detail`` is its words, fit to show a shopper; ``status`` its HTTP status."""

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who identity let in, and their tokens."""

    user_id: str
    email: str
    roles: tuple[str, ...]
    tokens: Tokens


class Identity(Protocol):
    # ``client``: the visitor's address, for identity's throttles (None: this process's own)
    async def sign_up(self, email: str, password: str, client: str | None = None) -> None: ...
    async def log_in(self, email: str, password: str, client: str | None = None
                     ) -> SignedIn: ...
    async def refresh(self, refresh_token: str) -> Tokens: ...
    async def log_out(self, refresh_token: str) -> None: ...
