"""``python -m registry``: serve the registry with settings from the ``REGISTRY_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from registry.app import create_app
from registry.settings import RegistrySettings


def main() -> None:
    serve(create_app, RegistrySettings.load())


if __name__ == "__main__":
    main()
