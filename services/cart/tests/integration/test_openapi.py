"""Every answer of the cart matches its OpenAPI document (property-based, with schemathesis); the
catalog behind the price cache is an in-process stand-in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from cart.app import create_app
from cart.domain.pricing import Price
from cart.service.ports import PriceLookup, PriceSourceUnavailable
from chassis.testing import TestIssuer, nats_server
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread

from .conftest import cart_settings

pytestmark = pytest.mark.integration


class Prices:
    """Sells SKUs starting with A or K (at 1.00 EUR); SKUs starting with Z have no price at all
    (the catalog down, nothing cached); the rest it does not sell."""

    async def look_up(self, skus: Sequence[str], *, deadline: float | None = None) -> PriceLookup:
        if any(s.startswith("Z") for s in skus):
            raise PriceSourceUnavailable("down for Z")
        sold = [s for s in skus if s[:1] in ("A", "K")]
        return PriceLookup({s: Price(100, "EUR") for s in sold},
                           [s for s in skus if s not in sold], {s: s.title() for s in sold})


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    token = issuer.mint(sub="u1", roles=("customer", "admin"))
    with nats_server() as nats_url:
        app = create_app(cart_settings(database_url=f"sqlite:///{tmp_path / 'cart.db'}",
                                       nats_url=nats_url), prices=Prices())
        with serve_in_thread(app, issuer) as url:
            failures = check_conformance(url, token=token)
    assert failures == []
