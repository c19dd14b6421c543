""" "Suggest placement" on the Plan page: the optimiser run for the current plan's site, shown beside the
current plan before the planner applies it.

:func:`suggest_placement` runs :func:`twin.sim.optimise.optimise_placement` on the plan's scenario
(one crowd replication, its window and watchlist; as many vans as the plan has, counting two cameras
a van) and returns a :class:`Suggestion`: the recommended vans with their marginal gains, and the
plan's own placement scored in the same model, so the two compare on the same crowd.
:func:`apply_suggestion` returns the plan document with the suggested cameras instead of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from twin.scenario.specs import Scenario
from twin.sim.optimise import optimise_placement

__all__ = ["Suggestion", "apply_suggestion", "suggest_placement", "vans_in"]


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    """A suggested placement and the plan's own, in the optimiser's model (per hour).

    Attributes:
        vans: one row per suggested van: van, lat, lon, headings, marginal gain (true alerts/h).
        cameras: the suggested cameras as plan camera mappings.
        true_alerts_per_h, false_alerts_per_h: the suggestion's.
        own_true_alerts_per_h, own_false_alerts_per_h: the plan's own cameras'.
        elapsed_s: how long the optimiser took, s.
        note: what was chosen and how (method, candidates).
    """

    vans: pd.DataFrame
    cameras: list[dict[str, Any]]
    true_alerts_per_h: float
    false_alerts_per_h: float
    own_true_alerts_per_h: float
    own_false_alerts_per_h: float
    elapsed_s: float
    note: str

    @property
    def gain(self) -> float:
        """Suggested / own expected true alerts per hour (NaN when the plan's own is 0)."""
        return (
            self.true_alerts_per_h / self.own_true_alerts_per_h
            if self.own_true_alerts_per_h
            else float("nan")
        )


def vans_in(scenario: Scenario) -> int:
    """Vans a plan has: its cameras two to a van (at least 1).

    >>> from twin.scenario.specs import Scenario
    >>> cam = {"lat": 51.5, "lon": -0.1}
    >>> sc = Scenario.model_validate({"name": "a", "site": {"map": "m.geojson"},
    ...     "cameras": [{"id": f"c{i}", **cam} for i in range(5)]})
    >>> vans_in(sc)
    3
    """
    return max(1, (len(scenario.cameras) + 1) // 2)


def suggest_placement(scenario: Scenario, *, vans: int | None = None, spacing_m: float = 5.0) -> Suggestion:
    """Run the optimiser for the plan's scenario.

    Args:
        scenario: the plan's scenario (its cameras are the placement compared with).
        vans: how many (default :func:`vans_in`).
        spacing_m: candidate spacing along the routes, m.

    Raises:
        TwinError: as :func:`twin.sim.optimise.optimise_placement` (e.g. more vans than candidates).
    """
    k = vans_in(scenario) if vans is None else int(vans)
    res = optimise_placement(scenario, vans=k, spacing_m=spacing_m, replications=1)
    rows = []
    for i, (pose, g) in enumerate(zip(res.poses, res.selection.gains, strict=True)):
        lon, lat = pose.lonlat
        rows.append(
            {
                "van": f"opt_van{i + 1}",
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "headings °": " / ".join(f"{h:.0f}" for h in pose.headings_deg),
                "gain, true alerts/h": round(g, 3),
            }
        )
    return Suggestion(
        vans=pd.DataFrame(rows),
        cameras=res.cameras,
        true_alerts_per_h=res.value,
        false_alerts_per_h=res.false_alerts_per_h,
        own_true_alerts_per_h=res.baseline_value,
        own_false_alerts_per_h=res.baseline_false_alerts_per_h,
        elapsed_s=res.elapsed_s,
        note=f"{res.selection.method} over {res.candidates} candidate positions ({res.selection.note})",
    )


def apply_suggestion(doc: Mapping[str, Any], suggestion: Suggestion) -> dict[str, Any]:
    """A copy of the plan document with the suggested cameras instead of its own."""
    out = copy.deepcopy(dict(doc))
    out["cameras"] = [dict(c) for c in suggestion.cameras]
    return out
