"""The platform's home folder: databases, logs, the NATS store and the supervisor's state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import overload

__all__ = ["Home", "HomeError"]


class HomeError(OSError):
    """The home's folders cannot be made (a file in the way, no permission, a read-only or
    special file system); the message names the folder and why."""


class _Path:
    """One place in the home's layout: ``name`` under the root, or under another such place."""

    def __init__(self, name: str, *, under: _Path | None = None) -> None:
        self.name = name
        self.under = under

    @overload
    def __get__(self, home: None, owner: type[Home]) -> _Path: ...
    @overload
    def __get__(self, home: Home, owner: type[Home]) -> Path: ...
    def __get__(self, home: Home | None, owner: type[Home]) -> Path | _Path:
        if home is None:
            return self
        parent = home.root if self.under is None else self.under.__get__(home, owner)
        return parent / self.name


@dataclass(frozen=True)
class Home:
    """``<home>/data``, ``<home>/logs``, ``<home>/nats``, ``<home>/run``, ``<home>/faults`` and
    ``<home>/secrets`` under one root."""

    root: Path

    data = _Path("data")
    logs = _Path("logs")
    nats = _Path("nats")
    run = _Path("run")
    faults = _Path("faults")  # armed crash points, one folder per service (chassis.faults.FaultPoints)
    secrets = _Path("secrets")  # credentials souk generates; readable by the owner only

    state_file = _Path("state.json", under=run)
    pid_file = _Path("supervisor.pid", under=run)
    # instance counts wanted per service; `souk scale` writes it, SIGHUP applies it
    desired_file = _Path("desired.json", under=run)
    # ["<instance>", ...]: instances not restarted when they exit; `souk hold` writes it, SIGHUP
    # applies it
    hold_file = _Path("hold.json", under=run)
    # {"<instance>": {"pid": N, "until": unix time or null}}: processes kept stopped (SIGSTOP);
    # `souk fault pause/resume` writes it, SIGHUP applies it (souk.faults)
    pause_file = _Path("pause.json", under=run)
    # {"<service>": {"broker"|"database": {"mode": "partition"|"slow", "ms": N}}}: the network
    # faults the fault proxy applies (souk.fault_proxy watches it)
    net_faults_file = _Path("net-faults.json", under=run)
    # the grace period `souk down` asked for, read by the supervisor on SIGTERM
    stop_file = _Path("stop.json", under=run)
    # locked (flock) by the `souk up` starting this home: a second one waits for it
    start_lock = _Path("start.lock", under=run)
    # {"<service>": "<secret>"}: each service's credential for a service token
    service_secrets_file = _Path("services.json", under=secrets)
    # {"<service>": "<sha256 hex of its secret>"}: what identity checks secrets against
    service_credentials_file = _Path("service-credentials.json", under=secrets)
    # the demo admin and demo customer, with their passwords
    demo_users_file = _Path("demo-users.json", under=secrets)
    # {"signing_key_secret": "..."}: what identity encrypts its private signing keys with
    deployment_secrets_file = _Path("deployment.json", under=secrets)
    supervisor_log = _Path("supervisor.log", under=logs)

    @classmethod
    def resolve(cls, option: Path | None) -> Home:
        """``--home`` (or ``SOUK_HOME``, which the CLI maps onto it), else ``./var``."""
        return cls((option or Path("var")).expanduser().absolute())

    def fault_dir(self, service: str) -> Path:
        """Where a file named after a crash point makes ``service``'s next process to pass it
        SIGKILL itself (once)."""
        return self.faults / service

    def log_file(self, instance: str) -> Path:
        return self.logs / f"{instance}.log"

    def create(self) -> None:
        """Make every folder (idempotent), readable by the owner only: databases, the broker's
        store, logs and secrets are nobody else's business (an existing folder is tightened)."""
        for folder in (self.root, self.data, self.logs, self.nats, self.run, self.faults,
                       self.secrets):
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.chmod(0o700)  # mkdir's mode is masked by the umask, and skips what exists
            except OSError as exc:
                raise HomeError(f"cannot make the home folder {folder}: "
                                f"{exc.strerror or type(exc).__name__}") from None
