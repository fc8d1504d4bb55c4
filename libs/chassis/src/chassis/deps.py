"""FastAPI dependencies as named, typed aliases: ``async def h(db: DatabaseDep)``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from chassis.db import Database
from chassis.runtime import Runtime

__all__ = ["DatabaseDep", "RuntimeDep", "get_database", "get_runtime"]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_database(request: Request) -> Database:
    return get_runtime(request).require_db()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DatabaseDep = Annotated[Database, Depends(get_database)]
