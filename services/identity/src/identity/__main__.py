"""``python -m identity``: serve identity with settings from the ``IDENTITY_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from identity.app import create_app
from identity.settings import IdentitySettings


def main() -> None:
    serve(create_app, IdentitySettings.load())


if __name__ == "__main__":
    main()
