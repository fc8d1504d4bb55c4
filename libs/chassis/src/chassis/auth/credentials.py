"""Per-service credentials, as the services that check them hold them: a JSON file
``{"<service>": "<sha256 hex of its secret>"}`` the launcher writes (``souk up``). Identity trades
a valid secret for a service token; the registry admits only a registration (heartbeat,
deregistration) made with the secret of the service it names. Neither holds the secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ServiceCredentials"]

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# compared against when the service is unknown, so that path does the same work
_NO_SUCH_SERVICE = hashlib.sha256(b"no such service").hexdigest()


class ServiceCredentials:
    """The SHA-256 of each service's secret; :meth:`check` compares in constant time."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self._hashes = dict(hashes)

    @classmethod
    def load(cls, path: str) -> ServiceCredentials:
        """The file's map, or none when no file is configured (then every secret is refused).
        A malformed file stops the start: silently accepting nobody would look like an outage."""
        if not path:
            return cls({})
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and _SHA256_HEX.match(v)
                for k, v in data.items()):
            raise ValueError(f"{path}: expected {{\"<service>\": \"<sha256 hex>\"}}")
        return cls(data)

    @classmethod
    def of_secrets(cls, secrets: Mapping[str, str]) -> ServiceCredentials:
        """From the secrets themselves (the launcher and tests)."""
        return cls({name: hashlib.sha256(secret.encode()).hexdigest()
                    for name, secret in secrets.items()})

    def check(self, service: str, secret: str) -> bool:
        """Whether ``secret`` is ``service``'s credential."""
        expected = self._hashes.get(service)
        presented = hashlib.sha256(secret.encode()).hexdigest()
        matches = hmac.compare_digest(presented, expected or _NO_SUCH_SERVICE)
        return expected is not None and matches

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, service: object) -> bool:
        return service in self._hashes
