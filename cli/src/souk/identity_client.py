"""The CLI's few calls to identity, straight to an instance (never through the gateway, so they
work whatever the gateway's routes and limits): sign up the demo customer, rotate the keys."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from souk.control import ControlError
from souk.credentials import DemoUser
from souk.state import State
from souk.topology import IDENTITY

__all__ = ["identity_url", "log_in", "no_identity", "rotate_keys", "sign_up"]

TIMEOUT = 10.0


def identity_url(state: State) -> str | None:
    """The URL of a ready identity instance, or None when the platform runs none."""
    ready = [proc for proc in state.of_service(IDENTITY) if proc.ready]
    return ready[0].url if ready else None


_NOT_READY = {"starting": "is starting", "running": "runs but is not ready",
              "backoff": "exited and is about to be restarted", "stopping": "is stopping",
              "stopped": "is stopped"}


def no_identity(state: State) -> str:
    """Why :func:`identity_url` found none, and what to do about it."""
    procs = state.of_service(IDENTITY)
    if not procs:
        return "no identity instance runs: the topology has none"
    why = []
    for proc in procs:
        if (kept := proc.kept_out()) is not None:
            why.append(f"{proc.instance} {kept[0]} ({kept[1]})")
        else:
            state_ = _NOT_READY.get(proc.status, f"is {proc.status} and not ready")
            why.append(f"{proc.instance} {state_} (souk status; try again in a few seconds)")
    return "no ready identity instance: " + "; ".join(why)


def _post(url: str, body: dict[str, Any] | None = None,
          token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - our own http URL
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else None
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ControlError(f"identity at {url} did not answer: {exc}") from None


def _detail(body: Any) -> str:
    return str(body.get("detail") or body.get("title")) if isinstance(body, dict) else "no detail"


def sign_up(base_url: str, user: DemoUser) -> bool:
    """Create the account; True when created now, False when it existed already."""
    status, body = _post(f"{base_url}/v1/signup", {"email": user.email, "password": user.password})
    if status == 201:
        return True
    if status == 409:
        return False
    raise ControlError(f"signing up {user.email} failed ({status}: {_detail(body)})")


def log_in(base_url: str, user: DemoUser) -> str:
    """An access token for ``user``."""
    status, body = _post(f"{base_url}/v1/login", {"email": user.email, "password": user.password})
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise ControlError(f"logging in as {user.email} failed ({status}: {_detail(body)})")
    return str(body["access_token"])


def rotate_keys(base_url: str, admin: DemoUser) -> str:
    """Rotate identity's signing key as ``admin``; the new key id."""
    status, body = _post(f"{base_url}/v1/keys/rotate", token=log_in(base_url, admin))
    if status != 200 or not isinstance(body, dict) or "kid" not in body:
        raise ControlError(f"key rotation failed ({status}: {_detail(body)})")
    return str(body["kid"])
