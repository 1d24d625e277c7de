"""The network's median machine by date, from the shipped catalog's release months and an adoption lag."""

from __future__ import annotations

from datetime import date

import pytest

from minerwatch.economics.network_efficiency import breakeven_model
from minerwatch.economics.surface import DEFAULT_MIX
from minerwatch.errors import UsageError


@pytest.mark.parametrize("day, model, line", [
    # 2017-11 less 18 months is 2016-05: nothing in the catalog is that old (the S9 is of 2016-06).
    (date(2017, 11, 30), None, None),
    # 2018-12 − 18 months = 2017-06: the S9, 1,323 W / 13.5 TH/s = 98 J/TH; 98 × 24 × 0.045 = 105.84.
    (date(2018, 12, 3), "Antminer S9", 105.84),
    # 2021-07 − 18 = 2020-01: the S17 Pro of 2019-04, 2,094 W / 53 TH/s = 39.51 J/TH → 42.67.
    (date(2021, 7, 3), "Antminer S17 Pro", 2094 / 53 * 24 * 0.045),
    # 2025-10 − 18 = 2024-04: the S21 of 2024-01, 3,500 W / 200 TH/s = 17.5 J/TH → 18.90, the
    # median unit of the assumed late-2025 mix (economics/surface.py) — the anchor of the lag.
    (date(2025, 10, 1), "Antminer S21", 18.90),
])
def test_median_machine_by_date(day: date, model: str | None, line: float | None) -> None:
    m = breakeven_model().at(day)
    if model is None:
        assert m is None
        return
    assert m is not None and m.model == model
    assert m.breakeven_hashprice_usd_per_ph_day == pytest.approx(line)


def test_lag_and_power_price_are_the_users() -> None:
    # A 6-month lag on 2018-12-03 reaches 2018-06: still only the S9 among the shipped nominal
    # specs; at 0.07 USD/kWh its line is 98 × 24 × 0.07 = 164.64.
    m = breakeven_model(6, 0.07).at(date(2018, 12, 3))
    assert m is not None and m.breakeven_hashprice_usd_per_ph_day == pytest.approx(164.64)
    assert breakeven_model(mix=DEFAULT_MIX).at(date(2018, 12, 3)).breakeven_hashprice_usd_per_ph_day == \
        pytest.approx(18.90)
    assert breakeven_model().first_day() == date(2017, 12, 1)
    with pytest.raises(UsageError, match="adoption lag -1 months is out of range"):
        breakeven_model(-1)
