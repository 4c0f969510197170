"""`contentgen.billing.budgets.utc_day`: the day a charge belongs to, remembered per day."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contentgen.billing import budgets

# 1900 to 2200: every charge's clock, and the days around the epoch (negative timestamps).
TIMESTAMPS = st.floats(min_value=-2_208_988_800.0, max_value=7_258_118_400.0, allow_nan=False)


@given(st.lists(TIMESTAMPS, min_size=1, max_size=20))
def test_utc_day_is_the_utc_date_of_each_timestamp_in_any_order(timestamps: list[float]) -> None:
    for timestamp in timestamps:
        assert budgets.utc_day(timestamp) == datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def test_the_last_second_of_a_day_and_the_first_of_the_next() -> None:
    midnight = datetime(2026, 12, 8, tzinfo=UTC).timestamp()

    assert budgets.utc_day(midnight - 0.001) == "2026-12-07"
    assert budgets.utc_day(midnight) == "2026-12-08"
    assert budgets.utc_day(midnight - 0.001) == "2026-12-07"
    assert budgets.utc_day(-0.5) == "1969-12-31"
