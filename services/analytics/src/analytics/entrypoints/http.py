"""The analytics HTTP API: the summary (gateway: ``/api/v1/analytics/…``) and the replay."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends

from analytics.adapters.sql import SqlUnitOfWork
from analytics.entrypoints.events import EVENTS, facts_in
from analytics.entrypoints.schemas import ReplayOut, SummaryOut
from analytics.service import projection
from analytics.service.ports import UnitOfWork
from chassis.auth import Principal, require_role
from chassis.deps import DatabaseDep, RuntimeDep
from chassis.logging import get_logger
from chassis.messaging import history
from chassis.openapi import problem_responses
from chassis.problems import Problem

__all__ = ["router"]

log = get_logger(__name__)


async def get_unit_of_work(db: DatabaseDep) -> UnitOfWork:
    return SqlUnitOfWork(db)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
Admin = Annotated[Principal, Depends(require_role("admin"))]

router = APIRouter(prefix="/v1", tags=["analytics"])

_ADMIN_PROBLEMS = {401: "no valid bearer token", 403: "the token lacks the admin role"}


@router.get("/analytics/summary", responses=problem_responses(_ADMIN_PROBLEMS))
async def get_summary(uow: UnitOfWorkDep, _: Admin) -> SummaryOut:
    """Orders by status, confirmed revenue per currency, top products (admin only)."""
    return SummaryOut.of(await projection.summary(uow))


@router.post("/admin/replay", responses=problem_responses(
    {**_ADMIN_PROBLEMS, 503: "not connected to the broker (broker-unavailable)"}))
async def replay(uow: UnitOfWorkDep, runtime: RuntimeDep, _: Admin) -> ReplayOut:
    """Rebuild the read models from every orders event stored in the stream (admin only).
    Replays run one at a time; a second request waits for the first."""
    broker = runtime.broker
    if broker is None or not broker.is_connected:
        raise Problem(503, "broker-unavailable", "not connected to the message broker")
    lock = runtime.extras.setdefault("analytics.replay_lock", asyncio.Lock())
    assert isinstance(lock, asyncio.Lock)
    async with lock:
        batch_size: int = getattr(runtime.settings, "replay_batch_size",
                                  projection.DEFAULT_BATCH_SIZE)
        replayed = await projection.rebuild(uow, facts_in(history(broker, EVENTS)),
                                            batch_size=batch_size)
        summary = await projection.summary(uow)
    log.info("read models rebuilt", replayed=replayed)
    return ReplayOut(replayed=replayed, summary=SummaryOut.of(summary))
