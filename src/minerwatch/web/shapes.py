"""The shapes of the API's JSON answers, for the OpenAPI document only: the routes build their bodies
themselves (and cache the bytes), so these models are never used to validate or serialise; the
schemathesis test checks every answer against them. Answers that are a query's dataclass as it is
(pool shares, the retarget forecast, the capitulation state, the breakeven surface) are documented
by that dataclass itself."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from minerwatch.queries.entities import LakeSource
from minerwatch.queries.series import MetricInfo


class Writer(BaseModel):
    """`serve --follow` only: whether the node is still followed, and if not, why."""

    state: str = Field(description="starting | syncing (blk files) | following (the node) | failed | stopped")
    blocks_stored: int = Field(description="blocks stored by this server process")
    error: str | None = Field(description="the last failure, until the writer works again")
    hint: str | None


class Status(BaseModel):
    """The database's network and tip; with blocks stored, also what `minerwatch status` shows."""

    model_config = ConfigDict(extra="allow")
    network: str
    simulated: bool
    tip_height: int | None
    tip_hash: str | None
    tip_time_s: int | None
    blocks: int
    writer: Writer | None = None


class Catalog(BaseModel):
    metrics: list[MetricInfo]


class DayValue(BaseModel):
    date: date
    value: float


class Row(BaseModel):
    date: date
    value: float | None           # None: a day without a value (a gap)


class SeriesDoc(BaseModel):
    metric: str
    unit: str
    definition: str
    family: str
    cohort: str | None
    interval: str
    step_days: int
    days: int
    latest: DayValue | None
    record_low: DayValue | None
    record_high: DayValue | None
    rows: list[Row]
    # e.g. an estimator whose window reaches below the first stored block (docs/metrics.md)
    warnings: list[str]
    # entity:<id> cohorts only: the imported lake results the series comes from (null: this database's sync)
    source: LakeSource | None = None


class HeadlineFigure(BaseModel):
    metric: str
    unit: str
    definition: str
    date: date | None
    value: float | None
    change_30d_pct: float | None
    record_low: DayValue | None
    record_high: DayValue | None
    at_record_low: bool
    near_record_low: bool


class Headline(BaseModel):
    figures: list[HeadlineFigure]


class CoinbasePayout(BaseModel):
    vout: int
    value_sat: int
    script_type: str
    address: str | None


class BlockFacts(BaseModel):
    """A stored block as `minerwatch block --json` shows it."""

    model_config = ConfigDict(extra="allow")
    height: int
    hash: str
    prev_hash: str
    time_s: int
    time_utc: str
    median_time_past_s: int
    version: int
    bits: str
    difficulty: float
    chainwork: int
    size_bytes: int
    weight_wu: int
    tx_count: int
    coinbase_value_sat: int
    subsidy_sat: int
    fees_sat: int = Field(description="what the miner claimed above the subsidy")
    fees_paid_sat: int | None = Field(description="true fees: the inputs' values minus the outputs' (coinbase "
                                      "excluded), from the node's undo data; null when the block was read without it")
    coinbase_tag: str
    coinbase_payouts: list[CoinbasePayout]


# --- mempool.space's shapes -------------------------------------------------------------------------

class MempoolPool(BaseModel):
    id: int | None
    name: str
    slug: str


class MempoolExtras(BaseModel):
    reward: int
    totalFees: int
    coinbaseRaw: None
    coinbaseTag: str
    pool: MempoolPool | None = None


class MempoolBlock(BaseModel):
    id: str
    height: int
    version: int
    timestamp: int
    bits: int
    difficulty: float
    tx_count: int
    size: int
    weight: int
    previousblockhash: str
    mediantime: int
    extras: MempoolExtras


class MempoolBlockStatus(BaseModel):
    in_best_chain: bool
    height: int | None = None
    next_best: str | None = None


class MempoolDifficultyAdjustment(BaseModel):
    progressPercent: float
    difficultyChange: float
    estimatedRetargetDate: float
    remainingBlocks: int
    remainingTime: int
    previousRetarget: float
    previousTime: int
    nextRetargetHeight: int
    timeAvg: int
    adjustedTimeAvg: int
    timeOffset: int
    expectedBlocks: float


class MempoolHashrate(BaseModel):
    timestamp: int
    avgHashrate: float


class MempoolRetarget(BaseModel):
    time: int
    height: int
    difficulty: float
    adjustment: float


class MempoolHashrateHistory(BaseModel):
    hashrates: list[MempoolHashrate]
    difficulty: list[MempoolRetarget]
    currentHashrate: float
    currentDifficulty: float


class MempoolPoolRank(BaseModel):
    poolId: int
    name: str
    link: str
    blockCount: int
    rank: int
    emptyBlocks: int
    slug: str
    avgMatchRate: None
    avgFeeDelta: None
    poolUniqueId: int


class MempoolPoolRanking(BaseModel):
    pools: list[MempoolPoolRank]
    blockCount: int
    lastEstimatedHashrate: float
    lastEstimatedHashrate3d: float
    lastEstimatedHashrate1w: float


# [time_s, height, difficulty, ratio to the previous epoch's difficulty], newest first. Not a tuple:
# FastAPI writes a tuple's prefixItems as an OpenAPI 3.0 `items` list, which 3.1 refuses.
MempoolRetargetRow = Annotated[list[float], Field(min_length=4, max_length=4)]
