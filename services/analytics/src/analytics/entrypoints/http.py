"""The analytics HTTP API: the summary (gateway: ``/api/v1/analytics/…``) and the replay."""

from __future__ import annotations

from analytics.domain.errors import ReplayIncomplete, StreamUnavailable
from analytics.entrypoints.schemas import ReplayOut, SummaryOut
from analytics.service import projection
from analytics.service.context import AnalyticsContext
from chassis.web import ADMIN, Router

__all__ = ["router"]

router = Router(tags=["analytics"])


@router.get("/v1/analytics/summary", auth=ADMIN)
async def get_summary(analytics: AnalyticsContext) -> SummaryOut:
    """Orders by status, confirmed revenue per currency, top products."""
    return SummaryOut.of(await projection.summary(analytics.uow))


@router.post("/v1/admin/replay", auth=ADMIN, raises=(StreamUnavailable, ReplayIncomplete),
             tags=["operations"])
async def replay(analytics: AnalyticsContext) -> ReplayOut:
    """Rebuild the read models from every orders event stored in the stream.

    The rebuild is made beside the live read models and replaces them only once it has read the
    stream up to its last message at the start; a reading that stalls (503
    `analytics/replay-incomplete`) leaves them as they were.

    Replays run one at a time; a second request waits for the first, then rebuilds again.
    `souk replay analytics` compares the summary before with the one answered here."""
    return ReplayOut.of(await analytics.replays.replay())
