"""Load and validate a file of published LFR deployment records (one row per deployment).

The format is the Met's deployment grid as copied into ``data/records/`` (its README gives the
provenance): a CSV with the columns of :data:`COLUMNS`. Parsing is pandas (every cell read as
text) and each row is validated by a pydantic model, so a bad cell is reported with its file,
line, column and the fix, and nothing is guessed:

* missing column, empty file, header only, a header repeated mid-file, a file over
  :data:`MAX_FILE_BYTES`, text in a number, a negative count, a threshold outside [0, 1], a date
  not written ``YYYY-MM-DD``: :class:`~twin.errors.RecordsError`;
* usable but inconsistent rows (alerts != true + false alerts, unconfirmed > true alerts, no
  faces figure, no duration): kept, each named in :attr:`RecordSet.warnings`.

Empty ``threshold`` cells are read as 0.60 (the figure quoted for the Met's 2020-22 grid, which
printed none) and flagged ``threshold_assumed``.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from twin.errors import RecordsError
from twin.records.places import Place, normalise_location

__all__ = [
    "COLUMNS",
    "MAX_FILE_BYTES",
    "OPTIONAL_COLUMNS",
    "OUTCOMES",
    "REQUIRED_COLUMNS",
    "DeploymentRecord",
    "RecordSet",
    "load_records",
    "parse_records",
]

#: Columns a records file must have (the Met's grid; see data/records/README.md).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "date", "location", "duration_min", "watchlist_size", "threshold", "faces_seen",
    "alerts", "true_alerts", "false_alerts",
)  # fmt: skip
#: Columns that may be absent (or empty).
OPTIONAL_COLUMNS: tuple[str, ...] = ("true_alerts_unconfirmed", "arrests", "source", "note")
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: The counts a forecast predicts (the rest are published inputs).
OUTCOMES: tuple[str, ...] = ("alerts", "true_alerts", "false_alerts")
#: Largest records file read, bytes (156 deployments take 12 kB; 5 MB is ~60,000).
MAX_FILE_BYTES = 5_000_000
#: Threshold assumed where a row prints none (the Met's setting quoted for 2020-22).
ASSUMED_THRESHOLD = 0.60
#: Upper bounds of the published inputs (far above any deployment: a typo, not a deployment).
MAX_FACES = 10_000_000
MAX_WATCHLIST = 10_000_000
MAX_DURATION_MIN = 24 * 60


class DeploymentRecord(BaseModel):
    """One published deployment, validated.

    Attributes:
        line: line number in the file (the header is line 1).
        date: day of the deployment.
        location: the site as published (free text).
        duration_min: minutes live (None: not published).
        watchlist_size: entries on the watchlist (>= 1).
        threshold: match threshold on the NeoFace [0, 1] scale (0.60 where not published).
        threshold_assumed: True where the threshold cell was empty.
        faces_seen: faces the force says the system processed (None: not published, row unusable).
        alerts, true_alerts, false_alerts: outcomes (None where not published).
        true_alerts_unconfirmed, arrests: optional counts.
        source, note: provenance text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    date: dt.date
    location: str
    duration_min: float | None
    watchlist_size: int
    threshold: float
    threshold_assumed: bool = False
    faces_seen: int | None
    alerts: int | None
    true_alerts: int | None
    false_alerts: int | None
    true_alerts_unconfirmed: int | None = None
    arrests: int | None = None
    source: str = ""
    note: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> dt.date:
        s = str(v).strip()
        try:
            if len(s) != 10:
                raise ValueError
            return dt.date.fromisoformat(s)
        except ValueError:
            raise ValueError(f"{s!r} is not a date written YYYY-MM-DD (e.g. 2024-03-05)") from None

    @field_validator("location", mode="before")
    @classmethod
    def _location(cls, v: Any) -> str:
        s = " ".join(str(v).split())
        if not s:
            raise ValueError("is empty; give the site as published (e.g. 'Croydon, North End')")
        if len(s) > 200:
            raise ValueError(f"is {len(s)} characters long; at most 200")
        return s

    @field_validator("duration_min", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        x = _number(v, whole=False)
        if x is not None and not 0 < x <= MAX_DURATION_MIN:
            raise ValueError(f"{x:g} minutes is outside (0, {MAX_DURATION_MIN}]; minutes the system was live")
        return x

    @field_validator("watchlist_size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> int:
        x = _number(v, whole=True)
        if x is None:
            raise ValueError("is empty; the number of watchlist entries is needed")
        if not 1 <= x <= MAX_WATCHLIST:
            raise ValueError(f"{x:g} is outside [1, {MAX_WATCHLIST:,}]")
        return int(x)

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, v: Any) -> float:
        x = _number(v, whole=False)
        if x is None:
            return math.nan  # filled in by the loader with ASSUMED_THRESHOLD, flagged
        if not 0 <= x <= 1:
            raise ValueError(f"{x:g} is outside [0, 1]; thresholds are on the NeoFace 0-1 scale (e.g. 0.6)")
        return x

    @field_validator(
        "faces_seen",
        "alerts",
        "true_alerts",
        "false_alerts",
        "true_alerts_unconfirmed",
        "arrests",
        mode="before",
    )
    @classmethod
    def _count(cls, v: Any) -> int | None:
        x = _number(v, whole=True)
        if x is not None and not 0 <= x <= MAX_FACES:
            raise ValueError(f"{x:g} is outside [0, {MAX_FACES:,}]; a count of people or alerts")
        return None if x is None else int(x)

    @field_validator("source", "note", mode="before")
    @classmethod
    def _text(cls, v: Any) -> str:
        return " ".join(str(v).split())[:500]


def _number(v: Any, *, whole: bool) -> float | None:
    """A cell as a number: '' -> None; text -> ValueError naming it."""
    s = str(v).strip()
    if s == "":
        return None
    try:
        x = float(s)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{s[:40]!r} is not {kind}") from None
    if not math.isfinite(x):
        raise ValueError(f"{s!r} is not a finite number")
    if whole and x != int(x):
        raise ValueError(f"{s!r} is not a whole number")
    return x


@dataclass(frozen=True, kw_only=True)
class RecordSet:
    """Validated deployment records.

    Attributes:
        source: the file they came from (for messages).
        records: one :class:`DeploymentRecord` per data row, in file order.
        places: the normalised location of each record (:func:`twin.records.places.normalise_location`).
        warnings: inconsistent but kept rows, each named by file and line.
    """

    source: str
    records: tuple[DeploymentRecord, ...]
    places: tuple[Place, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.records)

    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame: the file's columns plus ``line``, ``threshold_assumed``,
        ``place`` (normalised key), ``site_id`` (a modelled site or None), ``kind``
        (central / event / town_centre), ``site_match`` (exact / approximate / none) and ``file``."""
        rows = []
        for r, p in zip(self.records, self.places, strict=True):
            d = r.model_dump()
            d.update(place=p.key, site_id=p.site_id, kind=p.kind, site_match=p.match, file=self.source)
            rows.append(d)
        df = pd.DataFrame(rows)
        if len(df):
            df["date"] = pd.to_datetime(df["date"])
        return df


def load_records(path: Path | str) -> RecordSet:
    """Read and validate a records CSV.

    Args:
        path: a CSV with the columns :data:`REQUIRED_COLUMNS` (and optionally :data:`OPTIONAL_COLUMNS`).

    Returns:
        :class:`RecordSet`.

    Raises:
        RecordsError: missing or unreadable file, over :data:`MAX_FILE_BYTES`, not UTF-8, empty,
            header only, a missing column, a repeated header row, or a bad cell (file, line,
            column and the fix in the message).
    """
    path = Path(path)
    if not path.exists():
        raise RecordsError(
            f"records file {str(path)!r} not found; give the path of a deployments CSV "
            "(e.g. data/records/met_deployments_2020-02_2024-09.csv)"
        )
    if not path.is_file():
        raise RecordsError(f"records file {str(path)!r} is a folder; give the path of a CSV file inside it")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RecordsError(
            f"{path}: {size / 1e6:.1f} MB; records files are capped at {MAX_FILE_BYTES / 1e6:.0f} MB "
            "(~60,000 deployments): split it into files by period"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordsError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    return parse_records(raw, source=str(path))


def parse_records(data: bytes, *, source: str = "<records>") -> RecordSet:
    """Validate records given as CSV bytes (what :func:`load_records` reads); same errors."""
    if len(data) > MAX_FILE_BYTES:
        raise RecordsError(
            f"{source}: {len(data) / 1e6:.1f} MB; records are capped at {MAX_FILE_BYTES / 1e6:.0f} MB"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordsError(f"{source}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from exc
    if not text.strip():
        raise RecordsError(
            f"{source}: the file is empty; expected a header line: {','.join(REQUIRED_COLUMNS)}"
        )
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise RecordsError(
            f"{source}: not a readable CSV ({str(exc).strip()[:160]}); "
            "check quoting and the number of commas per line"
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise RecordsError(
            f"{source}: missing column(s) {', '.join(missing)}; the header must name "
            f"{','.join(REQUIRED_COLUMNS)} (optional: {','.join(OPTIONAL_COLUMNS)})"
        )
    if len(df) == 0:
        raise RecordsError(f"{source}: header only, no deployment rows; add one row per deployment")
    warnings = []
    extra = [c for c in df.columns if c not in COLUMNS]
    if extra:
        warnings.append(f"{source}: column(s) {', '.join(extra)} are not part of the format and are ignored")
    records = []
    for i, row in enumerate(df.to_dict("records")):
        line = i + 2
        if all(str(row.get(c, "")).strip() == c for c in REQUIRED_COLUMNS):
            raise RecordsError(f"{source}: line {line} repeats the header; remove it (files joined by hand?)")
        doc = {c: row.get(c, "") for c in COLUMNS if c in df.columns}
        try:
            rec = DeploymentRecord.model_validate({"line": line, **doc})
        except ValidationError as exc:
            err = exc.errors()[0]
            col = str(err["loc"][0]) if err["loc"] else "?"
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise RecordsError(f"{source}: line {line}, column {col}: {msg}") from None
        if math.isnan(rec.threshold):
            rec = rec.model_copy(update={"threshold": ASSUMED_THRESHOLD, "threshold_assumed": True})
        warnings.extend(_row_warnings(rec, source))
        records.append(rec)
    places = tuple(normalise_location(r.location) for r in records)
    return RecordSet(source=source, records=tuple(records), places=places, warnings=tuple(warnings))


def _row_warnings(r: DeploymentRecord, source: str) -> list[str]:
    """Inconsistent but usable rows, each named."""
    at = f"{source}: line {r.line} ({r.date}, {r.location})"
    out = []
    if r.faces_seen is None:
        out.append(f"{at}: no faces_seen figure; the row is not used")
    elif None in (r.alerts, r.true_alerts, r.false_alerts):
        out.append(
            f"{at}: alerts, true_alerts or false_alerts missing; the row can be forecast but not scored"
        )
    elif r.alerts != (r.true_alerts or 0) + (r.false_alerts or 0):
        out.append(
            f"{at}: alerts {r.alerts} != true {r.true_alerts} + false {r.false_alerts}; kept as published"
        )
    if (
        r.true_alerts_unconfirmed is not None
        and r.true_alerts is not None
        and r.true_alerts_unconfirmed > r.true_alerts
    ):
        out.append(
            f"{at}: unconfirmed true alerts {r.true_alerts_unconfirmed} exceed true alerts {r.true_alerts}"
        )
    return out
