"""The run summary, typed: frozen dataclasses for the sections of ``summary.json``.

One dataclass per section of the file, each with its ``from_json``/``to_json`` (the flat ones
through ``_Flat``), so the file's whole shape is in one place.

A run's summary is what ``summary.json`` holds (its shape on disk is fixed: the golden summaries
pin it). Inside the library it is a :class:`RunSummary`; ``to_json()`` gives the file's mapping,
key for key, and :meth:`RunSummary.from_json` reads one back (a partial mapping, as a test or an
older file gives, leaves the missing parts ``None``). A :class:`RunSummary` also reads as that
mapping (``summary["totals"]``), for code that has not moved to the attributes. Figures are looked
up by metric id (:meth:`RunSummary.band`, the table in :mod:`twin.scoring.metric_table`).

Long on purpose: one frozen dataclass per section of ``summary.json``, so the file's whole shape
reads top to bottom in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Self, cast

from twin.scoring.metric_table import (
    CROWD,
    EQUITABILITY,
    HOURLY,
    INTERVAL,
    MODEL,
    OPERATIONS,
    OPS_BAND_SECTIONS,
    PER_HOUR,
    RATES,
    REAL_ENGINE,
    REPLICATIONS,
    RUN,
    SCORED_WITH,
    TOTALS,
    Band,
    Metric,
    metric,
)

__all__ = [
    "MODEL_INTERVALS",
    "CrowdFigures",
    "Equitability",
    "GroupRates",
    "ModelFigures",
    "OfficersNeeded",
    "OperationsSummary",
    "RunMeta",
    "RunSummary",
    "ScoredWith",
    "SiteMeta",
    "ThresholdSweep",
    "WindowMeta",
]


# -- typed sections -------------------------------------------------------------------------------


def _bands(d: Mapping[str, Any] | None) -> dict[str, Band] | None:
    return None if d is None else {k: Band.from_json(v) for k, v in d.items()}


def _bands_json(d: Mapping[str, Band]) -> dict[str, Any]:
    return {k: v.to_json() for k, v in d.items()}


def _v(d: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``d[key]`` if there, else ``default`` (untyped: the JSON's own value)."""
    return d.get(key, default)


def _fields(cls: Any, d: Mapping[str, Any]) -> dict[str, Any]:
    return {f.name: _v(d, f.name) for f in dataclasses.fields(cls)}


class _Flat:
    """A section whose JSON keys are its dataclass fields, in order (a missing key reads as None)."""

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls(**_fields(cls, d))

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(cast(Any, self))}


@dataclass(frozen=True, kw_only=True)
class ScoredWith(_Flat):
    """What the alerts were scored with: threshold (the engine's scale), watchlist size, prevalence."""

    threshold: float | None = None
    watchlist_size: int | None = None
    prevalence: float | None = None


#: A model figure and the key of its analytic 95% predictive interval ([lo, hi]) in the model section.
MODEL_INTERVALS: dict[str, str] = {
    "expected_false_alerts": "false_alerts_interval",
    "expected_true_alerts": "true_alerts_interval",
}


@dataclass(frozen=True, kw_only=True)
class ModelFigures(_Flat):
    """The score model's analytic figures at the scored threshold and watchlist size."""

    model_id: str | None = None
    fmr_at_threshold: float | None = None
    fpir_at_threshold: float | None = None
    fpir_definition: str | None = None
    expected_false_alerts: float | None = None
    expected_false_alerts_definition: str | None = None
    expected_true_alerts: float | None = None
    false_alerts_interval: tuple[float, float] | None = None
    true_alerts_interval: tuple[float, float] | None = None
    fmr_dispersion: float | None = None
    prevalence_dispersion: float | None = None
    model_interval_definition: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if (
            self.expected_false_alerts_definition is None
        ):  # summaries written before the expectation was added
            del out["expected_false_alerts"], out["expected_false_alerts_definition"]
        if self.model_interval_definition is None:  # summaries written before the model's intervals
            for k in (
                "expected_true_alerts",
                "false_alerts_interval",
                "true_alerts_interval",
                "fmr_dispersion",
                "prevalence_dispersion",
                "model_interval_definition",
            ):
                del out[k]
        for k in ("false_alerts_interval", "true_alerts_interval"):
            if out.get(k) is not None:
                out[k] = list(out[k])
        return out


@dataclass(frozen=True, kw_only=True)
class GroupRates(_Flat):
    """One demographic group's rates at the threshold (:mod:`twin.scoring.equitability`)."""

    group: str
    share: float
    fmr: float
    fpir: float
    tpir: float
    fmr_ratio_param: float
    mated_shift: float


@dataclass(frozen=True, kw_only=True)
class ThresholdSweep:
    """FPIR per group and the highest/lowest ratio over a range of thresholds."""

    thresholds: Sequence[float]
    fpir: Mapping[str, Sequence[float]]
    ratio: Sequence[float]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ThresholdSweep:
        return cls(thresholds=d.get("thresholds") or [], fpir=d.get("fpir") or {}, ratio=d.get("ratio") or [])

    def to_json(self) -> dict[str, Any]:
        return {
            "thresholds": list(self.thresholds),
            "fpir": {k: list(v) for k, v in self.fpir.items()},
            "ratio": list(self.ratio),
        }


@dataclass(frozen=True, kw_only=True)
class Equitability:
    """The equitability section: per-group rates at the threshold, their FPIR ratio, and the sweep."""

    basis: str = ""
    threshold: float | None = None
    groups: Sequence[GroupRates] = ()
    fpir_ratio: float | None = None
    sweep: ThresholdSweep | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Equitability:
        sw = d.get("sweep")
        return cls(
            basis=d.get("basis", ""),
            threshold=d.get("threshold"),
            groups=tuple(GroupRates.from_json(g) for g in d.get("groups", [])),
            fpir_ratio=d.get("fpir_ratio"),
            sweep=None if sw is None else ThresholdSweep.from_json(sw),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "threshold": self.threshold,
            "groups": [g.to_json() for g in self.groups],
            "fpir_ratio": self.fpir_ratio,
            "sweep": None if self.sweep is None else self.sweep.to_json(),
        }


@dataclass(frozen=True, kw_only=True)
class SiteMeta(_Flat):
    """The site a run used (``run.site``)."""

    id: str
    name: str
    map_sha256: str
    approximate: bool
    area_m2: float
    routes: int


@dataclass(frozen=True, kw_only=True)
class WindowMeta:
    """The simulated window (``run.window``): clock start, length (s) and expected passers-by."""

    start: str
    duration_s: float
    expected_passers_by: float

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> WindowMeta:
        return cls(
            start=_v(d, "start", ""),
            duration_s=_v(d, "duration_s", 0.0),
            expected_passers_by=_v(d, "expected_passers_by"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "duration_s": self.duration_s,
            "expected_passers_by": self.expected_passers_by,
        }


@dataclass(frozen=True, kw_only=True)
class RunMeta:
    """What was run (``run``): scenario and its hash, site, seed, replications, version, engine, window.

    ``engine`` (kind, model_id, params) and ``real_engine`` (kind and thresholds of a real-engine
    run) stay mappings: they echo the engine's own parameters.
    """

    scenario: str
    scenario_sha256: str
    site: SiteMeta
    seed: int
    replications: int
    twin_version: str
    engine: Mapping[str, Any]
    window: WindowMeta
    cameras: Sequence[str] = ()
    warnings: Sequence[str] = ()
    real_engine: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunMeta:
        return cls(
            scenario=d.get("scenario", ""),
            scenario_sha256=d.get("scenario_sha256", ""),
            site=SiteMeta.from_json(d.get("site") or {}),
            seed=_v(d, "seed"),
            replications=_v(d, "replications"),
            twin_version=d.get("twin_version", ""),
            engine=d.get("engine") or {},
            window=WindowMeta.from_json(d.get("window") or {}),
            cameras=tuple(d.get("cameras", ())),
            warnings=tuple(d.get("warnings", ())),
            real_engine=d.get("real_engine"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "scenario_sha256": self.scenario_sha256,
            "site": self.site.to_json(),
            "seed": self.seed,
            "replications": self.replications,
            "twin_version": self.twin_version,
            "engine": dict(self.engine),
        }
        if self.real_engine is not None:
            out["real_engine"] = dict(self.real_engine)
        out.update(
            {"window": self.window.to_json(), "cameras": list(self.cameras), "warnings": list(self.warnings)}
        )
        return out


@dataclass(frozen=True, kw_only=True)
class CrowdFigures:
    """Crowd figures over replications: peak pedestrian density (p/m²), mean and max."""

    peak_density_p_m2: Mapping[str, float]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CrowdFigures:
        return cls(peak_density_p_m2=dict(d.get("peak_density_p_m2") or {}))

    def to_json(self) -> dict[str, Any]:
        return {"peak_density_p_m2": dict(self.peak_density_p_m2)}


@dataclass(frozen=True, kw_only=True)
class OfficersNeeded:
    """The officers-needed curve (:func:`twin.sim.operations.officers_curve`)."""

    target_engaged_share: float | None = None
    officers: Sequence[int] = ()
    engaged_true_share: Sequence[float | None] = ()
    wrongful_stops: Sequence[float] = ()
    arrests: Sequence[float] = ()
    officer_utilisation: Sequence[float | None] = ()
    officers_needed: int | None = None
    true_alerts: int | None = None
    note: str = ""

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> OfficersNeeded:
        return cls(
            target_engaged_share=d.get("target_engaged_share"),
            officers=d.get("officers") or [],
            engaged_true_share=d.get("engaged_true_share") or [],
            wrongful_stops=d.get("wrongful_stops") or [],
            arrests=d.get("arrests") or [],
            officer_utilisation=d.get("officer_utilisation") or [],
            officers_needed=d.get("officers_needed"),
            true_alerts=d.get("true_alerts"),
            note=d.get("note") or "",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "target_engaged_share": self.target_engaged_share,
            "officers": list(self.officers),
            "engaged_true_share": list(self.engaged_true_share),
            "wrongful_stops": list(self.wrongful_stops),
            "arrests": list(self.arrests),
            "officer_utilisation": list(self.officer_utilisation),
            "officers_needed": self.officers_needed,
            "true_alerts": self.true_alerts,
            "note": self.note,
        }


@dataclass(frozen=True, kw_only=True)
class OperationsSummary:
    """The operations section: review and response bands, and the officers needed.

    ``settings`` (the scenario's operations block) and ``definitions`` stay mappings.
    """

    settings: Mapping[str, Any] = field(default_factory=dict)
    totals: Mapping[str, Band] = field(default_factory=dict)
    per_hour_rate: Mapping[str, Band] = field(default_factory=dict)
    times_s: Mapping[str, Band] = field(default_factory=dict)
    rates: Mapping[str, Band] = field(default_factory=dict)
    officers_needed: OfficersNeeded | None = None
    interval: str = ""
    definitions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> OperationsSummary:
        need = d.get("officers_needed")
        return cls(
            settings=d.get("settings") or {},
            totals=_bands(d.get("totals")) or {},
            per_hour_rate=_bands(d.get("per_hour_rate")) or {},
            times_s=_bands(d.get("times_s")) or {},
            rates=_bands(d.get("rates")) or {},
            officers_needed=OfficersNeeded.from_json(need) if isinstance(need, Mapping) else None,
            interval=d.get("interval") or "",
            definitions=d.get("definitions") or {},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": dict(self.settings),
            "totals": _bands_json(self.totals),
            "per_hour_rate": _bands_json(self.per_hour_rate),
            "times_s": _bands_json(self.times_s),
            "rates": _bands_json(self.rates),
            "officers_needed": None if self.officers_needed is None else self.officers_needed.to_json(),
            "interval": self.interval,
            "definitions": dict(self.definitions),
        }

    def bands(self, name: str) -> Mapping[str, Band]:
        """One of :data:`OPS_BAND_SECTIONS` by name."""
        if name not in OPS_BAND_SECTIONS:
            raise KeyError(f"no operations section {name!r}; sections: {', '.join(OPS_BAND_SECTIONS)}")
        return getattr(self, name)  # type: ignore[no-any-return]


@dataclass(frozen=True, kw_only=True, eq=False)
class RunSummary(Mapping[str, Any]):
    """A run's summary: every metric's band over replications, and what was run.

    Sections other than the scored core are None where a run (or a partial mapping read with
    :meth:`from_json`) has none. Reads as its JSON mapping too (``summary["totals"]``); compare
    two summaries with ``==`` on that mapping.
    """

    replications: int | None = None
    interval: str | None = None
    scored_with: ScoredWith | None = None
    totals: Mapping[str, Band] = field(default_factory=dict)
    per_hour_rate: Mapping[str, Band] = field(default_factory=dict)
    rates: Mapping[str, Band] = field(default_factory=dict)
    hourly: Mapping[str, Sequence[Band]] = field(default_factory=dict)
    model: ModelFigures | None = None
    equitability: Equitability | None = None
    run: RunMeta | None = None
    crowd: CrowdFigures | None = None
    operations: OperationsSummary | None = None
    #: The real pipeline's section (:mod:`twin.sim.realpass`), kept as its JSON mapping.
    real_engine: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunSummary:
        """Read a summary mapping (``summary.json``'s content, or part of it)."""
        if isinstance(d, RunSummary):
            return d
        hourly = d.get(HOURLY)
        return cls(
            replications=d.get(REPLICATIONS),
            interval=d.get(INTERVAL),
            scored_with=ScoredWith.from_json(d[SCORED_WITH]) if SCORED_WITH in d else None,
            totals=_bands(d.get(TOTALS)) or {},
            per_hour_rate=_bands(d.get(PER_HOUR)) or {},
            rates=_bands(d.get(RATES)) or {},
            hourly={k: tuple(Band.from_json(b) for b in v) for k, v in (hourly or {}).items()},
            model=ModelFigures.from_json(d[MODEL]) if MODEL in d else None,
            equitability=Equitability.from_json(d[EQUITABILITY]) if d.get(EQUITABILITY) else None,
            run=RunMeta.from_json(d[RUN]) if d.get(RUN) else None,
            crowd=CrowdFigures.from_json(d[CROWD]) if d.get(CROWD) else None,
            operations=OperationsSummary.from_json(d[OPERATIONS]) if d.get(OPERATIONS) else None,
            real_engine=d.get(REAL_ENGINE) or None,
        )

    coerce = from_json

    def to_json(self) -> dict[str, Any]:
        """The summary as ``summary.json`` holds it (sections in :data:`SECTIONS` order; absent ones left
        out)."""
        return dict(self._json)

    @cached_property
    def _json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.replications is not None:
            out[REPLICATIONS] = self.replications
        if self.interval is not None:
            out[INTERVAL] = self.interval
        if self.scored_with is not None:
            out[SCORED_WITH] = self.scored_with.to_json()
        for name, bands in ((TOTALS, self.totals), (PER_HOUR, self.per_hour_rate), (RATES, self.rates)):
            if bands:
                out[name] = _bands_json(bands)
        if self.hourly:
            out[HOURLY] = {k: [b.to_json() for b in v] for k, v in self.hourly.items()}
        for name in (MODEL, EQUITABILITY, RUN, CROWD, OPERATIONS):
            part = getattr(self, name)
            if part is not None:
                out[name] = part.to_json()
        if self.real_engine is not None:
            out[REAL_ENGINE] = dict(self.real_engine)
        return out

    def replace(self, **sections: Any) -> RunSummary:
        """A copy with some sections replaced (e.g. a re-scored summary given the run's metadata)."""
        return dataclasses.replace(self, **sections)

    def filled_from(self, other: RunSummary) -> RunSummary:
        """A copy with the sections this summary lacks taken from ``other`` (a re-scored summary given
        its run's ``run``, ``crowd`` and ``real_engine``)."""
        missing = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) in (None, {}) and getattr(other, f.name) not in (None, {})
        }
        return dataclasses.replace(self, **missing)

    # -- the metric table's view of it --------------------------------------------------------

    def section(self, path: str) -> Mapping[str, Any] | None:
        """The mapping of bands (or values) at a metric's section path (``totals``, ``operations.rates``,
        ...)."""
        if path in (TOTALS, PER_HOUR, RATES):
            return getattr(self, {TOTALS: "totals", PER_HOUR: "per_hour_rate", RATES: "rates"}[path])  # type: ignore[no-any-return]
        if path == MODEL:
            return (
                None
                if self.model is None
                else {f.name: getattr(self.model, f.name) for f in dataclasses.fields(self.model)}
            )
        head, _, rest = path.partition(".")
        if head == OPERATIONS and rest:
            return None if self.operations is None else self.operations.bands(rest)
        raise KeyError(f"no metric section {path!r} in a run summary")

    def value(self, m: Metric | str) -> Band | float | None:
        """A metric's band (or, for a model figure, its value); None where this summary lacks it.

        Raises:
            KeyError: not a metric of :data:`METRICS`.
        """
        mt = metric(m) if isinstance(m, str) else m
        sec = self.section(mt.section)
        if sec is None:
            return None
        v = sec.get(mt.key)
        if isinstance(v, Mapping):
            return Band.from_json(v)
        return v  # type: ignore[no-any-return]

    def band(self, m: Metric | str) -> Band | None:
        """A metric's band; a model figure as a band without interval; None where missing.

        Raises:
            KeyError: not a metric of :data:`METRICS`.
        """
        v = self.value(m)
        if v is None or isinstance(v, Band):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            mt = metric(m) if isinstance(m, str) else m
            iv = self.section(mt.section).get(MODEL_INTERVALS.get(mt.key, ""))  # type: ignore[union-attr]
            if mt.section == MODEL and isinstance(iv, (list, tuple)) and len(iv) == 2:
                return Band(mean=float(v), p2_5=float(iv[0]), p97_5=float(iv[1]))
            return Band(mean=float(v), p2_5=None, p97_5=None)
        return None

    # -- read-only mapping over the JSON form ----------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._json == (other._json if isinstance(other, RunSummary) else dict(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
