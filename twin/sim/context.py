"""What a run needs that does not depend on the seed: the site, cameras, view tables, rates, engine settings.

:func:`prepare` is the first stage of every run (and of every worker process): it loads the site
map, places the cameras (each within :data:`CAMERA_OUTSIDE_TOLERANCE_M` of the geofence),
precomputes the route x camera view tables, the hourly arrival rates and the score model, and
resolves the thresholds (a real engine's on its own scale, :mod:`twin.sim.engine_setup`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.errors import CameraGeometryError, EngineError, ScenarioError
from twin.recognition.engines.base import check_threshold
from twin.scenario.specs import Scenario
from twin.scoring.score_model import ScoreModel, default_score_model, load_score_model
from twin.sim.arrivals import hourly_rates
from twin.sim.engine_setup import resolve_threshold
from twin.world.camera import Camera
from twin.world.capture import ViewTable, build_view_tables
from twin.world.site import Site, load_site

__all__ = ["CAMERA_OUTSIDE_TOLERANCE_M", "Context", "prepare"]

#: How far outside the geofence a camera may stand, m (a van parks on the footway at the edge).
CAMERA_OUTSIDE_TOLERANCE_M = 5.0


@dataclass(kw_only=True)
class Context:
    """Everything a replication needs that does not depend on its seed."""

    scenario: Scenario
    site: Site
    cameras: list[Camera]
    tables: list[ViewTable]
    rates_per_h: np.ndarray
    score_model: ScoreModel
    warnings: list[str] = field(default_factory=list)
    #: threshold the statistical engine scores with (its own scale): the scenario's for
    #: engine.kind statistical; for a real engine, see :func:`prepare`.
    threshold: float | None = None
    #: a real engine's alert threshold (its scale) and where it came from; None for statistical runs.
    real_threshold: float | None = None
    real_threshold_source: str | None = None

    @property
    def stat_threshold(self) -> float:
        """The statistical scoring threshold (the scenario's when not set)."""
        return self.scenario.watchlist.threshold if self.threshold is None else self.threshold


def prepare(scenario: Scenario) -> Context:
    """Load the site, place the cameras, precompute view tables and validate the engine settings.

    Raises:
        MapFileError, GeofenceError: the site map (see :func:`twin.world.site.load_site`).
        CameraGeometryError: a camera outside the area.
        EngineError: unsupported engine for a planning run, or threshold outside its score range.
        ScenarioError: footfall unusable.
    """
    site = load_site(
        scenario.site.map,
        route_weights=scenario.site.route_weights,
        extra_signage=[(s.lat, s.lon) for s in scenario.site.signage],
    )
    cameras = [Camera.from_spec(c) for c in scenario.cameras]
    from shapely import Point

    for c in cameras:
        gap = site.geofence.distance(Point(c.x, c.y))
        if gap > CAMERA_OUTSIDE_TOLERANCE_M:
            raise CameraGeometryError(
                f"camera {c.id} stands {gap:.0f} m outside the {site.name} geofence; place it inside the "
                f"target area (within {CAMERA_OUTSIDE_TOLERANCE_M:.0f} m of it), e.g. at a van position "
                "of the map"
            )
    model = (
        load_score_model(scenario.engine.score_model)
        if scenario.engine.score_model
        else default_score_model()
    )
    real_t: float | None = None
    real_src: str | None = None
    if scenario.engine.kind == "statistical":
        stat_t = scenario.watchlist.threshold
        try:
            check_threshold(model, stat_t)
        except EngineError as exc:
            raise ScenarioError(f"watchlist.threshold: {exc}") from exc
    else:
        real_t, real_src = resolve_threshold(scenario)
        stat_t = _statistical_threshold(model, scenario.engine.kind, real_t)
    tables = build_view_tables(site, cameras, scenario.capture)
    warnings = []
    for i, c in enumerate(cameras):
        if not any(t.camera == i and t.frontal and t.zone.any() for t in tables):
            warnings.append(
                f"camera {c.id} captures no usable face on any route: check its position and heading"
            )
    rates = hourly_rates(scenario, site.daily_passers_by)
    return Context(
        scenario=scenario,
        site=site,
        cameras=cameras,
        tables=tables,
        rates_per_h=rates,
        score_model=model,
        warnings=warnings,
        threshold=stat_t,
        real_threshold=real_t,
        real_threshold_source=real_src,
    )


def _statistical_threshold(model: ScoreModel, kind: str, real_threshold: float) -> float:
    """The statistical engine's threshold in a real-engine run.

    The real threshold is on the real engine's scale. With a ScoreModel calibrated on that engine
    kind (``twin calibrate --engine ...``, which stores the score map) it is translated onto the
    model's scale; otherwise the model scores at its own default threshold (0.6 for the NPL model).
    """
    sm = model.score_map
    if sm is not None and sm.engine_kind == kind:
        return float(np.clip(sm.to_unit(real_threshold), 0.0, 1.0))
    return float(model.default_threshold)
