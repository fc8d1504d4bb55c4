"""``python -m payments``: serve payments with settings from the ``PAYMENTS_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from payments.app import create_app
from payments.settings import PaymentsSettings


def main() -> None:
    serve(create_app, PaymentsSettings.load())


if __name__ == "__main__":
    main()
