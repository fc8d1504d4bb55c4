"""Read every stored message of some types from the start of the stream (to rebuild projections)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from nats.js import api

from chassis.ids import new_id
from chassis.messaging.envelope import MSG_ID, NATS_MSG_ID, STREAM, TYPE, Incoming, subject_for
from chassis.messaging.pull import CreditPull, delivered_count
from contracts import Message

if TYPE_CHECKING:
    from chassis.broker import Broker

__all__ = ["HistoryIncomplete", "history"]


class HistoryIncomplete(Exception):
    """The reading went silent before it reached the last message stored when it began."""


async def history(broker: Broker, types: Iterable[type[Message]], *,
                  idle_timeout: float = 5.0) -> AsyncIterator[Incoming]:
    """Yield every message of ``types`` stored in the stream, oldest first, up to the last one
    stored when the call began. Uses an ephemeral consumer that is deleted afterwards.

    The end is known, never guessed: the reading is complete when it has reached the stream's
    last sequence as read at the start (or no message of ``types`` is left). If nothing arrives
    for ``idle_timeout`` seconds before that, it raises ``HistoryIncomplete``: a stall is not the
    end, and a projection rebuilt from it would silently miss the rest."""
    js = broker.jetstream()
    subjects = sorted({subject_for(t) for t in types})
    info = await js.stream_info(STREAM)
    last = info.state.last_seq
    if info.state.messages == 0:
        return
    name = f"replay-{new_id().replace('-', '')[-16:]}"
    consumer = await js.add_consumer(STREAM, api.ConsumerConfig(
        name=name, ack_policy=api.AckPolicy.NONE, deliver_policy=api.DeliverPolicy.ALL,
        filter_subjects=subjects, inactive_threshold=60.0, mem_storage=True))
    if not consumer.num_pending:  # none of these types stored: complete, nothing to wait for
        with contextlib.suppress(Exception):
            await js.delete_consumer(STREAM, name)
        return
    queue: asyncio.Queue[Any] = asyncio.Queue()
    pull = CreditPull(broker.nc, STREAM, name, queue.put_nowait, window=1000)
    pull.set_backlog(queue.qsize)
    await pull.start()
    try:
        while True:
            try:
                msg = await asyncio.wait_for(queue.get(), idle_timeout)
            except TimeoutError:
                raise HistoryIncomplete(
                    f"nothing arrived for {idle_timeout} s before sequence {last}") from None
            _, seq, pending = delivered_count(msg.reply or "")
            headers = msg.headers or {}
            yield Incoming(id=headers.get(MSG_ID) or headers.get(NATS_MSG_ID) or str(seq),
                           type=headers.get(TYPE) or msg.subject.removeprefix("souk."),
                           subject=msg.subject, data=msg.data, headers=headers, stream_seq=seq)
            if seq >= last or pending == 0:
                return
            if queue.qsize() < 500:
                await pull.top_up()
    finally:
        await pull.close()
        with contextlib.suppress(Exception):  # it expires on its own (inactive_threshold)
            await js.delete_consumer(STREAM, name)
