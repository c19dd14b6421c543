"""What a run needs that does not depend on the seed: the site, cameras, view tables, rates, engine settings.

:func:`prepare` is the first stage of every run (and of every worker process): it loads the site
map, places the cameras (each within :data:`CAMERA_OUTSIDE_TOLERANCE_M` of the geofence),
precomputes the route x camera view tables, the hourly arrival rates and the score model, and
resolves the thresholds (a real engine's on its own scale, :mod:`twin.sim.engine_setup`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.errors import CameraGeometryError, EngineError, ScenarioError
from twin.recognition.engines.base import check_threshold
from twin.scenario.specs import Scenario
from twin.scoring.score_model import ScoreModel, default_score_model, load_score_model
from twin.sim.arrivals import hourly_rates
from twin.sim.engine_setup import resolve_threshold
from twin.world.camera import Camera
from twin.world.capture import (
    RouteStations,
    ViewTable,
    camera_view_tables,
    merge_view_tables,
    reindex_view_tables,
    route_stations,
)
from twin.world.site import Site, load_site

__all__ = ["CAMERA_OUTSIDE_TOLERANCE_M", "Context", "camera_table_key", "prepare"]

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


def prepare(
    scenario: Scenario,
    *,
    site: Site | None = None,
    view_tables: MutableMapping[str, Any] | None = None,
) -> Context:
    """Load the site, place the cameras, precompute view tables and validate the engine settings.

    Args:
        scenario: the scenario.
        site: the scenario's site already loaded (from an earlier context of the same site map,
            route weights and signs), or None to load it.
        view_tables: a cache of each camera's view tables by :func:`camera_table_key` (and of the
            site's route stations), read and filled here: a camera whose position, pose and lens did
            not change keeps its tables (the app's camera edits). The context is the same with or
            without it.

    Raises:
        MapFileError, GeofenceError: the site map (see :func:`twin.world.site.load_site`).
        CameraGeometryError: a camera outside the area.
        EngineError: unsupported engine for a planning run, or threshold outside its score range.
        ScenarioError: footfall unusable.
    """
    if site is None:
        site = load_site(
            scenario.site.map,
            route_weights=scenario.site.route_weights,
            extra_signage=[(s.lat, s.lon) for s in scenario.site.signage],
        )
    cameras = place_cameras(scenario, site)
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
    tables = _view_tables(scenario, site, cameras, view_tables)
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


def place_cameras(scenario: Scenario, site: Site) -> list[Camera]:
    """The scenario's cameras on the site, each within :data:`CAMERA_OUTSIDE_TOLERANCE_M` of the geofence.

    Raises:
        CameraGeometryError: a camera stands further outside (named, with the distance).
        GeofenceError: a camera's position is outside London (or its lat and lon are swapped).
    """
    from shapely import Point

    cameras = [Camera.from_spec(c) for c in scenario.cameras]
    for c in cameras:
        gap = site.geofence.distance(Point(c.x, c.y))
        if gap > CAMERA_OUTSIDE_TOLERANCE_M:
            raise CameraGeometryError(
                f"camera {c.id} stands {gap:.0f} m outside the {site.name} geofence; place it inside the "
                f"target area (within {CAMERA_OUTSIDE_TOLERANCE_M:.0f} m of it), e.g. at a van position "
                "of the map"
            )
    return cameras


def camera_table_key(scenario: Scenario, site: Site, index: int) -> str:
    """sha256 (hex) of what camera ``index``'s view tables depend on: the site map, the camera's position,
    pose and lens (not its id) and the capture gate."""
    cam = scenario.cameras[index].model_dump(mode="json")
    cam.pop("id", None)
    doc = {"site": site.sha256, "routes": [r.id for r in site.routes], "camera": cam}
    doc["gate"] = scenario.capture.model_dump(mode="json")
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _view_tables(
    scenario: Scenario,
    site: Site,
    cameras: list[Camera],
    cache: MutableMapping[str, Any] | None,
) -> list[ViewTable]:
    """Every route x camera view table, ordered by (route, camera); a camera's tables from ``cache`` where
    it holds them."""
    stations: list[RouteStations] | None = None

    def site_stations() -> list[RouteStations]:
        key = f"stations:{site.sha256}:{','.join(r.id for r in site.routes)}"
        got = cache.get(key) if cache is not None else None
        if got is None:
            got = route_stations(site)
            if cache is not None:
                cache[key] = got
        return list(got)

    per_camera = []
    for ci, cam in enumerate(cameras):
        key = camera_table_key(scenario, site, ci) if cache is not None else ""
        kept = cache.get(key) if cache is not None else None
        if kept is None:
            stations = stations if stations is not None else site_stations()
            kept = camera_view_tables(stations, cam, ci, scenario.capture)
            if cache is not None:
                cache[key] = kept
        per_camera.append(reindex_view_tables(kept, ci))
    return merge_view_tables(per_camera)


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
