"""Who is calling, as the verified token proves it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A user (``service`` None) or another service (``service`` its name)."""

    id: str
    roles: tuple[str, ...]
    service: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles
