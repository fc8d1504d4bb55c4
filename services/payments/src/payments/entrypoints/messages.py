"""The saga's commands as they arrive from the broker: translation to the use cases only.

Each handler runs inside the consumer's batch transaction; it publishes its reply through the
same transaction (``<command id>.r``) and never waits on the network.
"""

from __future__ import annotations

from collections.abc import Mapping

from chassis.logging import get_logger
from chassis.messaging import Handler, Incoming, MessageTx
from contracts import Message
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from payments.adapters.sessions import MessagingSession
from payments.domain.errors import CaptureRefused
from payments.service import commands
from payments.service.late_authorizations import LateAuthorizer
from payments.service.ports import CardProcessor, PaymentMetrics

__all__ = ["PaymentCommandHandlers"]

log = get_logger(__name__)


class PaymentCommandHandlers:
    def __init__(self, processor: CardProcessor, metrics: PaymentMetrics,
                 late: LateAuthorizer, dialect: str) -> None:
        self._processor = processor
        self._metrics = metrics
        self._late = late
        self._dialect = dialect

    def subscriptions(self) -> Mapping[type[Message], Handler]:
        return {AuthorizePayment: self.on_authorize_payment,
                CapturePayment: self.on_capture_payment,
                VoidPayment: self.on_void_payment}

    async def on_authorize_payment(self, tx: MessageTx, cmd: AuthorizePayment,
                                   meta: Incoming) -> None:
        session = MessagingSession(tx, self._dialect)
        later = await commands.authorize_payment(session, self._processor, self._metrics, cmd,
                                                 reply_id=f"{meta.id}.r")
        if later is not None:
            self._late.schedule(later)

    async def on_capture_payment(self, tx: MessageTx, cmd: CapturePayment,
                                 meta: Incoming) -> None:
        session = MessagingSession(tx, self._dialect)
        try:
            await commands.capture_payment(session, self._metrics, cmd, reply_id=f"{meta.id}.r")
        except CaptureRefused as exc:
            # no reply: the saga keeps re-sending, and an operator must look at this order
            log.error("capture refused", order_id=cmd.order_id, msg_id=meta.id, reason=str(exc))

    async def on_void_payment(self, tx: MessageTx, cmd: VoidPayment, meta: Incoming) -> None:
        session = MessagingSession(tx, self._dialect)
        await commands.void_payment(session, self._metrics, cmd, reply_id=f"{meta.id}.r")
