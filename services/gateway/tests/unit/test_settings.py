"""Gateway settings: defaults, the GATEWAY_ prefix, the packaged route table."""

from __future__ import annotations

import pytest

from gateway.settings import GatewaySettings, packaged_routes_file

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    settings = GatewaySettings()
    assert settings.service_name == "gateway"
    assert settings.port == 8080
    assert settings.routes_file == packaged_routes_file()
    assert settings.routes_file.is_file()
    assert settings.upstream_timeout == 10.0
    assert settings.connect_timeout == 1.0
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.eject_seconds == 5.0
    assert settings.advertise_url == "http://127.0.0.1:8080"


def test_reads_the_gateway_prefix_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9090")
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "10")
    monkeypatch.setenv("GATEWAY_REGISTRY_URL", "http://127.0.0.1:7000")
    monkeypatch.setenv("CATALOG_PORT", "1")
    settings = GatewaySettings()
    assert settings.port == 9090
    assert settings.max_body_bytes == 10
    assert settings.registry_url == "http://127.0.0.1:7000"
    assert settings.instance_id.startswith("gateway-")


def test_is_frozen() -> None:
    settings = GatewaySettings()
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]
