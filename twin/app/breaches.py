"""The deployment's own limits on the Plan page: the breaches its record would list first, as lines.

The checks are :mod:`twin.scoring.policy`'s (the record's); here they are run on the plan being edited
and written for the page (:func:`breach_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin.scenario.specs import Scenario
from twin.scoring.metric_table import SCI, fmt_value
from twin.scoring.summary import RunSummary

__all__ = ["breach_text", "deployment_breaches"]

SummaryLike = RunSummary | Mapping[str, Any]


def deployment_breaches(scenario: Scenario, summary: SummaryLike, context: Any) -> list[dict[str, Any]]:
    """The breaches the deployment record of this plan would list first (:mod:`twin.scoring.policy`):
    watchlist over its cap or not accounted for, expected false-alert rate over the cap, threshold below
    the minimum, a demographic differential, routes reaching a zone before a sign, a window outside the
    authorised times. Empty without a governance block.

    Args:
        scenario: the plan's scenario.
        summary: its (re-scored) summary.
        context: the run's :class:`twin.sim.context.Context` (site and view tables, for the signage).
    """
    from twin.scoring.policy import plan_breaches, policy_breaches
    from twin.world.signage import signage_coverage

    gov = scenario.governance
    if gov is None:
        return []
    s = RunSummary.coerce(summary)
    signage = signage_coverage(context.site, context.tables)
    return policy_breaches(scenario, gov, s) + plan_breaches(scenario, gov, signage)


def breach_text(b: Mapping[str, Any]) -> str:
    """One breach as a line: the rule, the value against the limit, and the fix.

    >>> breach_text({"rule": "threshold below the force's minimum", "value": 0.58, "limit": 0.6,
    ...              "source": "force policy", "fix": "set watchlist.threshold >= 0.6"})
    "threshold below the force's minimum: 0.58 (limit 0.6; force policy) — set watchlist.threshold >= 0.6"
    """

    def show(v: Any) -> str:
        if isinstance(v, float):
            return fmt_value(v, SCI) if abs(v) < 0.01 else f"{v:g}"
        if isinstance(v, int):
            return f"{v:,}"
        if isinstance(v, (list, tuple)):
            return ", ".join(map(str, v))
        return str(v)

    return f"{b['rule']}: {show(b['value'])} (limit {show(b['limit'])}; {b['source']}) — {b['fix']}"
