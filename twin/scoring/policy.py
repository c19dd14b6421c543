"""The deployment's own limits checked: the breaches a deployment record lists first, as pure functions.

:mod:`twin.outputs.record` lists them in the record of a run folder, and the Plan page shows the same
checks as the planner changes the plan (so a threshold of 0.58 with a 20,000-entry watchlist is
flagged where it is set, not only on the Record page). Each breach is a mapping: ``rule``, ``value``,
``limit``, ``source`` (the policy or law it comes from) and ``fix``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from twin.scenario.governance import Governance, window_breach
from twin.scenario.specs import Scenario
from twin.scoring.metric_table import Band
from twin.scoring.summary import RunSummary
from twin.world.signage import RouteSignage

__all__ = [
    "EQUITY_RATIO_LIMIT",
    "breach",
    "expected_false_alert_rates",
    "plan_breaches",
    "policy_breaches",
]

#: Highest/lowest group FPIR ratio above which the record flags a demographic differential (the
#: encoding of NPL 2023's "no significant imbalance at >= 0.6"; Bridges [2020] EWCA Civ 1058 on the
#: public sector equality duty).
EQUITY_RATIO_LIMIT = 1.25


def breach(rule: str, value: Any, limit: Any, source: str, fix: str) -> dict[str, Any]:
    """One breach: what rule, the value found, the limit, where the limit comes from, how to fix it."""
    return {"rule": rule, "value": value, "limit": limit, "source": source, "fix": fix}


def expected_false_alert_rates(summary: RunSummary) -> tuple[float, float, dict[str, Any]]:
    """(model FPIR, false alerts per face scanned, the false-alerts band) of the summary."""
    faces = (summary.band("totals.faces_scanned") or Band(mean=None, p2_5=None, p97_5=None)).mean or 0.0
    band = summary.band("totals.false_alerts")
    fa = band.to_json() if band is not None else {}
    model = summary.model
    fpir_model = float(
        model.fpir_at_threshold if model is not None and model.fpir_at_threshold is not None else float("nan")
    )
    fa_per_face = (fa.get("mean") or 0.0) / faces if faces else float("nan")
    return fpir_model, fa_per_face, fa


def policy_breaches(sc: Scenario, gov: Governance, summary: RunSummary) -> list[dict[str, Any]]:
    """Breaches of the force's policy limits (watchlist size and composition, expected false-alert rate
    per face and per deployment, minimum threshold) and of the equality duty (the groups' FPIR ratio at
    the threshold above :data:`EQUITY_RATIO_LIMIT`)."""
    wl, pol = sc.watchlist, gov.policy
    fpir_model, fa_per_face, fa = expected_false_alert_rates(summary)
    out: list[dict[str, Any]] = []
    if pol.max_watchlist_size is not None and wl.size > pol.max_watchlist_size:
        out.append(
            breach(
                "watchlist larger than the policy allows",
                wl.size,
                pol.max_watchlist_size,
                "force policy (e.g. SWP SOP: <= 2,000 images)",
                "reduce the watchlist to the operation's need",
            )
        )
    if gov.watchlist_total != wl.size:
        out.append(
            breach(
                "watchlist composition does not account for every entry",
                gov.watchlist_total,
                wl.size,
                "APP on LFR 2022: every entry justified by category",
                "list every entry under an APP category",
            )
        )
    if pol.max_false_alert_rate_per_face is not None:
        worst = max(fpir_model, fa_per_face if math.isfinite(fa_per_face) else 0.0)
        if worst > pol.max_false_alert_rate_per_face:
            out.append(
                breach(
                    "expected false-alert rate per face scanned above the policy cap",
                    worst,
                    pol.max_false_alert_rate_per_face,
                    "force policy (e.g. SWP: below 1 in 1,000)",
                    "raise the threshold or shorten the watchlist",
                )
            )
    if (
        pol.max_false_alerts_per_deployment is not None
        and (fa.get("mean") or 0) > pol.max_false_alerts_per_deployment
    ):
        out.append(
            breach(
                "expected false alerts per deployment above the policy cap",
                fa.get("mean"),
                pol.max_false_alerts_per_deployment,
                "force policy",
                "raise the threshold or shorten the deployment",
            )
        )
    if pol.min_threshold is not None and wl.threshold < pol.min_threshold:
        out.append(
            breach(
                "threshold below the force's minimum",
                wl.threshold,
                pol.min_threshold,
                "force policy",
                f"set watchlist.threshold >= {pol.min_threshold}",
            )
        )
    ratio = summary.equitability.fpir_ratio if summary.equitability is not None else None
    if ratio is not None and ratio > EQUITY_RATIO_LIMIT:
        out.append(
            breach(
                "demographic differential in false alerts at this threshold",
                round(ratio, 2),
                EQUITY_RATIO_LIMIT,
                "public sector equality duty (Bridges [2020] EWCA Civ 1058); NPL 2023",
                "raise the threshold to where the groups' FPIR ratio is <= 1.25 (see the sweep)",
            )
        )
    return out


def plan_breaches(sc: Scenario, gov: Governance, signage: Sequence[RouteSignage]) -> list[dict[str, Any]]:
    """Breaches of notice and authorisation: routes reaching a recognition zone before any sign
    (``signage``: :func:`twin.world.signage.signage_coverage` of the run's view tables), and a
    window outside the authorised period."""
    out: list[dict[str, Any]] = []
    bypass = [s.route_id for s in signage if not s.covered]
    if bypass:
        out.append(
            breach(
                "routes reach a recognition zone without passing a sign",
                bypass,
                "none",
                "APP on LFR 2022: advance notice; ICO 2019/01",
                "add signs before the cameras on these routes",
            )
        )
    outside = window_breach(gov, sc.time.start, sc.time.duration_s)
    if outside:
        out.append(
            breach(
                "planned window outside the authorised period",
                outside,
                f"{gov.start.isoformat()} to {gov.end.isoformat()}",
                "authorisation (APP: set start and end times)",
                "move time.start / time.duration_s inside the authorisation, or re-authorise",
            )
        )
    return out
