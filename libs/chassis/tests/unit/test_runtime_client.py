"""``runtime.service_client()``: one client per process, built with the service's policy and its
fixed upstream URLs, discovery for the rest. No sockets (a client session opens none by itself)."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from chassis.discovery import Balancer, Instance, RoundRobin
from chassis.health import HealthChecks
from chassis.http import ClientPolicy, StaticDirectory
from chassis.metrics import HttpMetrics
from chassis.runtime import Runtime
from chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit


class Registry:
    """A discovery stand-in that records ejections."""

    def __init__(self) -> None:
        self.ejected: list[str] = []
        self._balancer = RoundRobin()

    def pick(self, service: str, *, exclude: frozenset[str] = frozenset()) -> Instance | None:
        return Instance(f"{service}-r1", service, f"http://{service}.registered")

    def balancer(self, service: str) -> Balancer:
        return self._balancer

    def eject(self, instance_id: str, seconds: float) -> None:
        self.ejected.append(instance_id)


def runtime() -> Runtime:
    registry = CollectorRegistry()
    return Runtime(settings=ServiceSettings(service_name="cart"), metrics_registry=registry,
                   http_metrics=HttpMetrics(registry, "cart"), health=HealthChecks())


def test_fixed_urls_come_first_and_other_services_are_discovered() -> None:
    registry = Registry()
    directory = StaticDirectory({"catalog": "http://catalog.fixed/"}, fallback=registry)
    fixed = directory.pick("catalog")
    assert fixed is not None and fixed.url == "http://catalog.fixed"
    found = directory.pick("orders")
    assert found is not None and found.url == "http://orders.registered"
    assert directory.balancer("orders") is registry.balancer("orders")
    directory.eject(fixed.instance_id, 5)  # a fixed name is never ejected
    directory.eject("orders-r1", 5)
    assert registry.ejected == ["orders-r1"]


async def test_the_first_call_builds_the_client_with_the_policy_and_urls_given() -> None:
    rt = runtime()
    async with aiohttp.ClientSession() as http:
        rt.http = http
        policy = ClientPolicy(max_retries=0, deadline=1.5)
        client = rt.service_client(policy=policy, urls={"catalog": "http://c", "orders": ""})
        assert client.policy is policy
        picked = client.directory.pick("catalog")
        assert picked is not None and picked.url == "http://c"
        assert client.directory.pick("orders") is None  # an empty URL is no URL, no registry
        assert rt.service_client() is client
        with pytest.raises(RuntimeError, match="already built"):
            rt.service_client(policy=ClientPolicy())


async def test_a_client_needs_a_registry_or_fixed_urls() -> None:
    rt = runtime()
    async with aiohttp.ClientSession() as http:
        rt.http = http
        with pytest.raises(RuntimeError, match="registry URL or fixed upstream URLs"):
            rt.service_client()
        with pytest.raises(RuntimeError):
            rt.service_client(urls={"catalog": ""})


async def test_the_settings_upstream_urls_are_fixed_and_a_given_url_wins_over_them() -> None:
    registry = CollectorRegistry()
    settings = ServiceSettings(service_name="orders", upstream_urls=(
        "cart=http://cart:8000", "catalog=http://catalog:8000"))
    rt = Runtime(settings=settings, metrics_registry=registry,
                 http_metrics=HttpMetrics(registry, "orders"), health=HealthChecks())
    async with aiohttp.ClientSession() as http:
        rt.http = http
        client = rt.service_client(urls={"catalog": "http://catalog.test"})
        cart, catalog = client.directory.pick("cart"), client.directory.pick("catalog")
        assert cart is not None and cart.url == "http://cart:8000"
        assert catalog is not None and catalog.url == "http://catalog.test"
        assert client.directory.pick("payments") is None  # no registry: not found
        assert rt.service_client() is client  # the settings' URLs are no second configuration


async def test_service_tokens_come_from_a_fixed_identity_url_without_a_registry() -> None:
    from chassis.app import _start_auth

    registry = CollectorRegistry()
    settings = ServiceSettings(service_name="orders", service_secret="s3cret",
                               upstream_urls=("identity=http://identity:8000/",))
    rt = Runtime(settings=settings, metrics_registry=registry,
                 http_metrics=HttpMetrics(registry, "orders"), health=HealthChecks())
    async with aiohttp.ClientSession() as http:
        rt.http = http
        _start_auth(rt, verify_tokens=False)
        assert rt.service_tokens is not None
        assert rt.service_tokens._identity_url() == "http://identity:8000"
