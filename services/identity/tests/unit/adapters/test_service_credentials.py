"""The service credentials file (adapters/service_credentials.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from identity.adapters.service_credentials import load_service_credentials

pytestmark = pytest.mark.unit


def test_reads_the_service_credentials_file(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"orders": digest}))
    assert load_service_credentials(str(path)) == {"orders": digest}
    assert load_service_credentials("") == {}
    path.write_text(json.dumps({"orders": "plain-secret"}))
    with pytest.raises(ValueError, match="sha256"):
        load_service_credentials(str(path))
