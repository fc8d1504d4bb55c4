"""Souk's published contracts: message and API schemas shared between services.

Contracts import only msgspec and hold no behaviour. Wire names are explicit versioned strings
(``orders.OrderPlaced.v1``); changes are additive, and a breaking change is a new type name.
"""

from contracts.base import (
    Command,
    Event,
    Line,
    Message,
    OrderCommand,
    OrderReply,
    PricedLine,
    decode,
    encode,
    registry,
    type_name,
)

__all__ = ["Command", "Event", "Line", "Message", "OrderCommand", "OrderReply", "PricedLine", "decode",
           "encode", "registry", "type_name"]
