"""Souk API gateway: the only public entry; routes ``/api/v1/<context>/...`` to service instances."""

from gateway.app import Gateway, create_app
from gateway.settings import GatewaySettings

__all__ = ["Gateway", "GatewaySettings", "create_app"]
