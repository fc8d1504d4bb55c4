"""Amounts and moments as a shopper reads them: money in minor units and an ISO-4217 code,
written with the currency's sign (``€12.90``), digits grouped; a Unix time as a UTC date."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["money", "when"]

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(minor: int, currency: str = "EUR") -> str:
    """``1290, "EUR"`` → ``€12.90``; a negative amount keeps its sign in front."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    symbol = _SYMBOLS.get(currency)
    amount = f"{minor // 100:,}.{minor % 100:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{currency} {amount}"


def when(unix_seconds: float) -> str:
    """``1765000000.0`` → ``2025-12-06 05:46 UTC``."""
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
