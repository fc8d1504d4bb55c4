"""``python -m cart``: serve the cart with settings from the ``CART_*`` environment."""

from __future__ import annotations

from cart.app import create_app
from cart.settings import CartSettings
from chassis.serve import serve


def main() -> None:
    serve(create_app, CartSettings.load())


if __name__ == "__main__":
    main()
