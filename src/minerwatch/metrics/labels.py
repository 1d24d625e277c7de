"""User label sets: address → entity and category (e.g. exchange), each import a new version.

Every stored miner figure records the label-set version it was computed with (meta
labels_version, copied into daily_miner_flows), so a figure can be traced to the labels in force.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from minerwatch.chain.address import decode_address
from minerwatch.chain.script import script_id
from minerwatch.errors import UsageError
from minerwatch.networks import Network
from minerwatch.store import get_meta, set_meta


@dataclass(frozen=True, slots=True)
class LabelImport:
    label_set: str
    version: str
    rows: int
    previous_version: str | None


def read_labels_csv(path: Path, network: Network) -> list[tuple[int, str, str, str]]:
    """Rows (script_id, address, entity, category) of a CSV with columns address,entity,category."""
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}", "give the path of a CSV file") from e
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not a UTF-8 text file (byte {e.start} is {e.object[e.start]:#04x})",
                         "save the labels as a UTF-8 CSV with the header address,entity,category") from e
    reader = csv.DictReader(text.splitlines())
    missing = {"address", "entity", "category"} - set(reader.fieldnames or [])
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(sorted(missing))}",
                         "the header must be: address,entity,category")
    rows = []
    for line_no, rec in enumerate(reader, start=2):
        if any(rec[k] is None for k in ("address", "entity", "category")):
            raise UsageError(f"{path}: line {line_no}: only {sum(v is not None for k, v in rec.items() if k is not None)} of "
                             f"{len(reader.fieldnames or [])} fields",
                             "every line must be: address,entity,category")
        address = rec["address"].strip()
        try:
            stype, payload = decode_address(address, network)
        except UsageError as e:
            raise UsageError(f"{path}: line {line_no}: {e.message}", e.hint) from e
        rows.append((script_id(stype, payload), address, rec["entity"].strip(), rec["category"].strip().lower()))
    return rows


def import_labels(con: duckdb.DuckDBPyConnection, path: Path, label_set: str, network: Network) -> LabelImport:
    """Replace label set `label_set` with the file's rows, as a new version (content hash)."""
    rows = read_labels_csv(path, network)
    version = f"{label_set}@{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
    previous = get_meta(con, "labels_version")
    con.execute("DELETE FROM labels WHERE label_set = ?", [label_set])
    con.executemany("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?)",
                    [(label_set, version, sid, a, e, c) for sid, a, e, c in rows])
    versions = sorted({v for (v,) in con.execute("SELECT DISTINCT version FROM labels").fetchall()})
    set_meta(con, "labels_version", "+".join(versions))
    return LabelImport(label_set, version, len(rows), previous)
