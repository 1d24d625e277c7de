"""Record low/high, drawdown, rebound, change over N days, lowest since, days below a threshold."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from minerwatch.metrics import series_stats as s

D0 = date(2022, 1, 1)
# A hand-made hashprice path: 100, 80, None (gap), 50, 60, 120, 90 on consecutive days.
ROWS = [(D0 + timedelta(days=i), v) for i, v in enumerate([100.0, 80.0, None, 50.0, 60.0, 120.0, 90.0])]


def test_records_drawdown_and_rebound() -> None:
    assert s.record_low(ROWS) == s.Point(date(2022, 1, 4), 50.0)
    assert s.record_high(ROWS) == s.Point(date(2022, 1, 6), 120.0)
    # Before the 120 on Jan 6 the high was Jan 1's 100.
    assert s.record_high(ROWS, end=date(2022, 1, 5)) == s.Point(D0, 100.0)
    dd = s.drawdown_from_high(ROWS)           # 120 → 90: −25 %
    assert dd.change_pct == pytest.approx(-25.0) and dd.change_abs == -30.0
    rb = s.rebound_from_low(ROWS)             # 50 → 90: +80 %
    assert rb.change_pct == pytest.approx(80.0)
    # As of Jan 5 (value 60): high 100 on Jan 1 → −40 %.
    assert s.drawdown_from_high(ROWS, as_of=date(2022, 1, 5)).change_pct == pytest.approx(-40.0)


def test_change_over_days_skips_gaps_backwards() -> None:
    # 4 days before Jan 7 is Jan 3, a gap: the last value before it is Jan 2's 80 → 90/80 − 1 = +12.5 %.
    m = s.change_over_days(ROWS, 4)
    assert m.start == s.Point(date(2022, 1, 2), 80.0) and m.change_pct == pytest.approx(12.5)
    assert s.change_over_days(ROWS, 30) is None


def test_lowest_and_highest_since() -> None:
    # Jan 7's 90: the last earlier day at or below 90 is Jan 5 (60).
    assert s.lowest_since(ROWS) == date(2022, 1, 5)
    # Jan 4's 50 is the lowest ever: no earlier day at or below it.
    assert s.lowest_since(ROWS, as_of=date(2022, 1, 4)) is None
    assert s.highest_since(ROWS) == date(2022, 1, 6)


def test_days_below_a_threshold_counts_only_days_with_data() -> None:
    r = s.days_below(ROWS, 85.0)              # 80, 50, 60 are below 85; 6 days have data
    assert (r.days_below, r.days_with_data) == (3, 6)
    assert r.share_pct == pytest.approx(50.0)
    assert (r.first_day_below, r.last_day_below) == (date(2022, 1, 2), date(2022, 1, 5))
    r = s.days_below(ROWS, 85.0, start=date(2022, 1, 5), end=date(2022, 1, 7))   # 60 only, of 3
    assert (r.days_below, r.days_with_data) == (1, 3)
    assert s.days_below([], 1.0).share_pct is None
