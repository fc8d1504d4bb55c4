"""``python -m gateway``: serve the gateway on its own HTTP/1.1 server (uvloop + httptools)."""

import sys

import uvloop

from chassis.logging import get_logger
from gateway.app import create_app
from gateway.serving import run
from gateway.settings import GatewaySettings


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    gateway = create_app(GatewaySettings.load())
    try:
        uvloop.run(run(gateway))
    except Exception:
        get_logger(__name__).exception("gateway failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
