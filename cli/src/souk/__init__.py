"""Souk's command line: launch, supervise, inspect and scale the platform on one machine."""

__all__: list[str] = []
