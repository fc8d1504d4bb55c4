"""``python -m web``: serve with settings from the ``WEB_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from web.app import create_app
from web.settings import WebSettings


def main() -> None:
    serve(create_app, WebSettings.load())


if __name__ == "__main__":
    main()
