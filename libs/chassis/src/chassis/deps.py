"""FastAPI dependencies as named, typed aliases: ``async def h(db: DatabaseDep)``.

Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a worker
thread, and that hop cost more than a third of a catalog request's CPU here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from chassis.db import Database
from chassis.runtime import Runtime

__all__ = ["DatabaseDep", "RuntimeDep", "get_database", "get_runtime"]


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_database(request: Request) -> Database:
    runtime: Runtime = request.app.state.runtime
    return runtime.require_db()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DatabaseDep = Annotated[Database, Depends(get_database)]
