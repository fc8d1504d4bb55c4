"""Every answer of identity matches its OpenAPI document (property-based, with schemathesis)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from chassis.testing import TestIssuer
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread
from identity.app import create_app

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, identity_settings

pytestmark = pytest.mark.integration


def test_every_answer_is_documented(tmp_path: Path, credentials: Path,
                                    issuer: TestIssuer) -> None:
    app = create_app(identity_settings(f"sqlite:///{tmp_path / 'identity.db'}", credentials))
    with serve_in_thread(app, issuer) as url:
        # identity trusts only its own tokens: the run gets the bootstrap admin's
        login = requests.post(f"{url}/v1/login", json={"email": ADMIN_EMAIL,
                                                       "password": ADMIN_PASSWORD}, timeout=30)
        assert login.status_code == 200, login.text
        failures = check_conformance(url, token=login.json()["access_token"])
    assert failures == []
