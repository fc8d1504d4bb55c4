"""``python -m catalog``: serve the catalog with settings from the ``CATALOG_*`` environment."""

from __future__ import annotations

from catalog.app import create_app
from catalog.settings import CatalogSettings
from chassis.serve import serve


def main() -> None:
    serve(create_app, CatalogSettings.load())


if __name__ == "__main__":
    main()
