"""``python -m orders``: serve orders with settings from the ``ORDERS_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from orders.app import create_app
from orders.settings import OrdersSettings


def main() -> None:
    serve(create_app, OrdersSettings.load())


if __name__ == "__main__":
    main()
