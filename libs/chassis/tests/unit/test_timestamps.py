from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chassis.db.timestamps import from_db_timestamp, to_db_timestamp

pytestmark = pytest.mark.unit

PARIS_SUMMER = timezone(timedelta(hours=2))


def test_sqlite_gets_utc_iso_text_and_postgresql_gets_datetimes() -> None:
    moment = datetime(2025, 6, 1, 14, 30, tzinfo=PARIS_SUMMER)
    assert to_db_timestamp("sqlite", moment) == "2025-06-01T12:30:00.000000+00:00"
    assert to_db_timestamp("postgresql", moment) == moment
    assert to_db_timestamp("sqlite", None) is None


def test_timestamps_read_back_as_aware_datetimes() -> None:
    moment = datetime(2025, 6, 1, 12, 30, 0, 5, tzinfo=UTC)
    assert from_db_timestamp(to_db_timestamp("sqlite", moment)) == moment
    assert from_db_timestamp(moment) == moment
    assert from_db_timestamp("2025-06-01 12:30:00") == datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
    with pytest.raises(TypeError):
        from_db_timestamp(12345)
