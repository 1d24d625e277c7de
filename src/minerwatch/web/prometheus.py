"""Prometheus exposition (/metrics): the stored tip and the latest value of each headline metric."""

from __future__ import annotations

import re

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from minerwatch.errors import StoreError
from minerwatch.queries import db, headline, mining
from minerwatch.web.respond import cached

router = APIRouter(tags=["prometheus"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _name(metric: str) -> str:
    return "minerwatch_" + re.sub(r"[^a-zA-Z0-9_]", "_", metric)


def _help(text: str) -> str:
    # Exposition format: HELP escapes only backslash and newline.
    return text.replace("\\", "\\\\").replace("\n", " ")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _forecast(con: duckdb.DuckDBPyConnection) -> mining.PaceForecast | None:
    """The forecast, or None when the epoch's first block is not stored (no gauge beats a wrong one)."""
    try:
        return mining.retarget_forecast(con)
    except StoreError:
        return None


def exposition(con: duckdb.DuckDBPyConnection | None) -> str:
    """Text exposition of the database's gauges."""
    st = db.db_state(con)
    lines: list[str] = []

    def gauge(name: str, help_text: str, value: float, labels: str = "") -> None:
        lines.append(f"# HELP {name} {_help(help_text)}")
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name}{labels} {value!r}")

    gauge("minerwatch_info", "Database identity (value always 1)", 1.0,
          f'{{network="{_label(st.network)}",simulated="{str(st.simulated).lower()}"}}')
    gauge("minerwatch_blocks", "Blocks stored", float(st.block_count))
    if con is not None and not st.empty:
        gauge("minerwatch_tip_height", "Height of the stored tip", float(st.tip_height or 0))
        gauge("minerwatch_tip_timestamp_seconds", "Header time of the stored tip (unix seconds)",
              float(st.tip_time_s or 0))
        fc = _forecast(con)
        if fc is not None and fc.change_pct is not None:
            gauge("minerwatch_retarget_forecast_change_percent",
                  "Forecast difficulty change at the next retarget (BRK: pace since the epoch began)", fc.change_pct)
        if fc is not None:
            gauge("minerwatch_retarget_remaining_blocks", "Blocks left in the difficulty epoch",
                  float(fc.remaining_blocks))
        for f in headline.headline(con):
            if f.latest is not None:
                gauge(_name(f.key), f"{f.definition} [{f.unit}], latest day {f.latest.day.isoformat()}",
                      f.latest.value)
    return "\n".join(lines) + "\n"


@router.get("/metrics", summary="Prometheus gauges: tip and the latest headline metrics",
            response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    return await cached(request, lambda con: (200, CONTENT_TYPE, exposition(con).encode()))
