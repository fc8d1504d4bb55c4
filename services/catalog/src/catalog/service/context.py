"""What the catalog entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.service.ports import CatalogUnitOfWork

__all__ = ["CatalogContext"]


@dataclass(frozen=True)
class CatalogContext:
    uow: CatalogUnitOfWork
