"""The reliable messaging chain: transactional outbox, relay, inbox, durable consumers, DLQ.

See docs/checkout.md §2. Services use ``runtime.messaging`` (built by ``create_service_app(...,
handlers=...)``): their :class:`MessageHandlers` are subscribed for them, and
``transaction()`` changes state and publishes in one unit of work.
"""

from chassis.messaging.consumer import Handler
from chassis.messaging.core import Messaging
from chassis.messaging.envelope import (
    CORRELATION,
    DLQ_PREFIX,
    DLQ_STREAM,
    MSG_ID,
    NATS_MSG_ID,
    STREAM,
    TYPE,
    Incoming,
    subject_for,
)
from chassis.messaging.handlers import MessageHandlers
from chassis.messaging.history import HistoryIncomplete, history
from chassis.messaging.schema import create_messaging_tables
from chassis.messaging.tx import Batched, MessageTx

__all__ = ["CORRELATION", "DLQ_PREFIX", "DLQ_STREAM", "MSG_ID", "NATS_MSG_ID", "STREAM", "TYPE",
           "Batched", "Handler", "HistoryIncomplete", "Incoming", "MessageHandlers", "MessageTx",
           "Messaging", "create_messaging_tables", "history", "subject_for"]
