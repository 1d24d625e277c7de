"""The ASIC catalog: manufacturers' nominal specs shipped with the package, plus the user's own file.

Nominal launch figures vary by batch, firmware and tuning (an S19j Pro ships anywhere from 96 to
104 TH/s), so every entry is a default a user can override by model name.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from minerwatch.errors import UsageError

NOMINAL_SPECS = "nominal-specs-2016-2025.csv"
F2POOL_LIST = "f2pool-list-2016-2020.csv"


@dataclass(frozen=True, slots=True)
class Asic:
    """One machine model at its nominal (or user-given) operating point."""

    model: str
    manufacturer: str
    hashrate_ths: float
    power_w: float
    released: str            # YYYY-MM, "" when unknown
    source: str              # "nominal", "f2pool-2020" or the user's file name

    @property
    def efficiency_j_per_th(self) -> float:
        """Joules per terahash: watts / (TH/s)."""
        return self.power_w / self.hashrate_ths


def read_user_text(path: Path, what: str) -> str:
    """The text of a file the user named (`what` says which, e.g. "fleet file"), as a UsageError
    naming the file when it cannot be read or is not UTF-8. A byte-order mark (spreadsheets write
    one) is dropped."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{what} {path} is not UTF-8 text (byte {e.object[e.start]:#04x} at position {e.start})",
                         "save the file as UTF-8 text (a spreadsheet's \"CSV UTF-8\" export, or any text "
                         "editor's UTF-8 encoding) and run the command again") from e
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror or e}",
                         "check the path and that the file is readable") from e


def _read_data(name: str) -> str:
    return resources.files("minerwatch").joinpath("data", name).read_text(encoding="utf-8")


def _float(row: dict[str, str], key: str, where: str) -> float:
    try:
        value = float(row[key].strip())
    except (KeyError, ValueError) as e:
        raise UsageError(f"{where}: column {key!r} is missing or not a number",
                         "columns: model,manufacturer,hashrate_ths,power_w[,released]") from e
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{where}: {key} = {value} must be a finite positive number",
                         "hashrate and power are per machine")
    return value


def parse_specs_csv(text: str, source: str) -> list[Asic]:
    """Rows of `model,manufacturer,hashrate_ths,power_w[,released]` (extra columns ignored)."""
    out: list[Asic] = []
    for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        where = f"{source} line {i}"
        if not (row.get("model") or "").strip():
            raise UsageError(f"{where}: empty model name", "every row needs a model")
        out.append(Asic(row["model"].strip(), (row.get("manufacturer") or "").strip(),
                        _float(row, "hashrate_ths", where), _float(row, "power_w", where),
                        (row.get("released") or "").strip(), source))
    return out


def parse_f2pool_csv(text: str) -> list[Asic]:
    """F2Pool's 2020 model list (columns `Device`, `Hashrate (T)`, `Power Consumption (W)`, …)."""
    out: list[Asic] = []
    for row in csv.reader(io.StringIO(text)):
        if not row or row[0] == "Company":
            continue
        # Columns by position: the header repeats "Company" and carries trailing spaces.
        company, device, ths, watts, year, month = row[0], row[1], row[2], row[3], row[10], row[11]
        released = f"{int(year):04d}-{int(month):02d}" if year.strip() and month.strip() else ""
        out.append(Asic(device.strip(), company.strip(), float(ths), float(watts), released, "f2pool-2020"))
    return out


def load_catalog(user_file: Path | None = None, include_f2pool: bool = False) -> dict[str, Asic]:
    """Models by name: shipped nominal specs, optionally F2Pool's 2020 list, then the user's file on top."""
    catalog: dict[str, Asic] = {}
    if include_f2pool:
        # The list names two models twice at different operating points (Antminer S9 at 14 and 13 TH/s,
        # Hummer Miner H7 Pro (48T) at 53 and 48): the first row of each name is kept.
        for a in parse_f2pool_csv(_read_data(F2POOL_LIST)):
            catalog.setdefault(a.model, a)
    # Nominal specs win over the F2Pool list for models in both (later and manufacturer-sourced).
    for a in parse_specs_csv(_read_data(NOMINAL_SPECS), "nominal"):
        catalog[a.model] = a
    if user_file is not None:
        for a in parse_specs_csv(read_user_text(user_file, "ASIC file"), user_file.name):
            catalog[a.model] = a
    return catalog


def find_model(catalog: dict[str, Asic], name: str) -> Asic:
    """The model called `name` (case-insensitive), or a UsageError naming close matches."""
    if name in catalog:
        return catalog[name]
    folded = {k.casefold(): v for k, v in catalog.items()}
    if name.casefold() in folded:
        return folded[name.casefold()]
    close = [k for k in catalog if name.casefold().split()[-1] in k.casefold()][:6] if name.split() else []
    raise UsageError(f"unknown machine model {name!r}",
                     ("close: " + ", ".join(close) + "; " if close else "")
                     + "run `minerwatch calc fleet --list-models`, or give hashrate_ths and power_w in the fleet file")
