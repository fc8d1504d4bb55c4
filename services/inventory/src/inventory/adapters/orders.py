"""Which orders' sagas may still confirm, asked of orders through the chassis service client (the
only thing the inventory asks orders, before it lets a reservation expire)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from chassis.http import ServiceCallError, ServiceClient
from inventory.service.ports import SagaStates, SagasUnavailable

__all__ = ["OrdersSagas"]

ORDERS = "orders"
_PATH = "/v1/internal/sagas"
_GIVEN_UP = "CANCELLED"  # the one status that can never confirm


class _Saga(msgspec.Struct):
    order_id: str
    status: str


class _Answer(msgspec.Struct):
    items: list[_Saga]


_ANSWER = msgspec.json.Decoder(_Answer)


class OrdersSagas(SagaStates):
    """``POST /v1/internal/sagas {order_ids}`` of orders (a read: retried like one)."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def may_confirm(self, order_ids: Sequence[str]) -> set[str]:
        try:
            response = await self._client.post(ORDERS, _PATH, json={"order_ids": list(order_ids)},
                                               idempotent=True)
            answer = _ANSWER.decode(response.body)
        except ServiceCallError as exc:
            raise SagasUnavailable(str(exc) or type(exc).__name__) from exc
        except msgspec.DecodeError as exc:
            raise SagasUnavailable(f"orders sent an unreadable answer: {exc}") from exc
        return {saga.order_id for saga in answer.items if saga.status != _GIVEN_UP}
