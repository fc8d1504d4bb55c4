"""What the cart entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from cart.service.ports import CartUnitOfWork
from cart.service.pricing import Pricer

__all__ = ["CartContext"]


@dataclass(frozen=True)
class CartContext:
    uow: CartUnitOfWork
    pricer: Pricer
    default_currency: str  # of an empty cart
