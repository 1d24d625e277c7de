"""Every table of a minerwatch database as sorted rows, to compare two databases table by table."""

from __future__ import annotations

from pathlib import Path

import duckdb


def dump(db: Path, ignore_meta: tuple[str, ...] = (), leave_out: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """{table: sorted rows}; load-time (TIMESTAMP) columns left out, the only thing allowed to differ,
    the meta keys in `ignore_meta` and the columns named in `leave_out` (of any table)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        out = {}
        for t in tables:
            if t == "schema_migrations":
                out[t] = con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
                continue
            cols = [c for c, typ in con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                                "WHERE table_name = ? ORDER BY ordinal_position", [t]).fetchall()
                    if not typ.startswith("TIMESTAMP") and c not in leave_out]
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'SELECT {quoted} FROM "{t}"').fetchall()  # noqa: S608
            if t == "meta":
                rows = [r for r in rows if r[0] not in ignore_meta]
            out[t] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def differences(got: dict[str, list[tuple]], want: dict[str, list[tuple]]) -> list[str]:
    """Human-readable differences, table by table (empty when equal)."""
    out = []
    for t in sorted(set(got) | set(want)):
        g, w = got.get(t), want.get(t)
        if g == w:
            continue
        if g is None or w is None:
            out.append(f"{t}: only in {'the expected' if g is None else 'the resumed'} database")
            continue
        extra = [r for r in g if r not in w][:3]
        lost = [r for r in w if r not in g][:3]
        out.append(f"{t}: {len(g)} rows, expected {len(w)}; extra {extra}; missing {lost}")
    return out
