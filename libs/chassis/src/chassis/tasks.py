"""Stopping the asyncio tasks a component started for itself (a watch, a heartbeat, a loop)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel each task (``None``: never started, skipped), then wait until each has ended, so
    nothing it holds is used after the caller closes it. Their cancellation stops here."""
    started = [task for task in tasks if task is not None]
    for task in started:
        task.cancel()
    for task in started:
        # asyncio.wait_for (Python 3.11) swallows a cancellation that arrives as its awaited
        # future completes, and the task runs on: cancel it again until it has ended
        while not task.done():
            await asyncio.wait({task}, timeout=0.1)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
