"""The cart's HTTP API under ``/v1`` (the gateway serves ``/api/v1/cart`` as ``/v1/cart``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from cart.adapters.sql import SqlUnitOfWork
from cart.entrypoints.schemas import CartIn, CartOut, InternalCartOut, QuantityIn
from cart.service import carts
from cart.service.pricing import Pricer
from chassis.auth import CurrentUser, Principal, internal_caller
from chassis.deps import DatabaseDep
from chassis.http import deadline_from_headers

__all__ = ["PRICER", "router"]

PRICER = "cart.pricer"  # runtime.extras key

router = APIRouter(prefix="/v1", tags=["cart"])
Orders = Annotated[Principal, Depends(internal_caller({"orders"}))]


async def _pricer(request: Request) -> Pricer:
    pricer: Pricer = request.app.state.runtime.extras[PRICER]
    return pricer


async def _uow(db: DatabaseDep) -> SqlUnitOfWork:
    return SqlUnitOfWork(db)


PricerDep = Annotated[Pricer, Depends(_pricer)]
UnitOfWorkDep = Annotated[SqlUnitOfWork, Depends(_uow)]


def _currency(request: Request) -> str:
    return str(request.app.state.runtime.settings.default_currency)


@router.get("/cart")
async def get_cart(user: CurrentUser, uow: UnitOfWorkDep, pricer: PricerDep,
                   request: Request) -> CartOut:
    """The caller's own cart, priced (cached prices are flagged stale when the catalog is away)."""
    cart = await carts.view_cart(uow, pricer, user.id, default_currency=_currency(request),
                                 deadline=deadline_from_headers(request.headers))
    return CartOut.of(cart)


@router.put("/cart")
async def replace_cart(body: CartIn, user: CurrentUser, uow: UnitOfWorkDep, pricer: PricerDep,
                       request: Request) -> CartOut:
    """Make the cart hold exactly these lines (one call instead of clearing and adding)."""
    await carts.replace_cart(uow, pricer, user.id, [(x.sku, x.quantity) for x in body.items],
                             datetime.now(UTC))
    return CartOut.of(await carts.view_cart(uow, pricer, user.id,
                                            default_currency=_currency(request)))


@router.put("/cart/items/{sku}")
async def put_item(sku: str, body: QuantityIn, user: CurrentUser, uow: UnitOfWorkDep,
                   pricer: PricerDep, request: Request) -> CartOut:
    """Set how many of ``sku`` the cart holds (adds the line if absent)."""
    await carts.set_item(uow, pricer, user.id, sku, body.quantity, datetime.now(UTC))
    return CartOut.of(await carts.view_cart(uow, pricer, user.id,
                                            default_currency=_currency(request)))


@router.delete("/cart/items/{sku}", status_code=204)
async def delete_item(sku: str, user: CurrentUser, uow: UnitOfWorkDep) -> Response:
    await carts.remove_item(uow, user.id, sku, datetime.now(UTC))
    return Response(status_code=204)


@router.delete("/cart", status_code=204)
async def delete_cart(user: CurrentUser, uow: UnitOfWorkDep) -> Response:
    await carts.clear_cart(uow, user.id, datetime.now(UTC))
    return Response(status_code=204)


@router.get("/internal/carts/{user_id}")
async def get_user_cart(user_id: str, _: Orders, uow: UnitOfWorkDep, pricer: PricerDep,
                        request: Request) -> InternalCartOut:
    """A user's priced cart, for orders at checkout (service token of orders only)."""
    cart = await carts.view_cart(uow, pricer, user_id, default_currency=_currency(request),
                                 deadline=deadline_from_headers(request.headers))
    return InternalCartOut.of(cart)
