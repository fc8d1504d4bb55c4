"""``souk dlq``'s access to the dead-letter stream ``SOUK_DLQ``: one connection per command
(:func:`jetstream`), and the stream's logic from :mod:`chassis.messaging.dead_letters` (the
console of the web front end uses the same, over its own broker connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from chassis.messaging import dead_letters as _dlq
from chassis.messaging.dead_letters import DeadLetter, DlqError, Replayed, replay_headers
from chassis.messaging.envelope import DLQ_PREFIX, DLQ_STREAM

__all__ = ["DLQ_PREFIX", "DLQ_STREAM", "DeadLetter", "DlqError", "Replayed", "count_by_consumer", "jetstream",
           "list_dead_letters", "replay", "replay_headers"]

TIMEOUT = 5.0

@contextlib.asynccontextmanager
async def jetstream(nats_url: str, *, error: type[Exception] | None = None,
                    name: str = "souk-cli") -> AsyncIterator[Any]:
    """A JetStream context on one connection to ``nats_url`` (one server, or a cluster's nodes
    comma-separated: one connect attempt to each, in random order, the first that answers is
    used); an unreachable broker, or a request it leaves unanswered (a cluster electing a new
    leader for a stream answers again within seconds), raises ``error`` (DlqError by default)
    with the reason."""
    import nats  # ~0.2 s to import: only for the commands that use it
    from nats.errors import NoRespondersError, NoServersError
    from nats.js.errors import ServiceUnavailableError

    from chassis.broker import servers_of

    async def quiet(_: Exception) -> None:  # the failure is raised below, once, not logged
        return

    try:
        # one attempt: with allow_reconnect=False alone nats-py keeps retrying the first connect
        nc = await asyncio.wait_for(nats.connect(
            servers=servers_of(nats_url), connect_timeout=TIMEOUT, allow_reconnect=False,
            max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=quiet, name=name), TIMEOUT * 2)
    except (NoServersError, OSError, TimeoutError) as exc:
        reason = str(exc) or (f"no answer within {TIMEOUT * 2:g} s (is it paused? souk status)"
                              if isinstance(exc, TimeoutError) else type(exc).__name__)
        raise (error or DlqError)(f"cannot reach NATS at {nats_url}: {reason}") from None
    try:
        yield nc.jetstream(timeout=TIMEOUT)
    except (TimeoutError, NoRespondersError, ServiceUnavailableError) as exc:
        raise (error or DlqError)(
            f"NATS did not answer ({str(exc) or type(exc).__name__}); if a broker node has just "
            "gone, its streams are electing a new leader: try again in a few seconds") from None
    finally:
        await nc.close()


async def count_by_consumer(nats_url: str) -> dict[str, int]:
    """Messages in ``SOUK_DLQ`` per consumer (empty when the stream does not exist yet)."""
    async with jetstream(nats_url) as js:
        return await _dlq.count_by_consumer(js)


async def list_dead_letters(nats_url: str) -> list[DeadLetter]:
    """Every message in ``SOUK_DLQ``, oldest first."""
    async with jetstream(nats_url) as js:
        return [letter async for letter in _dlq.dead_letters(js)]


async def replay(nats_url: str, seqs: Iterable[int] | None) -> list[Replayed]:
    """Republish the dead letters ``seqs`` (every one when None); they stay in the DLQ, each
    replay recorded (as the console shows it)."""
    from chassis.live import default_author

    async with jetstream(nats_url) as js:
        return await _dlq.replay(js, seqs, by=default_author())
