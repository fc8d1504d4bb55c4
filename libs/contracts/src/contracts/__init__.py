"""Souk's published contracts: message and API schemas shared between services.

Contracts import only pydantic and hold no behaviour. Wire names are explicit versioned strings
(``orders.OrderPlaced.v1``); changes are additive, and a breaking change is a new type name.
The checkout messages arrive with the checkout issue.
"""

__all__: list[str] = []
