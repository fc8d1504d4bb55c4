"""The two streams every service may create (idempotently) and the durable consumers."""

from __future__ import annotations

from typing import Any

from nats.js import api
from nats.js.errors import BadRequestError

from chassis.logging import get_logger
from chassis.messaging.envelope import DLQ_PREFIX, DLQ_STREAM, STREAM, SUBJECT_PREFIX

__all__ = ["ensure_consumer", "ensure_streams"]

log = get_logger(__name__)

DUPLICATE_WINDOW = 120.0  # seconds JetStream remembers a Nats-Msg-Id


async def ensure_streams(js: Any) -> None:
    """Create ``SOUK`` (every message, kept for replay) and ``SOUK_DLQ`` when missing."""
    for name, subjects in ((STREAM, [SUBJECT_PREFIX + ">"]), (DLQ_STREAM, [DLQ_PREFIX + ">"])):
        config = api.StreamConfig(name=name, subjects=subjects, storage=api.StorageType.FILE,
                                  retention=api.RetentionPolicy.LIMITS,
                                  duplicate_window=DUPLICATE_WINDOW, max_age=0,
                                  discard=api.DiscardPolicy.OLD)
        try:
            await js.add_stream(config)
        except BadRequestError as exc:  # exists with other settings (an operator's change)
            log.info("stream exists with other settings; left as it is", stream=name,
                     error=str(exc))


async def ensure_consumer(js: Any, durable: str, subjects: list[str], *, ack_wait: float) -> None:
    """Create or update the durable pull consumer ``durable`` over ``subjects``."""
    config = api.ConsumerConfig(
        durable_name=durable, name=durable, ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL, ack_wait=ack_wait, max_deliver=-1,
        filter_subjects=subjects, max_ack_pending=20000, max_waiting=512)
    await js.add_consumer(STREAM, config)
