"""The miner entities' pages: the list of the imported lake results' entities, and one entity's
reserve, flows, reserve by era and flow to exchanges — read through the same series readers as every
cohort (entity:<id>)."""

from __future__ import annotations

from minerwatch.errors import NotFoundError
from minerwatch.queries import entities
from minerwatch.queries.entities import LakeSource
from minerwatch.web.charts import PageContext, era_chart, figure_doc, time_chart

LIST_LIMIT = 100
RESERVE_PAGE_LIMIT = 10
FLOWS = ["miner_outflow_btc", "miner_inflow_btc", "miner_netflow_btc"]


def source_note(source: LakeSource) -> str:
    """Where the entities come from, in words: not this database's own sync."""
    return (f"The entities' figures come from {source.describe()} (lake tip {source.lake_tip_hash[:16]}…), not "
            "from this database's own sync: miner entities need the whole transaction graph.")


def short_address(address: str) -> str:
    """An address as a figure's note shows it: a bech32 address or a bare key (pk:<130 hex digits>)
    is one unbreakable word wider than a phone; the page's JSON and the API keep it whole."""
    return address if len(address) <= 24 else f"{address[:12]}…{address[-6:]}"


def _seed(e: entities.Entity) -> str:
    text = f"block {e.seed_height:,}, output {e.seed_vout}"
    if e.seed_pool:
        text += f", mined by {e.seed_pool}"
    if e.labels:
        text += "; labelled " + ", ".join(e.labels)
    return text


def entity_list(ctx: PageContext) -> None:
    """The /entities page: every imported entity (the first LIST_LIMIT), largest first by reserve or by
    scripts, each a link to its page; without an import, what to run."""
    assert ctx.con is not None
    order = ctx.params.get("by") or "reserve"
    ctx.choices.append({"param": "by", "label": "largest first by", "options": list(entities.ORDERS),
                        "current": order})
    try:
        found = entities.list_entities(ctx.con, order, LIST_LIMIT)
    except NotFoundError as e:
        # The page exists before any import: it says what to run, as an empty database's pages do.
        ctx.notes.append(f"{e.message}. To see them: {e.hint}.")
        return
    ctx.figures.append(figure_doc("miner entities", float(found.total), "entities",
                                  note=f"lake to height {found.source.lake_tip_height:,}"))
    entity_table(ctx, found)


def entity_table(ctx: PageContext, found: entities.EntityList, more: str = "") -> None:
    """The entities of `found` as a table linking to their pages, and where they come from."""
    shown = "reserve" if found.order == "reserve" else "size"
    ctx.tables.append({
        "id": "entities", "title": f"Miner entities, the {len(found.entities):,} largest by {shown}",
        "columns": ["entity", "scripts", "reserve", "last change", "first coinbase output", "its address"],
        "units": [None, None, "BTC", None, None, None],
        "links": {"entity": "/entities/"}, "link_keys": [e.cohort.partition(":")[2] for e in found.entities],
        "rows": [[e.cohort, e.scripts, e.reserve_btc, e.reserve_day.isoformat() if e.reserve_day else None,
                  _seed(e), e.seed_address] for e in found.entities]})
    ctx.notes.append("Miner entities: the scripts spent together in one transaction with a script a coinbase "
                     "paid (common-input ownership), each named after the first coinbase output paid to it. "
                     + source_note(found.source) + more)


def reserve_entities(ctx: PageContext) -> None:
    """On the reserve page, once lake results are imported: the entities holding the most."""
    assert ctx.con is not None
    if not entities.imported(ctx.con):
        return
    found = entities.list_entities(ctx.con, "reserve", RESERVE_PAGE_LIMIT)
    entity_table(ctx, found, f" All {found.total:,} of them: /entities.")


def one_entity(ctx: PageContext) -> None:
    """One entity: its reserve and flows, with its size, seed and where the figures come from."""
    assert ctx.con is not None
    cohort = ctx.params["cohort"]
    e = entities.entity(ctx.con, cohort)
    source = entities.lake_source(ctx.con)
    ctx.figures.append(figure_doc("reserve", e.reserve_btc, "BTC", "miner_reserve_btc", e.reserve_day,
                                  note="at its last change"))
    ctx.figures.append(figure_doc("scripts", float(e.scripts), "scripts",
                                  note=f"{e.coinbase_scripts:,} paid by a coinbase"))
    time_chart(ctx, "entity-reserve", f"{cohort}: reserve", ["miner_reserve_btc"], cohort=cohort)
    time_chart(ctx, "entity-flows", f"{cohort}: flows per day", FLOWS, cohort=cohort)
    try:
        era_chart(ctx, "entity-reserve-by-era", f"{cohort}: reserve by era in which the coins were mined", cohort)
    except NotFoundError as missing:
        # Results imported before the entities' reserve by era was computed: the page says so.
        ctx.notes.append(f"{missing.message[0].upper()}{missing.message[1:]}: {missing.hint}.")
    if entities.exchanges_labelled(ctx.con):
        time_chart(ctx, "entity-to-exchange", f"{cohort}: sent to exchanges per day", ["miner_to_exchange_btc"],
                   cohort=cohort)
    else:
        ctx.notes.append("No flow to exchanges: the lake's results were computed without a label set that "
                         "marks exchanges (minerwatch lake cohorts --labels FILE.csv).")
    ctx.notes.append(f"Named after the first coinbase output paid to it: {_seed(e)}"
                     + (f", to {short_address(e.seed_address)}." if e.seed_address else "."))
    if source is not None:
        ctx.notes.append(source_note(source))
