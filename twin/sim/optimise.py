"""Where should the vans stand: candidate van poses scored on one simulated crowd, K chosen under constraints.

Common random numbers (one crowd, many placements): where people arrive, which route they take,
how fast they walk and how crowded their route is do not depend on the cameras (:mod:`twin.sim.crowd`;
the one exception, people who avoid zones choosing their route by them, ``crowd.avoid_share``, is
held at the scenario's own placement, :func:`zone_markers`). So each replication's crowd is simulated
once and every candidate van's cameras capture the *same* stored walkers: the
per route x camera view tables and the per-walker reduction of :mod:`twin.world.capture`
(:func:`twin.world.placement.view_tables_near` cuts the tables to where faces can be usable).
Differences between candidates are then differences of placement, not of crowd noise.

Per walker i and van j the capture stage gives each camera's best usable capture; the chance it
raises a true alert were i on the watchlist is P(mated score >= threshold) with the mated score
N(mated_mean, mated_sd) (:class:`~twin.scoring.score_model.ScoreModel`, person and track effects
together), combined over the van's cameras as independent chances (the person effect's correlation
is left out: an assumption of the optimiser, not of ``twin run``). Walkers are sampled per route
(at most ``max_walkers_per_route`` per replication) and weighted back to walkers per hour.
Selection: :func:`twin.scoring.vanchoice.select_vans`. Constraints: a false-alert budget per hour
(FPIR per face scanned x the faces scanned not on the watchlist), and signage: a van is a candidate
only if every route entering its recognition zones passes a sign first
(:func:`twin.world.signage.signage_coverage`; coverage of a set of vans is then the coverage of each).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import ndtr

from twin.errors import ScenarioError
from twin.rng import Streams, replication_seeds
from twin.scenario.specs import Scenario
from twin.scoring.selection import CoverageProblem, Selection
from twin.scoring.vanchoice import select_vans
from twin.sim.context import Context, prepare
from twin.sim.crowd import simulate_crowd
from twin.world.camera import Camera
from twin.world.capture import ViewTable, WalkerBatch
from twin.world.frames import reduce_tracks
from twin.world.placement import (
    DEFAULT_TOES_DEG,
    VanPose,
    candidate_vans,
    van_camera_specs,
    van_cameras,
    view_tables_near,
)
from twin.world.signage import signage_coverage

__all__ = [
    "OBJECTIVES",
    "OptimiseResult",
    "PlacementModel",
    "build_placement_model",
    "optimise_placement",
    "placement_scenario",
    "zone_markers",
]

#: What the optimiser maximises: expected true alerts, or watchlisted faces scanned, per hour.
OBJECTIVES: tuple[str, ...] = ("true_alerts", "watchlisted_captures")


@dataclass(kw_only=True)
class PlacementModel:
    """Candidates and their coverage of one stored crowd (see the module docstring).

    Attributes:
        context: the scenario prepared (site, its own cameras, score model).
        candidates: candidate vans (:func:`twin.world.placement.candidate_vans`).
        signage_ok: (candidates,) bool: every route into the van's zones passes a sign first.
        p, s: (walkers, candidates) sparse CSC: true-alert chance if watchlisted, usable capture (0/1).
        p_base, s_base: (walkers,) the same for the scenario's own cameras together.
        w: (walkers,) walkers per hour each sampled walker stands for.
        prevalence, fpir: the scenario's watchlist prevalence and FPIR per face scanned at its threshold.
        replications, walkers_total: crowds simulated and walkers in them.
        timings: seconds per stage.
    """

    context: Context
    candidates: list[VanPose]
    signage_ok: np.ndarray
    p: sp.csc_matrix
    s: sp.csc_matrix
    p_base: np.ndarray
    s_base: np.ndarray
    w: np.ndarray
    prevalence: float
    fpir: float
    replications: int
    walkers_total: int
    timings: dict[str, float] = field(default_factory=dict)

    def problem(self, objective: str) -> CoverageProblem:
        """The coverage problem for ``objective`` (one of :data:`OBJECTIVES`)."""
        p = self.p if objective == "true_alerts" else self.s
        return CoverageProblem(
            p=p,
            s=self.s,
            w=self.w,
            scale=self.prevalence,
            cost_scale=self.fpir * (1.0 - self.prevalence),
            feasible=self.signage_ok.copy(),
        )

    def baseline(self, objective: str) -> tuple[float, float]:
        """(value, false alerts per hour) of the scenario's own placement in this model."""
        p = self.p_base if objective == "true_alerts" else self.s_base
        value = self.prevalence * float(np.dot(self.w, p))
        return value, self.fpir * (1.0 - self.prevalence) * float(np.dot(self.w, self.s_base > 0))


@dataclass(frozen=True, kw_only=True)
class OptimiseResult:
    """A recommended placement.

    Attributes:
        scenario: the input scenario.
        objective: one of :data:`OBJECTIVES`; budget: false alerts per hour allowed (None: none).
        selection: the kept :class:`~twin.scoring.selection.Selection`; tried: every method's.
        poses: the chosen vans, in order of marginal gain.
        cameras: their cameras as scenario camera mappings (``opt_van<k>_cam<i>``).
        value, false_alerts_per_h: the placement's objective and false alerts per hour (model).
        baseline_value, baseline_false_alerts_per_h: the scenario's own placement in the same model.
        candidates, signage_excluded: how many candidates, and how many failed the signage test.
        model: the :class:`PlacementModel` (for maps and re-selection).
        elapsed_s: wall time of the whole optimisation, s.
    """

    scenario: Scenario
    objective: str
    budget: float | None
    selection: Selection
    tried: list[Selection]
    poses: list[VanPose]
    cameras: list[dict[str, Any]]
    value: float
    false_alerts_per_h: float
    baseline_value: float
    baseline_false_alerts_per_h: float
    candidates: int
    signage_excluded: int
    model: PlacementModel
    elapsed_s: float

    @property
    def gain_over_baseline(self) -> float:
        """value / baseline value (NaN when the baseline is 0)."""
        return self.value / self.baseline_value if self.baseline_value > 0 else float("nan")


def _template(scenario: Scenario) -> dict[str, Any]:
    """Lens and mount of the scenario's first camera (the vans' roof cameras), or the defaults."""
    if not scenario.cameras:
        return {}
    d = scenario.cameras[0].model_dump()
    return {
        k: d[k]
        for k in ("mount_height_m", "tilt_deg", "hfov_deg", "width_px", "height_px", "fps", "exposure_s")
    }


def _walker_batches(
    people: dict[str, np.ndarray], n_routes: int, cap: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[float]]:
    """Per route: the sampled people (indices) and the weight each stands for (people / sampled)."""
    out, wts = [], []
    route = people["route"].astype(np.int64)
    for r in range(n_routes):
        idx = np.flatnonzero(route == r)
        if len(idx) > cap:
            idx = np.sort(rng.choice(idx, cap, replace=False))
            wts.append(float((route == r).sum()) / cap)
        else:
            wts.append(1.0)
        out.append(idx)
    return out, wts


def build_placement_model(
    scenario: Scenario,
    *,
    spacing_m: float = 5.0,
    toes_deg: tuple[float, ...] = DEFAULT_TOES_DEG,
    replications: int = 1,
    seed: int | None = None,
    max_walkers_per_route: int = 800,
    progress: Callable[[str, float], None] | None = None,
) -> PlacementModel:
    """Simulate ``replications`` crowds of ``scenario`` and capture them with every candidate van.

    Args:
        scenario: a statistical-engine scenario (its cameras are the baseline placement).
        spacing_m, toes_deg: candidate grid (:func:`twin.world.placement.candidate_vans`).
        replications: crowds simulated (replications 0..n-1 of the scenario's seed).
        seed: root seed (default: the scenario's).
        max_walkers_per_route: walkers sampled per route and replication (the rest are represented by weight).
        progress: called as ``progress(stage, share_done)``.

    Raises:
        ScenarioError: a real engine, replications < 1, a site with no candidate position.
        TwinError: the scenario itself (as :func:`twin.sim.context.prepare`).
    """
    if scenario.engine.kind != "statistical":
        raise ScenarioError(
            f"engine.kind {scenario.engine.kind!r}: the optimiser scores with the statistical engine; set "
            "engine.kind=statistical"
        )
    if replications < 1:
        raise ScenarioError(f"replications {replications} must be >= 1")
    t0 = time.perf_counter()
    say = progress or (lambda stage, share: None)
    ctx = prepare(scenario)
    say("view tables of the candidates", 0.0)
    cand = _Candidates.build(scenario, ctx, spacing_m=spacing_m, toes_deg=toes_deg)
    t_tables = time.perf_counter()
    wl = scenario.watchlist
    seed_ = scenario.seed if seed is None else int(seed)
    seeds = replication_seeds(seed_, max(replications, scenario.replications))[:replications]
    parts = []
    for r, ss in enumerate(seeds):
        say(
            f"crowd {r + 1} of {replications} and its captures by {len(cand.poses)} candidate vans",
            r / replications,
        )
        parts.append(
            _one_crowd(scenario, ctx, cand, ss, replications=replications, cap=max_walkers_per_route)
        )
    offsets = np.cumsum([0, *(len(x.w) for x in parts)])
    R = np.concatenate([x.rows + o for x, o in zip(parts, offsets, strict=False)])
    C = np.concatenate([x.cols for x in parts])
    V = np.concatenate([x.p for x in parts])
    shape = (int(offsets[-1]), len(cand.poses))
    P = sp.csc_matrix((np.clip(V, 0.0, 1.0), (R, C)), shape=shape)
    S = sp.csc_matrix((np.ones(len(R)), (R, C)), shape=shape)
    P.eliminate_zeros()
    return PlacementModel(
        context=ctx,
        candidates=cand.poses,
        signage_ok=cand.signage_ok,
        p=P,
        s=S,
        p_base=np.concatenate([x.p_base for x in parts]),
        s_base=np.concatenate([x.s_base for x in parts]),
        w=np.concatenate([x.w for x in parts]),
        prevalence=float(wl.prevalence),
        fpir=float(ctx.score_model.fpir(ctx.stat_threshold, wl.size)),
        replications=replications,
        walkers_total=int(sum(x.people for x in parts)),
        timings={"tables_s": t_tables - t0, "captures_s": time.perf_counter() - t_tables},
    )


@dataclass(frozen=True, kw_only=True)
class _Candidates:
    """The candidate vans, their cameras (``owner``: camera -> van), view tables, the scenario's own
    cameras' tables, and which vans pass the signage test."""

    poses: list[VanPose]
    cams: list[Camera]
    owner: list[int]
    tables: list[ViewTable]
    base_tables: list[ViewTable]
    signage_ok: np.ndarray

    @classmethod
    def build(
        cls, scenario: Scenario, ctx: Context, *, spacing_m: float, toes_deg: tuple[float, ...]
    ) -> _Candidates:
        site, gate = ctx.site, scenario.capture
        poses = candidate_vans(site, spacing_m=spacing_m, toes_deg=toes_deg)
        if not poses:
            raise ScenarioError(f"no candidate van position on the routes of {site.name} inside its geofence")
        tmpl = _template(scenario)
        cams: list[Camera] = []
        owner: list[int] = []
        for j, pose in enumerate(poses):
            for c in van_cameras(pose, template=tmpl):
                cams.append(c)
                owner.append(j)
        tables = view_tables_near(site, cams, gate)
        by_van: list[list[ViewTable]] = [[] for _ in poses]
        for t in tables:
            by_van[owner[t.camera]].append(t)
        ok = np.array([all(r.covered for r in signage_coverage(site, tv)) for tv in by_van], bool)
        return cls(
            poses=poses,
            cams=cams,
            owner=owner,
            tables=tables,
            base_tables=view_tables_near(site, ctx.cameras, gate),
            signage_ok=ok,
        )


@dataclass(frozen=True, kw_only=True)
class _CrowdRows:
    """One crowd's sampled walkers: (row, van, true-alert chance) entries, the own placement's per row,
    each row's weight (walkers per hour), and how many people the crowd had."""

    rows: np.ndarray
    cols: np.ndarray
    p: np.ndarray
    p_base: np.ndarray
    s_base: np.ndarray
    w: np.ndarray
    people: int


def zone_markers(tables: list[ViewTable]) -> list[ViewTable]:
    """One table per route that has a recognition zone facing its walkers (the first such).

    The people of a crowd (arrivals, routes, speeds, densities, lanes, heads) depend on the cameras only
    through which routes have a zone (avoiders steer round them, :mod:`twin.sim.crowd`); the view
    entries and exits of the other tables are SimPy events whose only product is the in-view counts,
    which the optimiser does not use. With these markers the crowd's people are the same, for about a
    fifth less simulation (``tests/sim/test_optimise.py`` checks the sameness).
    """
    seen: set[int] = set()
    out = []
    for t in tables:
        if t.frontal and t.zone.any() and t.route not in seen:
            seen.add(t.route)
            out.append(t)
    return out


def _one_crowd(
    scenario: Scenario,
    ctx: Context,
    cand: _Candidates,
    ss: np.random.SeedSequence,
    *,
    replications: int,
    cap: int,
) -> _CrowdRows:
    """Simulate one replication's crowd (the scenario's own cameras) and capture its sampled walkers with
    every candidate van and with the scenario's own cameras."""
    streams = Streams(ss)
    site, gate, model, t_stat = ctx.site, scenario.capture, ctx.score_model, ctx.stat_threshold
    crowd = simulate_crowd(
        site, ctx.cameras, zone_markers(ctx.tables), scenario.crowd, ctx.rates_per_h, scenario.time.start_s,
        scenario.time.duration_s, streams,
    )  # fmt: skip
    people = crowd.people
    rng = streams["placement"]
    sample, wts = _walker_batches(people, len(site.routes), cap, rng)
    n_rows = int(sum(len(x) for x in sample))
    row_of = np.full(len(people["route"]), -1, np.int64)
    row_w = np.zeros(n_rows)
    hours = scenario.time.duration_s / 3600.0
    pos = 0
    for ri, idx in enumerate(sample):
        row_of[idx] = np.arange(pos, pos + len(idx))
        row_w[pos : pos + len(idx)] = wts[ri] / (replications * hours)
        pos += len(idx)
    cam_seeds = rng.integers(0, 2**63 - 1, size=len(cand.cams) + len(ctx.cameras))
    got = _capture(
        cand.tables,
        cand.cams,
        cand.owner,
        people,
        sample,
        row_of,
        gate,
        model,
        t_stat,
        cam_seeds,
        len(cand.poses),
    )
    bp, bs = np.zeros(n_rows), np.zeros(n_rows)
    for _, rr, m in _capture(
        cand.base_tables, ctx.cameras, [0] * len(ctx.cameras), people, sample, row_of, gate, model, t_stat,
        cam_seeds[len(cand.cams) :], 1,
    ):  # fmt: skip
        bp[rr] = 1.0 - m
        bs[rr] = 1.0
    return _CrowdRows(
        rows=np.concatenate([rr for _, rr, _ in got]) if got else np.zeros(0, np.int64),
        cols=np.concatenate([np.full(len(rr), j) for j, rr, _ in got]) if got else np.zeros(0, np.int64),
        p=np.concatenate([1.0 - m for _, _, m in got]) if got else np.zeros(0),
        p_base=bp,
        s_base=bs,
        w=row_w,
        people=len(people["route"]),
    )


def _capture(
    tables: list[ViewTable],
    cams: list[Camera],
    owner: list[int],
    people: dict[str, np.ndarray],
    sample: list[np.ndarray],
    row_of: np.ndarray,
    gate: Any,
    model: Any,
    threshold: float,
    cam_seeds: np.ndarray,
    n_vans: int,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Each van's captures of the sampled walkers: per van, the rows it scans and their miss chance.

    Returns:
        per van with a usable capture: (van, rows scanned (sorted, unique), chance each row is missed).
    """
    per_van_rows: list[list[np.ndarray]] = [[] for _ in range(n_vans)]
    per_van_p: list[list[np.ndarray]] = [[] for _ in range(n_vans)]
    sd = float(model.mated_sd)
    for t in tables:
        idx = sample[t.route]
        if not len(idx):
            continue
        cam = cams[t.camera]
        if not t.frontal or not t.zone.any():
            continue
        rng = np.random.default_rng(int(cam_seeds[t.camera]))
        walkers = WalkerBatch(
            person=idx.astype(np.int64),
            t0_s=np.asarray(people["t_arrive_s"], dtype=np.float64)[idx],
            speed_m_s=np.asarray(people["speed_m_s"], dtype=np.float64)[idx],
            lane=people["lane"][idx].astype(np.int64),
            head_yaw_deg=people["head_yaw_deg"][idx],
            head_pitch_deg=people["head_pitch_deg"][idx],
            density_p_m2=np.asarray(people["density_p_m2"], dtype=np.float64)[idx],
        )
        phase = float(rng.uniform(0.0, 1.0 / cam.fps))
        tr = reduce_tracks(t, cam, walkers, gate, model, phase_s=phase, rng=rng)
        ok = tr["usable_captures"] > 0
        if not ok.any():
            continue
        p = ndtr((tr["mated_mean"][ok].astype(np.float64) - threshold) / sd)
        per_van_rows[owner[t.camera]].append(row_of[idx[ok]])
        per_van_p[owner[t.camera]].append(p)
    out = []
    for j in range(n_vans):
        if not per_van_rows[j]:
            continue
        rr = np.concatenate(per_van_rows[j])
        pp = np.concatenate(per_van_p[j])
        uniq, inv = np.unique(rr, return_inverse=True)
        m = np.ones(len(uniq))
        np.multiply.at(m, inv, 1.0 - pp)
        out.append((j, uniq, m))
    return out


def optimise_placement(
    scenario: Scenario,
    *,
    vans: int,
    objective: str = "true_alerts",
    max_false_alerts_per_h: float | None = None,
    model: PlacementModel | None = None,
    milp_time_limit_s: float = 10.0,
    **model_kw: Any,
) -> OptimiseResult:
    """Recommend where ``vans`` vans should stand at ``scenario``'s site.

    Args:
        scenario: the site, window, crowd, watchlist and lens (its cameras are the baseline).
        vans: K >= 1.
        objective: one of :data:`OBJECTIVES`.
        max_false_alerts_per_h: the false-alert budget (None: none).
        model: a :class:`PlacementModel` already built for ``scenario`` (else built here with ``model_kw``).
        milp_time_limit_s: HiGHS time limit, s.
        model_kw: :func:`build_placement_model` options (spacing_m, toes_deg, replications, seed, ...).

    Raises:
        ScenarioError: unknown objective, K < 1 or more than the candidates, a negative budget.
        InfeasibleBudgetError: no placement meets the budget (the message says the best achievable).
    """
    t0 = time.perf_counter()
    if objective not in OBJECTIVES:
        raise ScenarioError(f"--objective {objective!r} is not one of {', '.join(OBJECTIVES)}")
    if vans < 1:
        raise ScenarioError(f"--vans {vans}: choose at least 1 van")
    if max_false_alerts_per_h is not None and not max_false_alerts_per_h >= 0:
        raise ScenarioError(f"--max-false-alerts-per-h {max_false_alerts_per_h} must be >= 0")
    pm = model if model is not None else build_placement_model(scenario, **model_kw)
    prob = pm.problem(objective)
    chosen, tried = select_vans(
        prob, vans, budget=max_false_alerts_per_h, milp_time_limit_s=milp_time_limit_s
    )
    poses = [pm.candidates[j] for j in chosen.chosen]
    tmpl = _template(scenario)
    cams = [
        c
        for k, pose in enumerate(poses)
        for c in van_camera_specs(pose, prefix=f"opt_van{k + 1}", template=tmpl)
    ]
    bv, bfa = pm.baseline(objective)
    return OptimiseResult(
        scenario=scenario,
        objective=objective,
        budget=max_false_alerts_per_h,
        selection=chosen,
        tried=tried,
        poses=poses,
        cameras=cams,
        value=chosen.value,
        false_alerts_per_h=chosen.cost,
        baseline_value=bv,
        baseline_false_alerts_per_h=bfa,
        candidates=len(pm.candidates),
        signage_excluded=int((~pm.signage_ok).sum()),
        model=pm,
        elapsed_s=time.perf_counter() - t0,
    )


def placement_scenario(result: OptimiseResult) -> Scenario:
    """The input scenario with the recommended cameras instead of its own (``name`` says so)."""
    doc = result.scenario.model_dump(mode="json")
    doc["cameras"] = result.cameras
    doc["name"] = f"{result.scenario.name} (optimised: {len(result.poses)} vans)"
    return Scenario.model_validate(doc)
