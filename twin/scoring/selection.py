"""Choosing K vans among candidates: probabilistic coverage of walkers and the greedy choices.

Problem (all quantities per hour of deployment). Rows i are sampled walkers with weight ``w_i``
(walkers per hour each stands for); columns j are candidate vans. ``p_ij`` is the probability that
van j alone raises a true alert on walker i were i on the watchlist; ``s_ij`` is 1 when van j gets
a usable capture of i (a face scanned). For a set S of vans:

* value(S) = scale x sum_i w_i (1 - prod_{j in S} (1 - p_ij))   (expected true alerts, or with
  p = s expected watchlisted faces scanned);
* cost(S)  = cost_scale x sum_i w_i max_{j in S} s_ij            (expected false alerts: FPIR per face
  scanned times the non-watchlisted faces scanned, DESIGN.md "Per pass, not per capture").

value is monotone submodular (a probabilistic coverage function), so the greedy choice under
"at most K vans" reaches at least (1 - 1/e) of the optimum (Nemhauser, Wolsey & Fisher 1978);
:func:`lazy_greedy` is Minoux's (1978) lazy evaluation of it. With a false-alert budget the
constraint is a submodular knapsack and the bound no longer holds: :func:`ratio_greedy` adds the
cost-benefit greedy, :func:`swap_improve` a local search that never makes a set worse, and
:mod:`twin.scoring.vanchoice` the max-coverage MILP (HiGHS) and the choice among them all.
:func:`exhaustive` is the reference on small cases.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from twin.errors import ScenarioError

__all__ = [
    "GREEDY_GUARANTEE",
    "CoverageProblem",
    "InfeasibleBudgetError",
    "Selection",
    "check_k",
    "exhaustive",
    "infeasible",
    "lazy_greedy",
    "ordered",
    "ratio_greedy",
    "selection_of",
    "swap_improve",
]

#: The greedy's worst-case share of the optimum under a cardinality constraint, 1 - 1/e.
GREEDY_GUARANTEE = 1.0 - 1.0 / np.e


class InfeasibleBudgetError(ScenarioError):
    """No placement of K useful vans meets the false-alert budget (the message says the best achievable)."""


@dataclass(frozen=True, kw_only=True)
class CoverageProblem:
    """Rows (walkers) x columns (candidate vans), see the module docstring.

    Attributes:
        p: (rows, candidates) sparse CSC float64 in [0, 1]: true-alert probability per van.
        s: (rows, candidates) sparse CSC 0/1: usable capture per van (same shape).
        w: (rows,) float64 >= 0 walkers per hour each row stands for.
        scale: value multiplier (e.g. the watchlist prevalence), > 0.
        cost_scale: cost multiplier (FPIR x share not on the watchlist), >= 0.
        feasible: (candidates,) bool: the van may be chosen at all (e.g. signage).

    Raises:
        ScenarioError: shapes disagree.
    """

    p: sp.csc_matrix
    s: sp.csc_matrix
    w: np.ndarray
    scale: float = 1.0
    cost_scale: float = 0.0
    feasible: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def __post_init__(self) -> None:
        if self.p.shape != self.s.shape or self.p.shape[0] != len(self.w):
            raise ScenarioError(
                f"coverage problem shapes disagree: p {self.p.shape}, s {self.s.shape}, w {len(self.w)}"
            )
        if len(self.feasible) != self.p.shape[1]:
            object.__setattr__(self, "feasible", np.ones(self.p.shape[1], bool))

    @property
    def n(self) -> int:
        """Number of candidates."""
        return int(self.p.shape[1])

    def value(self, chosen: list[int] | tuple[int, ...]) -> float:
        """value(S) (see the module docstring)."""
        if not chosen:
            return 0.0
        miss = np.ones(self.p.shape[0])
        for j in chosen:
            col = self.p[:, j]
            miss[col.indices] *= 1.0 - col.data
        return float(self.scale * np.dot(self.w, 1.0 - miss))

    def cost(self, chosen: list[int] | tuple[int, ...]) -> float:
        """cost(S) (see the module docstring)."""
        if not chosen:
            return 0.0
        hit = np.zeros(self.p.shape[0], bool)
        for j in chosen:
            hit[self.s[:, j].indices] = True
        return float(self.cost_scale * self.w[hit].sum())


@dataclass(frozen=True, kw_only=True)
class Selection:
    """A chosen set of vans.

    Attributes:
        chosen: candidate indices in the order each was added (largest marginal gain first).
        gains: marginal value of each, in that order (sums to ``value``).
        value, cost: of the set (:meth:`CoverageProblem.value`, :meth:`CoverageProblem.cost`).
        method: ``lazy-greedy``, ``milp`` or ``exhaustive``.
        evaluations: marginal-gain evaluations (greedy) or None.
        elapsed_s: wall time, s.
        note: how good the answer is known to be.
    """

    chosen: tuple[int, ...]
    gains: tuple[float, ...]
    value: float
    cost: float
    method: str
    evaluations: int | None = None
    elapsed_s: float = 0.0
    note: str = ""


def check_k(problem: CoverageProblem, k: int) -> None:
    if k < 1:
        raise ScenarioError(f"--vans {k}: choose at least 1 van")
    n_ok = int(problem.feasible.sum())
    if k > n_ok:
        raise ScenarioError(
            f"--vans {k} is more than the {n_ok} candidate van positions that meet the constraints here; "
            f"ask for at most {n_ok}, or space candidates closer (--spacing)"
        )


def ordered(problem: CoverageProblem, chosen: list[int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """``chosen`` re-ordered greedily (largest marginal gain first) with the gains."""
    rest, order, gains = list(chosen), list[int](), list[float]()
    while rest:
        base = problem.value(order)
        vals = [problem.value([*order, j]) - base for j in rest]
        b = int(np.argmax(vals))
        order.append(rest.pop(b))
        gains.append(float(vals[b]))
    return tuple(order), tuple(gains)


def selection_of(
    problem: CoverageProblem,
    chosen: list[int],
    *,
    method: str,
    elapsed_s: float,
    note: str,
    value: float | None = None,
) -> Selection:
    """A :class:`Selection` of ``chosen``, re-ordered by :func:`ordered` with its gains; ``value`` where the
    caller has it already (default: :meth:`CoverageProblem.value` of the set)."""
    order, gains = ordered(problem, list(chosen))
    return Selection(
        chosen=order,
        gains=gains,
        value=problem.value(order) if value is None else value,
        cost=problem.cost(order),
        method=method,
        elapsed_s=elapsed_s,
        note=note,
    )


def lazy_greedy(problem: CoverageProblem, k: int, *, budget: float | None = None) -> Selection:
    """Greedy choice of ``k`` vans by marginal value, with lazy re-evaluation (Minoux 1978).

    With ``budget`` a van is only added if the set's cost stays within it (cost is monotone, so a
    van over budget once stays over it), and vans that add no value are never added.

    Raises:
        ScenarioError: k < 1 or more than the feasible candidates.
        InfeasibleBudgetError: fewer than ``k`` useful vans fit the budget.
    """
    check_k(problem, k)
    t0 = time.perf_counter()
    P, S, w = problem.p, problem.s, problem.w
    miss = np.ones(P.shape[0])
    unscanned = np.ones(P.shape[0], bool)
    cost_now = 0.0
    init = np.asarray(P.multiply(w[:, None]).sum(axis=0)).ravel() * problem.scale
    heap = [(-float(init[j]), j) for j in range(problem.n) if problem.feasible[j] and init[j] > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    evals = 0
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        col = P[:, j]
        g = float(problem.scale * np.dot(w[col.indices], miss[col.indices] * col.data))
        evals += 1
        if heap and g < -heap[0][0] - 1e-15:
            heapq.heappush(heap, (-g, j))
            continue
        if g <= 0:
            continue
        scol = S[:, j]
        new_cost = cost_now + problem.cost_scale * float(w[scol.indices][unscanned[scol.indices]].sum())
        if budget is not None and new_cost > budget + 1e-12:
            continue  # over budget now, so for good
        chosen.append(j)
        gains.append(g)
        miss[col.indices] *= 1.0 - col.data
        unscanned[scol.indices] = False
        cost_now = new_cost
    if len(chosen) < k:
        raise infeasible(problem, k, budget)
    return Selection(
        chosen=tuple(chosen),
        gains=tuple(gains),
        value=float(sum(gains)),
        cost=cost_now,
        method="lazy-greedy",
        evaluations=evals,
        elapsed_s=time.perf_counter() - t0,
        note=(
            f"greedy: at least {GREEDY_GUARANTEE:.0%} of the best {k}-van value (Nemhauser et al. 1978)"
            if budget is None
            else "greedy under a false-alert budget (no worst-case bound; compared with the MILP)"
        ),
    )


def ratio_greedy(problem: CoverageProblem, k: int, *, budget: float) -> Selection:
    """Greedy by marginal value per marginal false alert, within ``budget`` (the cost-benefit rule of
    Leskovec et al. 2007's CELF, for the budgeted case where the plain greedy spends the budget early).

    Every step recomputes all gains with two sparse products, O(non-zeros).

    Raises:
        ScenarioError: k < 1 or more than the feasible candidates.
        InfeasibleBudgetError: fewer than ``k`` useful vans fit the budget.
    """
    check_k(problem, k)
    t0 = time.perf_counter()
    P, S, w = problem.p, problem.s, problem.w
    miss = np.ones(P.shape[0])
    unscanned = np.ones(P.shape[0])
    ok = problem.feasible.copy()
    chosen: list[int] = []
    gains: list[float] = []
    cost_now = 0.0
    while len(chosen) < k:
        g = problem.scale * (P.T @ (w * miss))
        c = problem.cost_scale * (S.T @ (w * unscanned))
        ok &= (g > 0) & (cost_now + c <= budget + 1e-12)
        if not ok.any():
            raise infeasible(problem, k, budget)
        ratio = np.where(ok, g / np.maximum(c, 1e-300), -np.inf)
        j = int(np.argmax(ratio))
        chosen.append(j)
        gains.append(float(g[j]))
        cost_now += float(c[j])
        col = P[:, j]
        miss[col.indices] *= 1.0 - col.data
        unscanned[S[:, j].indices] = 0.0
        ok[j] = False
    return selection_of(
        problem,
        chosen,
        method="ratio-greedy",
        elapsed_s=time.perf_counter() - t0,
        note="greedy by value per false alert under the budget (no worst-case bound; compared)",
    )


def swap_improve(
    problem: CoverageProblem,
    start: Selection,
    *,
    budget: float | None = None,
    pool: np.ndarray | None = None,
    max_rounds: int = 20,
) -> Selection:
    """Local search from ``start``: swap one chosen van for one of ``pool`` (default: every feasible
    candidate) while that raises the value within the budget (first improvement, at most ``max_rounds``
    passes). Never returns a worse set than ``start``."""
    t0 = time.perf_counter()
    cur = list(start.chosen)
    cur_v = problem.value(cur)
    others = np.flatnonzero(problem.feasible) if pool is None else np.asarray(pool)
    for _ in range(max_rounds):
        improved = False
        for i in range(len(cur)):
            for j in others:
                j = int(j)
                if j in cur:
                    continue
                trial = [*cur[:i], j, *cur[i + 1 :]]
                v = problem.value(trial)
                if v > cur_v * (1 + 1e-12) and (budget is None or problem.cost(trial) <= budget + 1e-12):
                    cur, cur_v, improved = trial, v, True
        if not improved:
            break
    if cur_v <= start.value * (1 + 1e-12):
        return start
    return selection_of(
        problem,
        cur,
        value=cur_v,
        method=f"{start.method}+swaps",
        elapsed_s=start.elapsed_s + time.perf_counter() - t0,
        note=f"{start.note}; then improved by swapping vans (local search)",
    )


def infeasible(problem: CoverageProblem, k: int, budget: float | None) -> ScenarioError:
    """The error for too few useful vans: with a budget, the lowest cost found for ``k`` useful vans."""
    P, S, w = problem.p, problem.s, problem.w
    useful = [j for j in range(problem.n) if problem.feasible[j] and P[:, j].nnz > 0]
    if budget is None or len(useful) < k:
        return ScenarioError(
            f"--vans {k}: only {len(useful)} candidate van positions capture any face here; ask for at most "
            f"{len(useful)}"
        )
    unscanned = np.ones(P.shape[0], bool)
    cost, rest = 0.0, list(useful)
    for _ in range(k):
        adds = [
            problem.cost_scale * float(w[S[:, j].indices][unscanned[S[:, j].indices]].sum()) for j in rest
        ]
        b = int(np.argmin(adds))
        cost += adds[b]
        unscanned[S[:, rest.pop(b)].indices] = False
    return InfeasibleBudgetError(
        f"no placement of {k} vans meets --max-false-alerts-per-h {budget:g}: the lowest found is "
        f"{cost:.3g} false alerts per hour; raise the budget to at least that, or ask for fewer vans"
    )


def exhaustive(problem: CoverageProblem, k: int, *, budget: float | None = None) -> Selection:
    """The best ``k``-set by trying every one (small cases only: C(n, k) sets).

    Raises:
        ScenarioError: k < 1, more than the feasible candidates, or more than 200,000 sets.
        InfeasibleBudgetError: no set meets the budget.
    """
    check_k(problem, k)
    cand = np.flatnonzero(problem.feasible).tolist()
    n_sets = int(np.prod([len(cand) - i for i in range(k)]) // np.prod(range(1, k + 1)))
    if n_sets > 200_000:
        raise ScenarioError(f"exhaustive search over {n_sets:,} sets is too many; use lazy_greedy")
    t0 = time.perf_counter()
    best: tuple[float, tuple[int, ...]] | None = None
    for combo in itertools.combinations(cand, k):
        if budget is not None and problem.cost(combo) > budget + 1e-12:
            continue
        v = problem.value(combo)
        if best is None or v > best[0]:
            best = (v, combo)
    if best is None:
        raise infeasible(problem, k, budget)
    return selection_of(
        problem,
        list(best[1]),
        value=best[0],
        method="exhaustive",
        elapsed_s=time.perf_counter() - t0,
        note="the optimum (every set tried)",
    )
