"""The saga's commands as they arrive from the broker, one named handler per contract type:
translation to the use cases only.

Each handler runs inside the consumer's batch transaction; it publishes its reply through the
same transaction (``<command id>.r``) and never waits on the network. An authorization is
handed to the late authorizer, which asks the processor, once the batch has committed.
"""

from __future__ import annotations

from chassis import clock
from chassis.logging import get_logger
from chassis.messaging import Incoming, MessageHandlers, MessageTx
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from payments.adapters.sql import SqlPayments
from payments.domain.errors import CaptureRefused
from payments.service import commands
from payments.service.context import PaymentsContext

__all__ = ["handlers"]

log = get_logger(__name__)

handlers = MessageHandlers()


@handlers.on(AuthorizePayment)
async def on_authorize_payment(command: AuthorizePayment, tx: MessageTx, meta: Incoming,
                               payments: PaymentsContext) -> None:
    later = await commands.authorize_payment(SqlPayments(tx), payments.metrics, command,
                                             reply_id=meta.reply_id, lease=payments.late.lease,
                                             now=clock.time())
    if later is not None:
        request = later

        def hand_over() -> None:  # only once the request and its claim are stored
            payments.late.schedule(request)

        tx.after_commit(hand_over)


@handlers.on(CapturePayment)
async def on_capture_payment(command: CapturePayment, tx: MessageTx, meta: Incoming,
                             payments: PaymentsContext) -> None:
    try:
        await commands.capture_payment(SqlPayments(tx), payments.metrics, command,
                                       reply_id=meta.reply_id)
    except CaptureRefused as exc:
        # no reply: the saga keeps re-sending, and an operator must look at this order
        log.error("capture refused", order_id=command.order_id, msg_id=meta.id, reason=str(exc))


@handlers.on(VoidPayment)
async def on_void_payment(command: VoidPayment, tx: MessageTx, meta: Incoming,
                          payments: PaymentsContext) -> None:
    await commands.void_payment(SqlPayments(tx), payments.metrics, command,
                                reply_id=meta.reply_id)
