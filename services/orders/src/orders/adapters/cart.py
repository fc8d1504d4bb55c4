"""The cart, read over HTTP through the chassis client (discovery, breaker, retries, identity)."""

from __future__ import annotations

from urllib.parse import quote

from chassis.http import ServiceCallError, ServiceClient, UpstreamError
from orders.domain.errors import CartNotOrderable, CartUnavailable
from orders.domain.order import OrderLine
from orders.service.ports import CartReader, CartSnapshot

__all__ = ["HttpCartReader"]


class HttpCartReader(CartReader):
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def priced_cart(self, user_id: str) -> CartSnapshot:
        try:
            response = await self._client.get("cart", f"/v1/internal/carts/{quote(user_id, safe='')}")
        except UpstreamError as exc:
            if exc.status == 409:  # the cart's own refusal (mixed currencies): the buyer's to fix
                raise CartNotOrderable(str(exc.problem.get("detail") or exc.detail)) from exc
            raise CartUnavailable(str(exc) or type(exc).__name__) from exc
        except ServiceCallError as exc:
            raise CartUnavailable(str(exc) or type(exc).__name__) from exc
        doc = response.json()
        lines = tuple(OrderLine(sku=item["sku"], quantity=int(item["quantity"]),
                                unit_price_minor=int(item["unit_price"]["amount_minor"]),
                                name=str(item.get("name") or ""))
                      for item in doc.get("items", ()))
        return CartSnapshot(user_id=user_id, lines=lines, total_minor=int(doc.get("total_minor", 0)),
                            currency=str(doc.get("currency") or "EUR"),
                            version=int(doc.get("version", 0)))
