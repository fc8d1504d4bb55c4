"""``python -m inventory``: serve the inventory with settings from the ``INVENTORY_*``
environment."""

from __future__ import annotations

from chassis.serve import serve
from inventory.app import create_app
from inventory.settings import InventorySettings


def main() -> None:
    serve(create_app, InventorySettings.load())


if __name__ == "__main__":
    main()
