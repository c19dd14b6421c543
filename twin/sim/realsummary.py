"""What the real pass records: its alerts, the stages' results, and the summary's ``real_engine`` section.

The section's rates are per pass (a person's pass through the zone), one alert per person, as in
:mod:`twin.scoring.metrics`: TPIR = watchlisted people run with a true alert / watchlisted people run;
FPIR = non-listed people run with any alert / non-listed people run; Wilson 95% intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.recognition.pipeline import QualityGate
from twin.recognition.watchlist import Watchlist

if TYPE_CHECKING:
    from twin.recognition.faces.bank import FaceSource
    from twin.recognition.pipeline import Alert
    from twin.scoring.metrics import RepData
    from twin.sim.context import Context

__all__ = [
    "Enrolled",
    "Identities",
    "Passed",
    "RealAlert",
    "RealEngineRun",
    "Selection",
    "rate",
    "real_engine_section",
    "wilson_interval",
]


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """Wilson score interval of a binomial proportion k/n (95% by default); None when n = 0.

    Wilson (1927), J. Am. Stat. Assoc. 22: 209-212.

    >>> [round(v, 3) for v in wilson_interval(8, 10)]
    [0.49, 0.943]
    >>> wilson_interval(0, 0) is None
    True
    """
    if n <= 0:
        return None
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, kw_only=True)
class RealAlert:
    """One alert of the real pipeline, matched back to the simulated person.

    Attributes:
        name: file stem under ``alerts/`` (``alert-0001``), in time order of processing.
        alert: the pipeline's :class:`~twin.recognition.pipeline.Alert` (probe crop, candidate list).
        t_s: the capture time of the probe it came from, s from the window start.
        person: the simulated person, or None (a detection matched to no placed probe).
        watchlisted: that person is on the watchlist.
        true_alert: watchlisted and the top candidate is their own identity.
    """

    name: str
    alert: Alert
    t_s: float
    person: int | None
    watchlisted: bool
    true_alert: bool


@dataclass(kw_only=True)
class RealEngineRun:
    """What the real pass produced: the summary section, the alerts (with crops), audit entries.

    Attributes:
        summary: JSON-ready ``summary["real_engine"]`` (no timings: summaries are deterministic).
        alerts: :class:`RealAlert` in processing order.
        audit: (kind, detail) audit entries in the order things happened.
        elapsed_s: wall-clock seconds of the pass.
        watchlist: the real watchlist, in memory, where the plan's ``governance.retention.watchlist`` is
            ``keep`` (None: destroyed at the end of the pass, the default). It is never written.
    """

    summary: dict[str, Any]
    alerts: list[RealAlert] = field(default_factory=list)
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    elapsed_s: float = 0.0
    watchlist: Any = None


def rate(k: int, n: int, definition: str) -> dict[str, Any]:
    ci = wilson_interval(k, n)
    return {
        "value": (k / n) if n else None,
        "k": int(k),
        "n": int(n),
        "ci95": None if ci is None else [round(ci[0], 6), round(ci[1], 6)],
        "definition": definition,
    }


@dataclass(kw_only=True)
class Enrolled:
    """Stage 1: the watchlist (real entries and fillers) and who passes by."""

    watchlist: Watchlist
    enrolled: list[str]
    passers: list[str]
    dropped: list[str]
    filler_info: dict[str, Any] | None
    meta: dict[str, Any]
    bank_identities: int


@dataclass
class Selection:
    """Stage 2: the usable tracks and those run through the pipeline."""

    tracks: pd.DataFrame
    usable: int
    watchlisted_usable: int
    budget: int


@dataclass
class Identities:
    """Stage 3: each person's identity and probe image, and how many mated probes reuse the enrolment
    image."""

    identities: dict[int, str]
    sources: dict[int, FaceSource]
    from_enrolment: int


@dataclass(kw_only=True)
class Passed:
    """Stage 5: what the pipeline did: alerts, people alerted, probes placed, its counters."""

    alerts: list[RealAlert] = field(default_factory=list)
    placed: int = 0
    true_people: set[int] = field(default_factory=set)
    alerted_people: set[int] = field(default_factory=set)
    counters: Any = None


def real_engine_section(
    ctx: Context,
    rep: RepData,
    sel: Selection,
    enr: Enrolled,
    who: Identities,
    passed: Passed,
    *,
    engine: Any,
    threshold: float,
    threshold_source: str,
    gate: QualityGate,
    wl_person: np.ndarray,
    render: dict[str, Any],
) -> dict[str, Any]:
    """The summary's ``real_engine`` section (stage 6 of :func:`twin.sim.realpass.run_real_engine`).

    ``render`` is the probes' render settings and failures (``noise_sd``, ``jpeg_quality``, ``failed``).
    """
    sc = ctx.scenario
    alerts, counters = passed.alerts, passed.counters
    n_run, M, wl_meta = len(sel.tracks), sel.usable, enr.meta
    n_true = sum(a.true_alert for a in alerts)
    sampled = n_run < M
    extrapolated = sampled or wl_meta["extrapolated"]
    reasons = []
    if sampled:
        reasons.append(f"{n_run} of {M} usable captures sampled (all watchlisted first)")
    if wl_meta["extrapolated"]:
        reasons.append(f"{wl_meta['fillers']:,} of {wl_meta['entries']:,} watchlist entries are fillers")
    statement = f"real engine: {n_run} of {M} usable captures run" + (
        "; rates extrapolated" if extrapolated else ""
    )
    people, rates = _people_and_rates(rep, sel, passed, wl_person)
    summary: dict[str, Any] = {
        "engine": _engine(sc.engine.kind, engine),
        "threshold": threshold,
        "threshold_source": threshold_source,
        "replication": 0,
        "statement": statement,
        "extrapolated": bool(extrapolated),
        "extrapolated_because": reasons,
        "sampling": _sampling(sel),
        "faces": _faces(sc.engine.faces, enr, who),
        "watchlist": {**wl_meta, "filler_fit": enr.filler_info, "destroyed": enr.watchlist.is_destroyed},
        "render": dict(render),
        "gate": {"min_ied_px": round(gate.min_ied_px, 3), "max_abs_yaw_deg": gate.max_abs_yaw_deg},
        "frames": counters.frames,
        "probes_placed": passed.placed,
        "faces_detected": counters.faces_detected,
        "gated_out": dict(counters.gated_out),
        "probes_searched": counters.probes_searched,
        "probes_deleted": counters.probes_deleted,
        "alerts": len(alerts),
        "true_alerts": int(n_true),
        "false_alerts": len(alerts) - int(n_true),
        "false_alerts_on_fillers": sum(bool(a.alert.is_filler) for a in alerts),
        "alerts_without_person": sum(a.person is None for a in alerts),
        "people": people,
        "rates": rates,
        "statistical_figures": (
            f"the other sections are the statistical engine ({ctx.score_model.model_id}, threshold "
            f"{ctx.threshold:g} on its scale) over every replication; this section is the real engine on "
            "replication 0"
        ),
    }
    sm = ctx.score_model.score_map
    if sm is not None and sm.model_id != engine.model_id:
        summary["score_map_warning"] = (
            f"engine.score_model was calibrated on {sm.model_id}, not {engine.model_id}: "
            "its threshold translation does not apply to this engine"
        )
    return summary


def _sampling(sel: Selection) -> dict[str, Any]:
    return {
        "usable_captures": sel.usable,
        "probes_run": len(sel.tracks),
        "watchlisted_usable": sel.watchlisted_usable,
        "max_real_probes": sel.budget,
        "rule": "every watchlisted track first, then non-listed tracks drawn "
        "uniformly with the 'render' random stream",
    }


def _faces(bank_folder: Any, enr: Enrolled, who: Identities) -> dict[str, Any]:
    return {
        "bank": str(bank_folder) if bank_folder else "sample photos (twin samples)",
        "identities": enr.bank_identities,
        "enrolled": enr.enrolled,
        "passer_by_identities": len(enr.passers),
        "dropped_no_face": enr.dropped,
        "mated_probes_from_enrolment_image": who.from_enrolment,
    }


def _engine(kind: str, engine: Any) -> dict[str, Any]:
    """What the engine declares of itself, and its model files and providers where it has them."""
    out = {
        "kind": kind,
        "model_id": engine.model_id,
        "score_name": engine.score_name,
        "score_range": list(engine.score_range),
        "default_threshold": engine.default_threshold,
    }
    if hasattr(engine, "model_files"):
        out["model_files"] = dict(engine.model_files)
        out["providers"] = list(getattr(engine, "providers", []))
    return out


def _people_and_rates(
    rep: RepData, sel: Selection, passed: Passed, wl_person: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Who was run and alerted, and the measured per-pass TPIR and FPIR with Wilson intervals."""
    run_people = {int(p) for p in sel.tracks["person"].to_numpy(np.int64)}
    wl_run = sorted(p for p in run_people if wl_person[p])
    nl_run = sorted(p for p in run_people if not wl_person[p])
    in_zone_wl = 0
    if len(rep.track_person):  # passes through a zone, or with a usable capture (a head turned into view)
        passing = np.unique(rep.track_person[rep.track_in_zone | (rep.track_usable > 0)])
        in_zone_wl = int(wl_person[passing].sum())
    all_wl_run = sel.watchlisted_usable <= sel.budget
    true_wl = len(passed.true_people & set(wl_run))
    alerted_nl = len(passed.alerted_people & set(nl_run))
    people = {
        "watchlisted_run": len(wl_run),
        "watchlisted_true_alert": true_wl,
        "not_listed_run": len(nl_run),
        "not_listed_alerted": alerted_nl,
    }
    rates = {
        "tpir": rate(
            true_wl,
            len(wl_run),
            "watchlisted people run with a true alert / watchlisted people run (per pass with a usable "
            "capture; detection failures count as misses)",
        ),
        "fpir": rate(
            alerted_nl,
            len(nl_run),
            "non-listed people run with any alert / non-listed people run (per face scanned)",
        ),
        "tpir_in_zone": rate(
            true_wl,
            in_zone_wl,
            "watchlisted people with a true alert / watchlisted passes through the zone of "
            "replication 0 (capture failures count as misses, NPL's definition)",
        )
        if all_wl_run
        else None,
    }
    return people, rates
