"""Where a lake's files are and what its manifest says is complete.

    DIR/manifest.json                          what is complete (written last, atomically)
    DIR/<table>/h<first>-<last>.parquet        one file per table and height range

Parts cover aligned height ranges [k·N, k·N + N − 1] (N = part_blocks); the last part may stop
short of its range (the chain's tip), and is written again when the chain has grown. A reader takes
the files the manifest lists, never a glob: a file of an export that was killed before its
manifest entry is not part of the lake.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import pyarrow.fs as pafs

from minerwatch.errors import MinerwatchError
from minerwatch.lake.schema import LAKE_FORMAT, TABLES

MANIFEST = "manifest.json"
PARTIAL_SUFFIX = ".partial"   # a part being written; renamed when its range is done


class LakeError(MinerwatchError):
    """A lake directory that cannot be read or continued."""

    def __reduce__(self) -> tuple:
        # Raised in the export's worker processes too, and sent back pickled: keep the hint.
        return (LakeError, (self.message, self.hint))


@dataclass(frozen=True, slots=True)
class Part:
    first_height: int
    last_height: int
    last_hash: str                       # display hex of the block at last_height
    rows: dict[str, int]                 # rows per table

    def path(self, table: str) -> str:
        return part_path(table, self.first_height, self.last_height)


@dataclass(slots=True)
class Manifest:
    network: str
    part_blocks: int
    format: int = LAKE_FORMAT
    parts: list[Part] = field(default_factory=list)

    @property
    def tip_height(self) -> int:
        """The lake's last height (−1 when empty)."""
        return self.parts[-1].last_height if self.parts else -1

    def files(self, table: str) -> list[str]:
        """The table's files, relative to the lake's root, in height order."""
        return [p.path(table) for p in self.parts]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        return cls(d["network"], d["part_blocks"], d["format"], [Part(**p) for p in d["parts"]])


def part_path(table: str, first: int, last: int) -> str:
    # Ten digits sort every height to 9,999,999,999 in file-name order.
    return f"{table}/h{first:010d}-{last:010d}.parquet"


def open_lake(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, root path) of a local path or any URI pyarrow understands (s3://, gs://, hdfs://, file://)."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), os.path.abspath(uri)
    try:
        fs, root = pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError, NotImplementedError) as e:   # ArrowInvalid, ArrowNotImplementedError
        raise LakeError(f"cannot open the lake {uri}: {e}", "give a local path or a URI pyarrow supports") from e
    return fs, root.rstrip("/")


def read_manifest(fs: pafs.FileSystem, root: str) -> Manifest | None:
    """The lake's manifest, or None when the directory holds none yet."""
    path = f"{root}/{MANIFEST}"
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with fs.open_input_stream(path) as f:
        text = f.read().decode()
    try:
        m = Manifest.from_json(text)
    except (ValueError, KeyError, TypeError) as e:
        raise LakeError(f"{path} is not a lake manifest: {e}", "export into an empty directory") from e
    if m.format != LAKE_FORMAT:
        raise LakeError(f"{path} is lake format {m.format}; this minerwatch writes format {LAKE_FORMAT}",
                        "export into a new directory")
    return m


def write_manifest(fs: pafs.FileSystem, root: str, m: Manifest) -> None:
    """Replace the manifest in one step: written beside it, then moved over it."""
    tmp = f"{root}/{MANIFEST}{PARTIAL_SUFFIX}"
    with fs.open_output_stream(tmp) as f:
        f.write(m.to_json().encode())
    fs.move(tmp, f"{root}/{MANIFEST}")


def remove_partials(fs: pafs.FileSystem, root: str) -> None:
    """Delete what a killed export left half-written (its parts' files, and a manifest being replaced)."""
    manifest_tmp = f"{root}/{MANIFEST}{PARTIAL_SUFFIX}"
    if fs.get_file_info(manifest_tmp).type == pafs.FileType.File:
        fs.delete_file(manifest_tmp)
    for table in TABLES:
        d = f"{root}/{table}"
        if fs.get_file_info(d).type != pafs.FileType.Directory:
            continue
        for info in fs.get_file_info(pafs.FileSelector(d)):
            if info.path.endswith(PARTIAL_SUFFIX):
                fs.delete_file(info.path)
