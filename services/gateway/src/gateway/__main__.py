"""``python -m gateway``: serve the gateway with uvicorn (uvloop + httptools)."""

from chassis.serve import serve
from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    # the edge: the client address is the socket's, never a header a client could forge
    serve(create_app, GatewaySettings(), trust_forwarded=False)


if __name__ == "__main__":
    main()
