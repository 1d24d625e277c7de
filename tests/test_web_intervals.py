"""The interval vocabulary and the downsampling every chart and series response goes through."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from minerwatch.errors import UsageError
from minerwatch.queries.intervals import INTERVALS, downsample, parse_interval, window_start


def test_vocabulary_is_mempool_spaces() -> None:
    assert INTERVALS == ("24h", "3d", "1w", "1m", "3m", "6m", "1y", "2y", "3y", "all")
    with pytest.raises(UsageError):
        parse_interval("5y")


def test_windows_end_on_the_given_day_inclusive() -> None:
    end = date(2025, 3, 1)
    assert window_start("24h", end) == end
    assert window_start("1w", end) == date(2025, 2, 23)          # 7 days: 23 Feb … 1 Mar
    assert window_start("1y", end) == end - timedelta(days=364)
    assert window_start("all", end) is None


def test_downsample_means_of_equal_runs() -> None:
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(10)]
    points = list(zip(days, [1.0, 2.0, 3.0, 4.0, None, 6.0, None, None, None, 10.0]))
    # 10 points to at most 4: runs of ceil(10 / 4) = 3 days → (1+2+3)/3, (4+6)/2 (gap skipped),
    # an all-gap run stays a gap, and the last run holds one day.
    out, step = downsample(points, 4)
    assert step == 3
    assert out == [(days[0], 2.0), (days[3], 5.0), (days[6], None), (days[9], 10.0)]


def test_short_series_are_left_alone() -> None:
    points = [(date(2025, 1, 1), 1.0), (date(2025, 1, 2), None)]
    assert downsample(points, 500) == (points, 1)
