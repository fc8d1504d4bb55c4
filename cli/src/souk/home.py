"""The platform's home folder: databases, logs, the NATS store and the supervisor's state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Home"]


@dataclass(frozen=True)
class Home:
    """``<home>/data``, ``<home>/logs``, ``<home>/nats``, ``<home>/run``, ``<home>/faults`` and
    ``<home>/secrets`` under one root."""

    root: Path

    @classmethod
    def resolve(cls, option: Path | None) -> Home:
        """``--home`` (or ``SOUK_HOME``, which the CLI maps onto it), else ``./var``."""
        return cls((option or Path("var")).expanduser().absolute())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def nats(self) -> Path:
        return self.root / "nats"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        return self.run / "state.json"

    @property
    def pid_file(self) -> Path:
        return self.run / "supervisor.pid"

    @property
    def desired_file(self) -> Path:
        """Instance counts wanted per service; ``souk scale`` writes it, SIGHUP applies it."""
        return self.run / "desired.json"

    @property
    def stop_file(self) -> Path:
        """The grace period ``souk down`` asked for, read by the supervisor on SIGTERM."""
        return self.run / "stop.json"

    @property
    def faults(self) -> Path:
        """Armed crash points, one folder per service (``chassis.faults.FaultPoints``)."""
        return self.root / "faults"

    def fault_dir(self, service: str) -> Path:
        """Where a file named after a crash point makes ``service``'s next process to pass it
        SIGKILL itself (once)."""
        return self.faults / service

    @property
    def secrets(self) -> Path:
        """Credentials souk generates; readable by the owner only."""
        return self.root / "secrets"

    @property
    def service_secrets_file(self) -> Path:
        """``{"<service>": "<secret>"}``: each service's credential for a service token."""
        return self.secrets / "services.json"

    @property
    def service_credentials_file(self) -> Path:
        """``{"<service>": "<sha256 hex of its secret>"}``: what identity checks secrets against."""
        return self.secrets / "service-credentials.json"

    @property
    def demo_users_file(self) -> Path:
        """The demo admin and demo customer, with their passwords."""
        return self.secrets / "demo-users.json"

    @property
    def supervisor_log(self) -> Path:
        return self.logs / "supervisor.log"

    def log_file(self, instance: str) -> Path:
        return self.logs / f"{instance}.log"

    def create(self) -> None:
        """Make every folder (idempotent)."""
        for folder in (self.data, self.logs, self.nats, self.run, self.faults):
            folder.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
