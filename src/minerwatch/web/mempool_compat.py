"""mempool.space-compatible endpoints, where minerwatch stores the same facts, so that tools written
for mempool.space's API (and its client @mempool/mempool.js) work against a minerwatch server.

"Now" is the stored tip's header time, not the wall clock: a database synced an hour ago answers as
of its tip. /api/v1/difficulty-adjustment is mempool.space's own calculation (metrics/retarget.py). Hashrates follow each field's mempool.space meaning as far as stored data allows; see
docs/api.md for the differences (hashrate history is minerwatch's daily block-count estimator).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import duckdb
from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse, Response

from minerwatch.errors import StoreError, UsageError
from minerwatch.pools import Pool, load_pool_list
from minerwatch.queries import db, mining, series
from minerwatch.queries.chain import MAX_HEIGHT
from minerwatch.queries.intervals import INTERVALS, MAX_POINTS_LIMIT, parse_interval
from minerwatch.web import shapes
from minerwatch.web.charts import day_s
from minerwatch.web.respond import JSON, TEXT, cached, error_body, error_responses, ok_json

router = APIRouter(tags=["mempool.space compatible"])
BLOCKS_PER_PAGE = 15                      # mempool.space's /api/v1/blocks page size
# Checked by the handlers (parse_interval), with a message naming the choices; the schema lists them.
IntervalP = Path(description="one of " + ", ".join(INTERVALS), json_schema_extra={"enum": list(INTERVALS)})


def _state(con: duckdb.DuckDBPyConnection | None) -> tuple[duckdb.DuckDBPyConnection, db.DbState]:
    st = db.db_state(con)
    if con is None or st.empty:
        raise StoreError("no blocks yet", db.SYNC_HINT)
    return con, st


def _text(value: object) -> tuple[int, str, bytes]:
    return 200, TEXT, str(value).encode()


def _not_found(what: str) -> tuple[int, str, bytes]:
    return 404, JSON, error_body(f"{what} not found")


@lru_cache(maxsize=1)
def _pools_by_slug() -> dict[str, Pool]:
    out: dict[str, Pool] = {}
    for p in load_pool_list().pools:
        out.setdefault(p.slug, p)
    return out


@router.get("/api/blocks/tip/height", summary="Height of the stored tip (text)", response_class=PlainTextResponse)
async def tip_height(request: Request) -> Response:
    return await cached(request, lambda con: _text(_state(con)[1].tip_height))


@router.get("/api/blocks/tip/hash", summary="Hash of the stored tip (text)", response_class=PlainTextResponse)
async def tip_hash(request: Request) -> Response:
    return await cached(request, lambda con: _text(_state(con)[1].tip_hash))


@router.get("/api/block-height/{height}", summary="Hash of the stored block at a height (text)",
            response_class=PlainTextResponse,
            responses=error_responses(400, 404, not_found="No stored block at that height."))
async def block_height(request: Request, height: int = Path(ge=0, le=MAX_HEIGHT)) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        h = mining.hash_at_height(_state(con)[0], height)
        return _not_found("block") if h is None else _text(h)

    return await cached(request, build)


def block_doc(row: dict[str, Any], pool: tuple[str, str] | None) -> dict[str, Any]:
    """A stored block in mempool.space's Block shape (merkle_root and nonce are not stored)."""
    extras: dict[str, Any] = {"reward": row["coinbase_value_sat"], "totalFees": row["fees_sat"],
                              "coinbaseRaw": None, "coinbaseTag": row["coinbase_tag"]}
    if pool is not None:
        p = _pools_by_slug().get(pool[0])
        extras["pool"] = {"id": p.pool_id if p else None, "name": pool[1], "slug": pool[0]}
    return {"id": row["hash"], "height": row["height"], "version": row["version"], "timestamp": row["time_s"],
            "bits": row["bits"], "difficulty": row["difficulty"], "tx_count": row["tx_count"],
            "size": row["size_bytes"], "weight": row["weight_wu"], "previousblockhash": row["prev_hash"],
            "mediantime": row["median_time_past_s"], "extras": extras}


@router.get("/api/v1/block/{block_hash}", summary="A stored block by hash (mempool.space Block shape)",
            response_model=shapes.MempoolBlock,
            responses=error_responses(404, not_found="No stored block has that hash."))
async def block(request: Request, block_hash: str) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        c, _ = _state(con)
        row = mining.block_by_hash(c, block_hash.lower())
        if row is None:
            return _not_found("block")
        return ok_json(block_doc(row, mining.pool_of(c, [int(row["height"])]).get(int(row["height"]))))

    return await cached(request, build)


@router.get("/api/block/{block_hash}/status", summary="Whether a block is in the stored best chain",
            response_model=shapes.MempoolBlockStatus)
async def block_status(request: Request, block_hash: str) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        c, _ = _state(con)
        row = mining.block_by_hash(c, block_hash.lower())
        if row is None:
            return ok_json({"in_best_chain": False})
        nxt = mining.hash_at_height(c, int(row["height"]) + 1)
        return ok_json({"in_best_chain": True, "height": row["height"], "next_best": nxt})

    return await cached(request, build)


def _blocks_page(con: duckdb.DuckDBPyConnection | None, start: int | None) -> tuple[int, str, bytes]:
    c, st = _state(con)
    top = st.tip_height if start is None or start > (st.tip_height or 0) else start
    rows = mining.blocks_down_from(c, int(top or 0), BLOCKS_PER_PAGE)
    pools = mining.pool_of(c, [int(r["height"]) for r in rows])
    return ok_json([block_doc(r, pools.get(int(r["height"]))) for r in rows])


@router.get("/api/v1/blocks", summary="The 15 newest stored blocks", response_model=list[shapes.MempoolBlock])
async def blocks_tip(request: Request) -> Response:
    return await cached(request, lambda con: _blocks_page(con, None))


@router.get("/api/v1/blocks/{start_height}", summary="15 stored blocks from a height downwards",
            response_model=list[shapes.MempoolBlock],
            responses=error_responses(400))
async def blocks_from(request: Request, start_height: int = Path(
        json_schema_extra={"minimum": 0, "maximum": MAX_HEIGHT})) -> Response:
    if not 0 <= start_height <= MAX_HEIGHT:
        raise UsageError(f"start_height must be from 0 to {MAX_HEIGHT}", "e.g. /api/v1/blocks/840000")
    return await cached(request, lambda con: _blocks_page(con, start_height))


@router.get("/api/v1/difficulty-adjustment", summary="Progress of the epoch and the retarget forecast",
            response_model=shapes.MempoolDifficultyAdjustment)
async def difficulty_adjustment(request: Request) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        a = mining.mempool_difficulty_adjustment(_state(con)[0])
        return ok_json({
            "progressPercent": a.progress_percent, "difficultyChange": a.difficulty_change,
            "estimatedRetargetDate": a.estimated_retarget_date_ms, "remainingBlocks": a.remaining_blocks,
            "remainingTime": a.remaining_time_ms, "previousRetarget": a.previous_retarget,
            "previousTime": a.previous_time_s, "nextRetargetHeight": a.next_retarget_height,
            "timeAvg": a.time_avg_ms, "adjustedTimeAvg": a.adjusted_time_avg_ms, "timeOffset": a.time_offset_ms,
            "expectedBlocks": a.expected_blocks,
        })

    return await cached(request, build)


@router.get("/api/v1/mining/hashrate/{interval}", summary="Daily network hashrate and retargets in an interval",
            response_model=shapes.MempoolHashrateHistory,
            responses=error_responses(400))
async def hashrate(request: Request, interval: str = IntervalP) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        parse_interval(interval)
        c, st = _state(con)
        rows: list[dict[str, float]] = []
        if series.has_metric("hashrate_ehs"):
            s = series.read_series(c, "hashrate_ehs", interval, None, MAX_POINTS_LIMIT)
            rows = [{"timestamp": day_s(d), "avgHashrate": v * 1e18} for d, v in s.points if v is not None]
        tip_time = int(st.tip_time_s or 0)
        adjustments = mining.daily_difficulty_adjustments(
            mining.difficulty_adjustments(c, mining.interval_start_s(interval, tip_time), tip_time))
        diffs = [{"time": a.time_s, "height": a.height, "difficulty": a.difficulty, "adjustment": a.adjustment}
                 for a in adjustments]
        tip = mining.blocks_down_from(c, int(st.tip_height or 0), 1)
        # mempool.space's currentHashrate is Core's getnetworkhashps() at the tip: its default 120 blocks.
        current = mining.chainwork_hashrate_hs(c, 120) or 0.0
        return ok_json({"hashrates": rows, "difficulty": diffs, "currentHashrate": current,
                        "currentDifficulty": tip[0]["difficulty"] if tip else 0.0})

    return await cached(request, build)


@router.get("/api/v1/mining/difficulty-adjustments/{interval}",
            summary="Retargets in an interval as [time, height, difficulty, adjustment]",
            response_model=list[shapes.MempoolRetargetRow],
            responses=error_responses(400))
async def difficulty_adjustments(request: Request, interval: str = IntervalP) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        parse_interval(interval)
        c, st = _state(con)
        tip_time = int(st.tip_time_s or 0)
        rs = mining.difficulty_adjustments(c, mining.interval_start_s(interval, tip_time), tip_time)
        return ok_json([[a.time_s, a.height, a.difficulty, a.adjustment] for a in reversed(rs)])

    return await cached(request, build)


@router.get("/api/v1/mining/pools/{interval}", summary="Pool ranking by blocks mined in an interval",
            response_model=shapes.MempoolPoolRanking,
            responses=error_responses(400))
async def pools(request: Request, interval: str = IntervalP) -> Response:
    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        parse_interval(interval)
        c, st = _state(con)
        tip_time = int(st.tip_time_s or 0)
        shares = mining.interval_pool_shares(c, interval)
        known = _pools_by_slug()
        out = []
        for rank, p in enumerate(shares.pools, start=1):
            info = known.get(p.slug)
            out.append({"poolId": info.pool_id if info else 0, "name": p.name, "link": info.link if info else "",
                        "blockCount": p.blocks, "rank": rank, "emptyBlocks": p.empty_blocks, "slug": p.slug,
                        "avgMatchRate": None, "avgFeeDelta": None,
                        "poolUniqueId": info.pool_id if info else 0})
        # Core's getnetworkhashps over the blocks of the last day, 3 days and week, as mempool.space does.
        est = {f"lastEstimatedHashrate{suffix}": mining.chainwork_hashrate_hs(
            c, mining.blocks_since(c, tip_time - days * 86_400)) or 0.0
            for suffix, days in (("", 1), ("3d", 3), ("1w", 7))}
        return ok_json({"pools": out, "blockCount": shares.blocks, **est})

    return await cached(request, build)
