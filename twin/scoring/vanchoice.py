"""Choosing the vans: the max-coverage MILP (HiGHS) and the best of every method (:func:`select_vans`).

:func:`milp_select` credits each walker to its best chosen van (a lower bound of the probabilistic
coverage of :mod:`twin.scoring.selection`) with the false-alert budget exact, solved by HiGHS through
:func:`scipy.optimize.milp` on a shortlist of candidates; :func:`select_vans` keeps the best, in the
exact value and within the budget, of the lazy greedy (its (1 - 1/e) bound), the cost-benefit
greedy (with a budget) and the MILP, then improves it by swapping vans.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from twin.errors import ScenarioError
from twin.scoring.selection import (
    CoverageProblem,
    InfeasibleBudgetError,
    Selection,
    check_k,
    infeasible,
    lazy_greedy,
    ratio_greedy,
    selection_of,
    swap_improve,
)

__all__ = ["MILP_SHORTLIST", "milp_select", "select_vans"]

#: Candidates offered to the MILP by :func:`select_vans` (the best alone, and the greedies' choices).
MILP_SHORTLIST = 40


def _aggregate(
    problem: CoverageProblem, cols: np.ndarray, decimals: int
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Rows with the same (rounded) p and s patterns over ``cols`` merged, their weights summed."""
    P = problem.p[:, cols].tocsr()
    S = problem.s[:, cols].tocsr()
    keep = np.flatnonzero(np.diff(S.indptr) > 0)
    P, S, w = P[keep], S[keep], problem.w[keep]
    keys: dict[bytes, int] = {}
    rows = np.empty(len(keep), np.int64)
    for r in range(len(keep)):
        a, b = P.indptr[r], P.indptr[r + 1]
        c, d = S.indptr[r], S.indptr[r + 1]
        key = (
            P.indices[a:b].tobytes()
            + b"|"
            + np.round(P.data[a:b], decimals).tobytes()
            + b"|"
            + S.indices[c:d].tobytes()
        )
        rows[r] = keys.setdefault(key, len(keys))
    G = sp.csr_matrix((np.ones(len(keep)), (rows, np.arange(len(keep)))), shape=(len(keys), len(keep)))
    Wg = G @ w
    # each group's p: the weighted mean of its rows' (equal after rounding) p
    Pg = sp.diags(1.0 / np.maximum(Wg, 1e-300)) @ (G @ sp.diags(w) @ P)
    Sg = (G @ S).sign()
    return sp.csr_matrix(Pg), sp.csr_matrix(Sg), Wg


def _milp_arrays(
    Pg: sp.csr_matrix,
    Sg: sp.csr_matrix,
    Wg: np.ndarray,
    *,
    k: int,
    scale: float,
    cost_scale: float,
    budget: float | None,
) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray]:
    """Objective ``c`` and constraints ``lo <= A v <= hi`` of :func:`milp_select`'s MILP, v = (x, z, u)."""
    G, J = Pg.shape
    Pc = Pg.tocoo()
    nz = len(Pc.data)
    use_u = budget is not None and cost_scale > 0
    n_u = G if use_u else 0
    nv = J + nz + n_u
    c = np.zeros(nv)
    c[J : J + nz] = -scale * Wg[Pc.row] * Pc.data
    A_rows: list[sp.spmatrix] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    # sum_j z_gj <= 1
    A_rows.append(
        sp.hstack(
            [
                sp.csr_matrix((G, J)),
                sp.csr_matrix((np.ones(nz), (Pc.row, np.arange(nz))), shape=(G, nz)),
                sp.csr_matrix((G, n_u)),
            ]
        )
    )
    lo.append(np.full(G, -np.inf))
    hi.append(np.ones(G))
    # z_gj - x_j <= 0
    A_rows.append(
        sp.hstack(
            [
                sp.csr_matrix((-np.ones(nz), (np.arange(nz), Pc.col)), shape=(nz, J)),
                sp.identity(nz, format="csr"),
                sp.csr_matrix((nz, n_u)),
            ]
        )
    )
    lo.append(np.full(nz, -np.inf))
    hi.append(np.zeros(nz))
    # sum x = k
    A_rows.append(sp.hstack([sp.csr_matrix(np.ones((1, J))), sp.csr_matrix((1, nz + n_u))]))
    lo.append(np.array([float(k)]))
    hi.append(np.array([float(k)]))
    if use_u:
        Sc = Sg.tocoo()
        m = len(Sc.data)
        # x_j - u_g <= 0 where s_gj
        A_rows.append(
            sp.hstack(
                [
                    sp.csr_matrix((np.ones(m), (np.arange(m), Sc.col)), shape=(m, J)),
                    sp.csr_matrix((m, nz)),
                    sp.csr_matrix((-np.ones(m), (np.arange(m), Sc.row)), shape=(m, G)),
                ]
            )
        )
        lo.append(np.full(m, -np.inf))
        hi.append(np.zeros(m))
        A_rows.append(sp.hstack([sp.csr_matrix((1, J + nz)), sp.csr_matrix(cost_scale * Wg[None, :])]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([float(budget)]))  # type: ignore[arg-type]
    return c, sp.vstack(A_rows, format="csr"), np.concatenate(lo), np.concatenate(hi)


def milp_select(
    problem: CoverageProblem,
    k: int,
    *,
    budget: float | None = None,
    time_limit_s: float = 20.0,
    decimals: int = 2,
    shortlist: int | None = None,
    include: tuple[int, ...] = (),
) -> Selection:
    """Max-coverage MILP (HiGHS via :func:`scipy.optimize.milp`): each walker credited to its best chosen
    van, the false-alert budget exact.

    Variables: x_j in {0, 1} (van chosen), z_gj in [0, 1] (group g credited to van j), u_g in [0, 1]
    (group g scanned; only with a budget). Rows with identical (``decimals``-rounded) patterns are
    merged first. maximise scale x sum w_g p_gj z_gj  s.t.  sum_j z_gj <= 1, z_gj <= x_j, sum x_j = k,
    u_g >= x_j where s_gj = 1, cost_scale x sum w_g u_g <= budget. With ``shortlist`` only that many
    candidates (the best alone) and ``include`` (e.g. the greedy's choice) are offered to the MILP.

    Raises:
        ScenarioError: k < 1 or more than the feasible candidates.
        InfeasibleBudgetError: the MILP finds no placement within the budget.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    check_k(problem, k)
    t0 = time.perf_counter()
    cols = np.flatnonzero(problem.feasible & (np.diff(problem.p.indptr) > 0))  # useful vans only
    if len(cols) < k:
        raise infeasible(problem, k, budget)
    if shortlist is not None and len(cols) > shortlist:
        single = np.asarray(problem.p.multiply(problem.w[:, None]).sum(axis=0)).ravel()
        top = cols[np.argsort(-single[cols], kind="stable")[:shortlist]]
        cols = np.unique(np.concatenate([top, np.asarray(include, dtype=np.int64)]))
        cols = cols[problem.feasible[cols] & (np.diff(problem.p.indptr)[cols] > 0)]
    Pg, Sg, Wg = _aggregate(problem, cols, decimals)
    G, J = Pg.shape
    c, A, lo, hi = _milp_arrays(
        Pg, Sg, Wg, k=k, scale=problem.scale, cost_scale=problem.cost_scale, budget=budget
    )
    nv = len(c)
    integrality = np.zeros(nv)
    integrality[:J] = 1
    res = milp(
        c,
        constraints=LinearConstraint(A, lo, hi),
        integrality=integrality,
        bounds=Bounds(np.zeros(nv), np.ones(nv)),
        options={"time_limit": float(time_limit_s), "disp": False},
    )
    if res.x is None:
        raise infeasible(problem, k, budget)
    x = res.x[:J]
    chosen = [int(cols[j]) for j in np.argsort(-x)[:k]]
    return selection_of(
        problem,
        chosen,
        method="milp",
        elapsed_s=time.perf_counter() - t0,
        note=(
            f"HiGHS {'optimal' if res.status == 0 else 'time-limited'} on the best-van coverage "
            f"({G:,} walker groups, {J} candidates)"
        ),
    )


def select_vans(
    problem: CoverageProblem, k: int, *, budget: float | None = None, milp_time_limit_s: float = 10.0
) -> tuple[Selection, list[Selection]]:
    """The best of :func:`lazy_greedy`, with a budget :func:`ratio_greedy`, and :func:`milp_select` (exact
    value, within the budget), then :func:`swap_improve`; the MILP is offered the :data:`MILP_SHORTLIST`
    best candidates alone (at least 6 K) and the greedies' choices.

    Returns:
        (the kept selection, every selection tried).

    Raises:
        ScenarioError: k < 1 or more than the feasible candidates.
        InfeasibleBudgetError: neither finds a placement within the budget.
    """
    tried: list[Selection] = []
    errors: list[ScenarioError] = []
    try:
        tried.append(lazy_greedy(problem, k, budget=budget))
    except InfeasibleBudgetError as exc:
        errors.append(exc)
    if budget is not None:
        try:
            tried.append(ratio_greedy(problem, k, budget=budget))
        except InfeasibleBudgetError as exc:
            errors.append(exc)
    try:
        tried.append(
            milp_select(
                problem,
                k,
                budget=budget,
                time_limit_s=milp_time_limit_s,
                shortlist=max(MILP_SHORTLIST, 6 * k),
                include=tuple(j for t in tried for j in t.chosen),
            )
        )
    except InfeasibleBudgetError as exc:
        errors.append(exc)
    ok = [s for s in tried if (budget is None or s.cost <= budget + 1e-9) and min(s.gains) > 0]
    if not ok:
        raise errors[0] if errors else infeasible(problem, k, budget)
    best = ok[0]
    for s in ok[1:]:
        if s.value > best.value * (1 + 1e-9):  # ties keep the greedy (the first tried)
            best = s
    single = np.asarray(problem.p.multiply(problem.w[:, None]).sum(axis=0)).ravel()
    feas = np.flatnonzero(problem.feasible)
    pool = feas[np.argsort(-single[feas], kind="stable")[: max(MILP_SHORTLIST, 6 * k)]]
    polished = swap_improve(problem, best, budget=budget, pool=pool)
    if polished is not best:
        tried.append(polished)
    return polished, tried
