"""A background load of an experiment: ``python -m souk.chaos.loadrun FILE HOME N C R``.

Runs ``souk load``'s workload (:func:`souk.load.run_load`) against the platform of ``HOME`` and
keeps ``FILE`` up to date (rewritten atomically, at most twice a second): its counts while it runs,
then its result. The experiment's activities read the file. SIGUSR1 finishes the load early: no
checkout is started any more, those under way finish and the result is written; SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from souk import identity_client
from souk.home import Home
from souk.load import LoadError, LoadProgress, run_load
from souk.state import read_state, write_json_atomic

__all__ = ["counts", "main"]

EVERY = 0.5


def counts(progress: LoadProgress) -> dict[str, Any]:
    return {"total": progress.total, "started": progress.started, "done": progress.done,
            "confirmed": progress.confirmed, "cancelled": progress.cancelled,
            "failed": progress.failed, "retried": progress.retried,
            "per_second": round(progress.per_second, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="souk.chaos.loadrun")
    parser.add_argument("file", type=Path)
    parser.add_argument("home", type=Path)
    parser.add_argument("checkouts", type=int)
    parser.add_argument("concurrency", type=int)
    parser.add_argument("decline_rate", type=float)
    args = parser.parse_args(argv)
    base = {"pid": os.getpid(), "checkouts": args.checkouts}
    state = read_state(Home.resolve(args.home).state_file)
    identity = identity_client.identity_url(state) if state else None
    if state is None or state.gateway_url is None or identity is None:
        write_json_atomic(args.file, {**base, "state": "error",
                                      "error": "no running gateway and identity"})
        return 2
    last = 0.0
    finish = False

    def on_finish(signum: int, frame: object) -> None:
        nonlocal finish
        finish = True

    signal.signal(signal.SIGUSR1, on_finish)

    def show(progress: LoadProgress) -> None:
        nonlocal last
        if time.monotonic() - last >= EVERY:
            last = time.monotonic()
            write_json_atomic(args.file, {**base, "state": "running", "progress": counts(progress)})

    write_json_atomic(args.file, {**base, "state": "starting"})
    try:
        result = asyncio.run(run_load(state.gateway_url, identity, args.checkouts,
                                      args.concurrency, args.decline_rate, progress=show,
                                      enough=lambda: finish))
    except LoadError as exc:
        write_json_atomic(args.file, {**base, "state": "error", "error": str(exc)})
        return 2
    write_json_atomic(args.file, {**base, "state": "done", "result": result.as_json()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
