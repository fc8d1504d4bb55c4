"""Gateway settings: defaults, the GATEWAY_ prefix, the packaged route table."""

from __future__ import annotations

import pytest

from gateway.settings import GatewaySettings, packaged_routes_file

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    settings = GatewaySettings()
    assert settings.service_name == "gateway"
    assert settings.port == 8080
    assert settings.routes_path() == packaged_routes_file()
    assert settings.routes_path().is_file()
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
    settings = GatewaySettings.load()
    assert settings.port == 9090
    assert settings.max_body_bytes == 10
    assert settings.registry_url == "http://127.0.0.1:7000"
    assert settings.instance_id.startswith("gateway-")


def test_is_frozen() -> None:
    settings = GatewaySettings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_edge_defaults() -> None:
    settings = GatewaySettings()
    assert [str(n) for n in settings.admin_allow] == ["127.0.0.1/32", "::1/128"]
    assert settings.login_rate_limit == "10/minute"
    assert settings.redis_url == ""
    assert settings.jwt_audience == "souk"
    assert settings.jwt_leeway <= 60
    assert settings.max_retries == 2
    assert (settings.retry_base_delay, settings.retry_max_delay) == (0.05, 1.0)
    assert settings.eject_after_5xx == 5


def test_reads_edge_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ADMIN_ALLOW", "10.0.0.0/8, 192.168.1.0/24")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT", "100/second;1000/minute")
    monkeypatch.setenv("GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("GATEWAY_JWKS_URL", "http://127.0.0.1:9/v1/jwks")
    settings = GatewaySettings.load()
    assert [str(n) for n in settings.admin_allow] == ["10.0.0.0/8", "192.168.1.0/24"]
    assert settings.rate_limit == "100/second;1000/minute"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.jwks_url == "http://127.0.0.1:9/v1/jwks"


@pytest.mark.parametrize(("field", "value"), [
    ("admin_allow", "10.0.0.0/33"), ("rate_limit", "lots"), ("login_rate_limit", "10/fortnight"),
    ("redis_url", "http://127.0.0.1:6379"), ("rate_limit_prefix", "has space"),
    ("cors_origins", "https://shop.example/"), ("cors_origins", "shop.example"),
    ("cors_origins", "https://a.example,https://shop.example/app"), ("cors_max_age", "-1"),
])
def test_rejects_bad_edge_settings(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"(?i){field}"):
        GatewaySettings.load(env={f"GATEWAY_{field.upper()}": value})


def test_cors_is_off_by_default_and_takes_origins_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().cors_origins == ()
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://shop.example, http://localhost:5173, *")
    assert GatewaySettings.load().cors_origins == (
        "https://shop.example", "http://localhost:5173", "*")
