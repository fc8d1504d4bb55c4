"""``python -m telemetry``: serve telemetry with settings from the ``TELEMETRY_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from telemetry.app import create_app
from telemetry.settings import TelemetrySettings


def main() -> None:
    serve(create_app, TelemetrySettings.load())


if __name__ == "__main__":
    main()
