"""A sweep's folder: its manifest, its rows as a Parquet dataset appended as cells finish, its summary.

Layout of ``sweep-<name>/``::

    sweep.json        the manifest: scenario (its mapping and folder), grid axes, seed, replications,
                      points, twin version; written once, with the folder, atomically
    rows/part-*.parquet  one file per flush of finished cells (each written to a temporary name,
                      then renamed: a part is either whole or absent)
    summary.csv, sweep.html  written when every cell is done (never overwritten)

Rows are flushed every :data:`FLUSH_ROWS` rows or :data:`FLUSH_S` seconds, so an interruption loses
at most that much work and memory does not grow with the sweep. A resumed sweep reads which cells
exist (the ``cell`` column only) and runs the others.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin._version import __version__
from twin.errors import RunFolderError
from twin.outputs.folders import atomic_folder

__all__ = ["FLUSH_ROWS", "FLUSH_S", "MANIFEST", "SweepStore", "create_sweep_folder", "open_sweep_folder"]

#: Flush buffered rows after this many rows, or this many seconds since the last flush.
FLUSH_ROWS = 64
FLUSH_S = 2.0
#: The manifest's file name.
MANIFEST = "sweep.json"


def create_sweep_folder(out_dir: Path | str, base: str, manifest: dict[str, Any]) -> Path:
    """Create ``out_dir/base`` (or the next free name) atomically with its manifest and an empty ``rows/``.

    Raises:
        RunFolderError: ``out_dir`` cannot be written.
    """
    with atomic_folder(out_dir, base) as f:
        (f.tmp / "rows").mkdir()
        doc = {**manifest, "twin_version": __version__}
        (f.tmp / MANIFEST).write_text(
            json.dumps(doc, indent=1, sort_keys=True, default=str), encoding="utf-8"
        )
    return f.final


def open_sweep_folder(folder: Path | str) -> dict[str, Any]:
    """The manifest of an existing sweep folder.

    Raises:
        RunFolderError: not a sweep folder (no readable ``sweep.json``).
    """
    path = Path(folder) / MANIFEST
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise RunFolderError(
            f"{str(folder)!r} is not a sweep folder (no readable {MANIFEST}); give a folder that "
            "twin sweep wrote, e.g. runs/sweep-oxford_circus"
        ) from exc


class SweepStore:
    """Appends a sweep's rows to ``folder/rows`` as Parquet parts, and reads them back.

    Args:
        folder: a sweep folder (:func:`create_sweep_folder`).
        columns: the row columns in order (every row has them all).
    """

    def __init__(self, folder: Path | str, columns: Sequence[str]) -> None:
        self.folder = Path(folder)
        self.rows_dir = self.folder / "rows"
        self.columns = tuple(columns)
        self._buf: list[dict[str, Any]] = []
        self._last = time.monotonic()
        existing = sorted(self.rows_dir.glob("part-*.parquet"))
        self._next = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=0)

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Buffer ``rows``; flush when the buffer is full or old."""
        self._buf.extend(rows)
        if len(self._buf) >= FLUSH_ROWS or time.monotonic() - self._last >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one new part (temporary name, then rename)."""
        self._last = time.monotonic()
        if not self._buf:
            return
        table = pa.Table.from_pylist([{c: r.get(c) for c in self.columns} for r in self._buf])
        path = self.rows_dir / f"part-{self._next:06d}.parquet"
        tmp = self.rows_dir / f".{path.name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        self._next += 1
        self._buf = []

    def done_cells(self) -> set[str]:
        """Ids of the cells already on disk."""
        parts = sorted(self.rows_dir.glob("part-*.parquet"))
        out: set[str] = set()
        for p in parts:
            out.update(pq.read_table(p, columns=["cell"]).column("cell").to_pylist())
        return out

    def frame(self) -> pd.DataFrame:
        """Every row on disk, sorted by point then replication."""
        parts = sorted(self.rows_dir.glob("part-*.parquet"))
        if not parts:
            return pd.DataFrame(columns=list(self.columns))
        df = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
        return df.drop_duplicates("cell").sort_values(["point", "rep"]).reset_index(drop=True)
