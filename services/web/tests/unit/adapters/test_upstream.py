from __future__ import annotations

from typing import Any

import pytest

from chassis.http import CircuitOpen, ServiceResponse, UpstreamError, UpstreamTimeout
from web.adapters.shop import Shop, path_segment
from web.adapters.upstream import call
from web.domain.errors import NotFound, Refused, Unavailable

pytestmark = pytest.mark.unit


class FakeClient:
    """Answers every call with ``answer`` (or raises it), and remembers what was asked."""

    def __init__(self, answer: bytes | Exception = b"{}") -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    async def request(self, method: str, upstream: str, path: str, **kwargs: Any
                      ) -> ServiceResponse:
        self.calls.append((method, upstream, path, kwargs))
        if isinstance(self.answer, Exception):
            raise self.answer
        return ServiceResponse(200, {}, self.answer)


def _problem(status: int, slug: str, detail: str = "") -> UpstreamError:
    return UpstreamError("orders", status, {
        "type": f"https://souk.dev/problems/{slug}", "detail": detail})


async def test_answers_the_json_of_a_call_made_as_the_user() -> None:
    client = FakeClient(b'{"items": []}')
    assert await call(client, "GET", "cart", "/v1/cart", bearer="token") == {"items": []}  # type: ignore[arg-type]
    assert client.calls[0][3]["on_behalf_of"] == "token"


async def test_a_404_is_not_found() -> None:
    with pytest.raises(NotFound):
        await call(FakeClient(_problem(404, "orders/not-found")), "GET", "orders", "/v1/x")  # type: ignore[arg-type]


async def test_a_refusal_keeps_its_kind_and_words() -> None:
    with pytest.raises(Refused) as refused:
        await call(FakeClient(_problem(422, "orders/empty-cart", "the cart is empty")),  # type: ignore[arg-type]
                   "POST", "orders", "/v1/orders")
    assert (refused.value.status, refused.value.slug, refused.value.detail) == (
        422, "orders/empty-cart", "the cart is empty")


@pytest.mark.parametrize("failure", [
    _problem(503, "orders/cart-unavailable"), _problem(500, "internal"),
    _problem(429, "orders/too-many-waits"), UpstreamTimeout("orders", "slow"),
    CircuitOpen("orders", 1.0)])
async def test_a_service_that_cannot_answer_is_unavailable(failure: Exception) -> None:
    with pytest.raises(Unavailable):
        await call(FakeClient(failure), "GET", "orders", "/v1/orders")  # type: ignore[arg-type]


async def test_a_path_segment_cannot_escape_its_route() -> None:
    client = FakeClient(b'{"id": "x"}')
    await Shop(client).product("../admin/products?x=1")  # type: ignore[arg-type]
    assert client.calls[0][2] == "/v1/products/..%2Fadmin%2Fproducts%3Fx%3D1"
    assert path_segment("KIT-0001") == "KIT-0001"


async def test_a_checkout_without_javascript_waits_for_the_outcome() -> None:
    client = FakeClient(b'{"id": "o1", "status": "CONFIRMED"}')
    shop = Shop(client)  # type: ignore[arg-type]
    await shop.place_order("token", "web-key", "tok_visa", wait=True)
    await shop.place_order("token", "web-key", "tok_visa", wait=False)
    (_, _, path, waited), (_, _, _, at_once) = client.calls
    assert path == "/v1/orders" and waited["json"] == {"card_token": "tok_visa"}
    assert waited["headers"] == {"Idempotency-Key": "web-key", "Prefer": "wait=4"}
    assert at_once["headers"] == {"Idempotency-Key": "web-key"}
    assert waited["idempotent"] is True  # the key makes a retry the same order
