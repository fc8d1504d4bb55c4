"""``python -m gateway``: serve the gateway with uvicorn (uvloop + httptools)."""

from chassis.serve import serve
from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    serve(create_app, GatewaySettings())


if __name__ == "__main__":
    main()
