"""Per-service credentials: a JSON file ``{"<service>": "<sha256 hex of its secret>"}``."""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["load_service_credentials"]

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def load_service_credentials(path: str) -> dict[str, str]:
    """The file's map, or {} when no file is configured (then no service token is issued).
    A malformed file stops the start: silently accepting nobody would look like an outage."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _SHA256_HEX.match(v)
            for k, v in data.items()):
        raise ValueError(f"{path}: expected {{\"<service>\": \"<sha256 hex>\"}}")
    return dict(data)
