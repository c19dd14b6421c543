"""What the browser app does, without the browser: plans as scenario documents, and their display.

The app (``app.py`` and ``pages/``) keeps the planner's plan as a scenario *document* (the mapping a
scenario YAML holds, paths as written) and only draws; everything it decides lives here, pure and
tested (no streamlit, no folium):

* the plan: scenario files to pick from (:func:`list_scenarios`), loading one
  (:func:`load_plan`), an uploaded one validated (:func:`plan_from_upload`), the sidebar controls
  as :class:`PlanSettings` applied to a document (:func:`apply_settings`), the saved YAML
  (:func:`plan_yaml`) from which ``twin run`` reproduces every number shown;
* cameras: a camera where the planner clicked, looking against the nearest route's walking
  direction (:func:`camera_at`), and add / move / update / delete on a document;
* caching: :func:`simulation_key` names what the crowd simulation depends on — not the watchlist
  threshold, size or prevalence, which :meth:`twin.sim.run.RunResult.rescore` changes without a
  new simulation — and :class:`RunCache` holds finished runs (least recently used dropped);
* display: "mean (95% PI lo–hi)" strings with units (:func:`fmt_band`), the results table,
  per-hour and comparison frames, the heat points, operations when present, and the
  preview of the deployment record.

Intervals are the run's 95% *predictive* intervals (2.5th–97.5th percentiles over replications,
Poisson noise included; DESIGN.md, Intervals), labelled "95% PI".
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from twin._version import __version__
from twin.errors import CameraGeometryError, ScenarioError
from twin.scenario.governance import plan_window, window_breach
from twin.scenario.load import parse_scenario, parse_yaml_bytes, read_yaml
from twin.scenario.specs import CameraSpec, Scenario
from twin.world.geo import check_in_london, lonlat_to_bng

__all__ = [
    "CONTROL_KEYS",
    "DEFAULT_DURATION_H",
    "DEFAULT_REPLICATIONS",
    "MAX_SCENARIO_BYTES",
    "OPERATIONS_CONTROLS",
    "RESULT_METRICS",
    "SCORING_KEYS",
    "UNDEFINED_WHY",
    "OperationsView",
    "PlanSettings",
    "RecordPreview",
    "RunCache",
    "ScenarioFile",
    "add_camera",
    "apply_settings",
    "camera_at",
    "camera_ids",
    "check_tile_url",
    "compare_frame",
    "compare_table",
    "delete_camera",
    "fmt_band",
    "fmt_value",
    "heat_points",
    "hourly_frame",
    "list_scenarios",
    "load_plan",
    "move_camera",
    "nearest_route",
    "next_camera_id",
    "operations_fields",
    "operations_rows",
    "placement_note",
    "plan_file_name",
    "plan_from_upload",
    "plan_yaml",
    "record_preview",
    "result_table",
    "run_command",
    "settings_from_doc",
    "simulation_key",
    "suggest_heading",
    "time_options",
    "to_scenario",
    "update_camera",
]

#: The Plan page's default window (hours) and replications: immediate, and a first look.
DEFAULT_DURATION_H = 1
DEFAULT_REPLICATIONS = 5
#: Largest scenario upload accepted, bytes (a scenario is a few kB; the server caps all uploads too).
MAX_SCENARIO_BYTES = 256 * 1024
#: Watchlist keys that re-score cached captures instead of re-simulating the crowd.
SCORING_KEYS: tuple[str, ...] = ("threshold", "size", "prevalence")
#: Operations settings offered as controls (the rest are edited in the scenario YAML).
OPERATIONS_CONTROLS: tuple[str, ...] = ("officers", "operators")
#: How far outside the geofence a camera may stand, m (twin.sim.context.CAMERA_OUTSIDE_TOLERANCE_M).
CAMERA_TOLERANCE_M = 5.0


# -- scenario files and documents -----------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file offered as a starting plan.

    Attributes:
        path: the YAML file.
        name: its ``name:``.
        label: what the site picker shows.
    """

    path: Path
    name: str
    label: str


def list_scenarios(folder: str | Path) -> list[ScenarioFile]:
    """The scenario files in ``folder`` (``*.yaml``), sorted by file name; unreadable ones skipped.

    >>> list_scenarios("/nonexistent")
    []
    """
    out = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            doc = read_yaml(path)
        except ScenarioError:
            continue
        name = str(doc.get("name") or path.stem)
        out.append(ScenarioFile(path, name, f"{name} ({path.name})"))
    return out


def to_scenario(doc: Mapping[str, Any], base_dir: str | Path, *, source: str = "plan") -> Scenario:
    """Validate a plan document into a :class:`Scenario` (relative paths against ``base_dir``).

    Raises:
        ScenarioError: anything invalid (the message names the key and the fix).
    """
    return parse_scenario(copy.deepcopy(dict(doc)), base_dir=Path(base_dir), source=source)


def load_plan(path: str | Path) -> dict[str, Any]:
    """A scenario file's document, validated.

    Raises:
        ScenarioError: unreadable or invalid (see :func:`twin.scenario.load.read_yaml`).
    """
    path = Path(path)
    doc = read_yaml(path)
    to_scenario(doc, path.resolve().parent, source=str(path.name))
    return doc


def plan_from_upload(
    data: bytes, name: str, *, scenarios_dir: str | Path, maps_dir: str | Path | None = None,
    max_bytes: int = MAX_SCENARIO_BYTES,
) -> dict[str, Any]:
    """Validate an uploaded scenario file and return its document.

    ``site.map`` is resolved against ``scenarios_dir`` (where the app's scenario files live, so a plan
    saved by the app loads back); failing that, a map of the same file name in ``maps_dir`` is used
    and the path rewritten.

    Args:
        data: the file's bytes (held in memory; nothing is written).
        name: the uploaded file's name.
        scenarios_dir: folder relative paths are resolved against.
        maps_dir: the site maps' folder.
        max_bytes: size limit.

    Raises:
        ScenarioError: not a .yaml/.yml file, empty, too large, not UTF-8, malformed YAML (with line
            and column), not a mapping, an unknown site map, or any invalid value.
    """
    scenarios_dir = Path(scenarios_dir)
    if Path(name).suffix.lower() not in (".yaml", ".yml"):
        raise ScenarioError(f"{name}: not a scenario file; upload a .yaml file (one saved by this app, or from scenarios/)")
    if not data:
        raise ScenarioError(f"{name}: the file is empty; upload a scenario YAML file")
    if len(data) > max_bytes:
        raise ScenarioError(
            f"{name}: {len(data) / 1024:,.0f} kB is too large for a scenario (limit {max_bytes / 1024:,.0f} kB); "
            "upload the scenario YAML itself, not a map or a run folder"
        )
    doc = parse_yaml_bytes(data, name=name)
    site = doc.get("site")
    if not isinstance(site, dict) or not isinstance(site.get("map"), str) or not site["map"].strip():
        raise ScenarioError(f"{name}: site.map is missing; give the site map file, e.g. site: {{map: ../maps/oxford_circus.geojson}}")
    map_path = Path(site["map"])
    resolved = map_path if map_path.is_absolute() else scenarios_dir / map_path
    if not resolved.is_file():
        candidate = Path(maps_dir) / map_path.name if maps_dir is not None else None
        if candidate is not None and candidate.is_file():
            doc = copy.deepcopy(doc)
            doc["site"]["map"] = _relpath(candidate, scenarios_dir)
        else:
            known = sorted(p.name for p in Path(maps_dir).glob("*.geojson")) if maps_dir is not None else []
            raise ScenarioError(
                f"{name}: site.map {site['map']!r} not found; the app resolves it from the scenarios/ folder "
                f"(e.g. ../maps/oxford_circus.geojson); available maps: {', '.join(known) or 'none'}"
            )
    scenario = to_scenario(doc, scenarios_dir, source=name)
    if scenario.engine.kind != "statistical":
        raise ScenarioError(
            f"{name}: engine.kind {scenario.engine.kind!r} runs real faces; the Plan page simulates with "
            "engine.kind: statistical (try real engines on the Pipeline page)"
        )
    return doc


def _relpath(path: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSettings:
    """The Plan page's controls (everything but the cameras).

    Attributes:
        start: window start, local clock "HH:MM".
        duration_h: window length, hours (whole hours, 1-24).
        footfall_scale: multiplier on the site's footfall (>= 0).
        watchlist_size: entries on the watchlist (>= 1).
        prevalence: share of passers-by on the watchlist, [0, 1].
        threshold: alert threshold on the engine's score scale.
        seed: root seed.
        replications: replications of the crowd.
        operations: (field, value) pairs of the scenario's ``operations`` section, if the
            scenario model has one (see :func:`operations_fields`).
    """

    start: str = "12:00"
    duration_h: int = DEFAULT_DURATION_H
    footfall_scale: float = 1.0
    watchlist_size: int = 10_000
    prevalence: float = 1e-4
    threshold: float = 0.6
    seed: int = 0
    replications: int = DEFAULT_REPLICATIONS
    operations: tuple[tuple[str, float], ...] = ()

    @property
    def start_hour(self) -> int:
        """Clock hour of the window start."""
        return int(self.start.split(":")[0])


def settings_from_doc(doc: Mapping[str, Any], *, keep_window: bool = False, keep_replications: bool = False) -> PlanSettings:
    """Controls initialised from a plan document.

    Args:
        doc: the scenario document.
        keep_window: keep the document's window length (rounded up to whole hours); otherwise the
            Plan page's default :data:`DEFAULT_DURATION_H` from the document's start.
        keep_replications: keep the document's replications; otherwise :data:`DEFAULT_REPLICATIONS`.

    >>> settings_from_doc({"time": {"start": "13:00", "duration_s": 14400}, "watchlist": {"size": 9756}}).duration_h
    1
    """
    sc = parse_scenario(copy.deepcopy(dict(doc)), source="plan") if "site" in doc else None
    t = sc.time if sc else None
    wl = sc.watchlist if sc else None
    raw_t, raw_w = doc.get("time") or {}, doc.get("watchlist") or {}
    start = t.start if t else str(raw_t.get("start", "12:00"))
    duration_s = t.duration_s if t else float(raw_t.get("duration_s", 3600))
    return PlanSettings(
        start=start,
        duration_h=max(1, min(24, math.ceil(duration_s / 3600 - 1e-9))) if keep_window else DEFAULT_DURATION_H,
        footfall_scale=float(sc.footfall.scale if sc else (doc.get("footfall") or {}).get("scale", 1.0)),
        watchlist_size=int(wl.size if wl else raw_w.get("size", 10_000)),
        prevalence=float(wl.prevalence if wl else raw_w.get("prevalence", 1e-4)),
        threshold=float(wl.threshold if wl else raw_w.get("threshold", 0.6)),
        seed=int(sc.seed if sc else doc.get("seed", 0)),
        replications=int(sc.replications if sc and keep_replications else DEFAULT_REPLICATIONS),
        operations=tuple((k, float(v)) for k, v in (doc.get("operations") or {}).items()
                         if k in operations_fields() and isinstance(v, (int, float)) and not isinstance(v, bool)),
    )


def apply_settings(doc: Mapping[str, Any], s: PlanSettings) -> dict[str, Any]:
    """A copy of ``doc`` with the controls written in (window, footfall scale, watchlist, seed, replications).

    >>> d = apply_settings({"name": "x"}, PlanSettings(start="09:00", duration_h=2, threshold=0.62))
    >>> d["time"], d["watchlist"]["threshold"], d["replications"]
    ({'start': '09:00', 'duration_s': 7200}, 0.62, 5)
    """
    out = copy.deepcopy(dict(doc))
    out["time"] = {**(out.get("time") or {}), "start": s.start, "duration_s": int(s.duration_h) * 3600}
    out["footfall"] = {**(out.get("footfall") or {}), "scale": float(s.footfall_scale)}
    out["watchlist"] = {**(out.get("watchlist") or {}), "size": int(s.watchlist_size),
                        "prevalence": float(s.prevalence), "threshold": float(s.threshold)}
    out["seed"] = int(s.seed)
    out["replications"] = int(s.replications)
    if s.operations:
        fields = operations_fields()
        out["operations"] = {**(out.get("operations") or {}),
                             **{k: (int(v) if fields.get(k, (float,))[0] is int else float(v)) for k, v in s.operations}}
    return out


def operations_fields() -> dict[str, tuple[type, float, str]]:
    """The operations controls the Plan page offers (:data:`OPERATIONS_CONTROLS`), if the scenario has them.

    The operations model (operators review alerts, officers intercept, :mod:`twin.sim.operations`)
    is built separately: while the scenario model has no ``operations`` section this is empty and
    the page says what is missing. Its other settings are edited in the scenario YAML.

    Returns:
        field name → (int or float, default, description).
    """
    field = Scenario.model_fields.get("operations")
    fields = getattr(field.annotation, "model_fields", None) if field is not None else None
    if not fields:
        return {}
    out: dict[str, tuple[type, float, str]] = {}
    for name in OPERATIONS_CONTROLS:
        fi = fields.get(name)
        if fi is not None and fi.annotation in (int, float) and isinstance(fi.default, (int, float)):
            out[name] = (fi.annotation, float(fi.default), fi.description or "")
    return out


def time_options(current: str | None = None) -> list[str]:
    """Window start choices: every half hour, plus ``current`` if it is another time.

    >>> time_options()[:3], len(time_options("12:15"))
    (['00:00', '00:30', '01:00'], 49)
    """
    opts = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    if current and current not in opts:
        opts = sorted([*opts, current])
    return opts


def check_tile_url(url: str | None) -> str | None:
    """A tile server URL template, checked; None or blank means no tiles (the OSM geometry is drawn).

    Raises:
        ScenarioError: not http(s), or missing {z}, {x} or {y}.

    >>> check_tile_url("  ") is None
    True
    """
    if url is None or not url.strip():
        return None
    url = url.strip()
    if not url.startswith(("http://", "https://")) or not all(p in url for p in ("{z}", "{x}", "{y}")):
        raise ScenarioError(
            f"tile URL {url!r} must be an http(s) XYZ template with {{z}}, {{x}} and {{y}}, "
            "e.g. http://localhost:8080/tiles/{z}/{x}/{y}.png"
        )
    return url


# -- caching --------------------------------------------------------------------------------------


def simulation_key(scenario: Scenario, *, rescored_operations: bool = False) -> str:
    """sha256 (hex) of what the crowd simulation depends on.

    The watchlist's threshold, size and prevalence are left out: changing them re-scores the cached
    captures (:meth:`twin.sim.run.RunResult.rescore`); so are the name and description. With ``rescored_operations`` the
    ``operations`` section is left out too (when ``rescore`` recomputes operations from the stored
    alerts). Seed and replications are in. The site map is named by its resolved path (the file
    does not change while the app runs).
    """
    doc = scenario.model_dump(mode="json")
    for k in SCORING_KEYS:
        doc["watchlist"].pop(k, None)
    for k in ("name", "description"):  # labels, not inputs of the simulation
        doc.pop(k, None)
    if rescored_operations:
        doc.pop("operations", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class RunCache:
    """Finished runs by :func:`simulation_key`; the least recently used dropped beyond ``max_entries``.

    Thread-safe (Streamlit serves sessions from threads). Values are treated as read-only.

    >>> c = RunCache(max_entries=1); c.put("a", 1); c.put("b", 2); ("a" in c, c.get("b"))
    (False, 2)
    """

    def __init__(self, max_entries: int = 8) -> None:
        self.max_entries = max(1, int(max_entries))
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The cached value, or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        """Store a value."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._items.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# -- cameras --------------------------------------------------------------------------------------


def camera_ids(doc: Mapping[str, Any]) -> list[str]:
    """Camera ids of a plan document, in order."""
    return [str(c.get("id")) for c in doc.get("cameras") or []]


def next_camera_id(existing: Sequence[str], prefix: str = "cam") -> str:
    """The first ``prefix_N`` not in ``existing``.

    >>> next_camera_id(["cam_1", "cam_3"])
    'cam_2'
    """
    taken = set(existing)
    n = 1
    while f"{prefix}_{n}" in taken:
        n += 1
    return f"{prefix}_{n}"


def nearest_route(site: Any, x: float, y: float) -> tuple[Any, float]:
    """The site's route passing closest to BNG (x, y), and its distance, m."""
    from shapely import Point

    p = Point(x, y)
    route = min(site.routes, key=lambda r: r.line.distance(p))
    return route, float(route.line.distance(p))


def suggest_heading(site: Any, x: float, y: float) -> float:
    """Compass heading (degrees) for a camera at BNG (x, y): facing walkers on the nearest route.

    The camera looks at the point of the nearest route a little upstream of it (2.5 times its
    distance from the route, 5–30 m), so walkers approach it nearly face-on (|yaw| about 22° from
    the side, 0° on the route): a frontal face is what passes the capture gate.
    """
    from shapely import Point

    route, lateral = nearest_route(site, x, y)
    s = route.line.project(Point(x, y))
    ahead = min(max(2.5 * lateral, 5.0), 30.0)
    target = route.line.interpolate(max(s - ahead, 0.0))
    dx, dy = target.x - x, target.y - y
    if math.hypot(dx, dy) < 0.5:  # at the route's entry, nothing upstream: look against the walking direction
        nxt = route.line.interpolate(min(s + 1.0, route.line.length))
        dx, dy = x - nxt.x, y - nxt.y
    return round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)


def camera_at(
    site: Any, lat: float, lon: float, *, existing_ids: Sequence[str] = (), camera_id: str | None = None,
    heading_deg: float | None = None, **lens: Any,
) -> dict[str, Any]:
    """A camera entry for a click at (lat, lon) on the site.

    Args:
        site: the plan's :class:`twin.world.site.Site`.
        lat, lon: WGS84 position of the click.
        existing_ids: ids already used (the new id avoids them).
        camera_id: the id to use (default :func:`next_camera_id`).
        heading_deg: heading; default :func:`suggest_heading`.
        **lens: other :class:`twin.scenario.specs.CameraSpec` fields (tilt_deg, hfov_deg, mount_height_m, ...).

    Returns:
        a camera mapping for the scenario's ``cameras`` list.

    Raises:
        GeofenceError: the point is outside London.
        CameraGeometryError: the point is more than 5 m outside the site's geofence, or a field is invalid.
    """
    from shapely import Point

    check_in_london(float(lat), float(lon), "camera position")
    x, y = lonlat_to_bng(lon, lat)
    gap = site.geofence.distance(Point(float(x), float(y)))
    if gap > CAMERA_TOLERANCE_M:
        raise CameraGeometryError(
            f"that point is {gap:.0f} m outside the {site.name} geofence (the dashed blue line); "
            f"click inside it, or within {CAMERA_TOLERANCE_M:.0f} m of it"
        )
    cam = {"id": camera_id or next_camera_id(existing_ids), "lat": round(float(lat), 7), "lon": round(float(lon), 7),
           "heading_deg": float(heading_deg) if heading_deg is not None else suggest_heading(site, float(x), float(y))}
    cam.update(lens)
    _check_camera(cam)
    return cam


def placement_note(site: Any, cam: Mapping[str, Any], *, min_ied_px: float = 30.0) -> str:
    """A sentence on where a camera stands relative to the walkers, with a hint if it cannot reach them.

    Compares the distance to the nearest route with the ground distance within which faces reach
    ``min_ied_px`` (pinhole model, :func:`twin.world.camera.ground_distance_for_px_per_m`).
    """
    from twin.world.camera import IED_M, Camera, ground_distance_for_px_per_m

    spec = CameraSpec.model_validate(dict(cam))
    camera = Camera.from_spec(spec)
    route, gap = nearest_route(site, camera.x, camera.y)
    reach = ground_distance_for_px_per_m(camera, min_ied_px / IED_M)
    where = route.street or route.id
    note = f"facing {spec.heading_deg:.0f}°, {gap:.0f} m from the nearest walking route ({where})"
    if gap > reach:
        note += (f". Faces reach {min_ied_px:g} px between the eyes only within {reach:.0f} m of this lens, so it will "
                 "capture few faces or none: move it nearer the walkers, or narrow its field of view")
    return note


def _check_camera(cam: Mapping[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        CameraSpec.model_validate(dict(cam))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CameraGeometryError(
            f"camera {cam.get('id')}: {'.'.join(map(str, err['loc']))}: {err['msg'].removeprefix('Value error, ')}"
        ) from exc


def _index(doc: Mapping[str, Any], cam_id: str) -> int:
    ids = camera_ids(doc)
    if cam_id not in ids:
        raise ScenarioError(f"no camera {cam_id!r} in the plan; cameras are {ids}")
    return ids.index(cam_id)


def add_camera(doc: Mapping[str, Any], cam: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with ``cam`` appended.

    Raises:
        ScenarioError: the id is taken.
    """
    if cam.get("id") in camera_ids(doc):
        raise ScenarioError(f"camera id {cam.get('id')!r} is taken; choose another")
    out = copy.deepcopy(dict(doc))
    out["cameras"] = [*out.get("cameras", []), dict(cam)]
    return out


def move_camera(doc: Mapping[str, Any], cam_id: str, lat: float, lon: float, site: Any) -> dict[str, Any]:
    """A copy of ``doc`` with camera ``cam_id`` moved to (lat, lon), its pose kept.

    Raises:
        ScenarioError: no such camera; CameraGeometryError / GeofenceError as :func:`camera_at`.
    """
    i = _index(doc, cam_id)
    out = copy.deepcopy(dict(doc))
    old = out["cameras"][i]
    moved = camera_at(site, lat, lon, camera_id=cam_id, heading_deg=float(old.get("heading_deg", 0.0)))
    out["cameras"][i] = {**old, "lat": moved["lat"], "lon": moved["lon"]}
    return out


def update_camera(doc: Mapping[str, Any], cam_id: str, **fields: Any) -> dict[str, Any]:
    """A copy of ``doc`` with fields of camera ``cam_id`` changed (heading_deg, tilt_deg, hfov_deg, ...).

    Raises:
        ScenarioError: no such camera; CameraGeometryError: an invalid value (named).
    """
    i = _index(doc, cam_id)
    out = copy.deepcopy(dict(doc))
    cam = {**out["cameras"][i], **{k: v for k, v in fields.items() if v is not None}}
    if "id" in fields and fields["id"] != cam_id and fields["id"] in camera_ids(doc):
        raise ScenarioError(f"camera id {fields['id']!r} is taken; choose another")
    _check_camera(cam)
    out["cameras"][i] = cam
    return out


def delete_camera(doc: Mapping[str, Any], cam_id: str) -> dict[str, Any]:
    """A copy of ``doc`` without camera ``cam_id``.

    Raises:
        ScenarioError: no such camera, or it is the last one (a plan needs a camera).
    """
    i = _index(doc, cam_id)
    if len(camera_ids(doc)) == 1:
        raise ScenarioError(f"camera {cam_id} is the plan's only camera; add another before deleting it")
    out = copy.deepcopy(dict(doc))
    del out["cameras"][i]
    return out


# -- saving ---------------------------------------------------------------------------------------


def plan_file_name(doc: Mapping[str, Any]) -> str:
    """The file name a plan is saved under: its name, lower case, words joined by underscores.

    >>> plan_file_name({"name": "Oxford Circus LFR van deployment"})
    'oxford_circus_lfr_van_deployment.yaml'
    """
    import re

    slug = re.sub(r"[^a-z0-9]+", "_", str(doc.get("name") or "plan").lower()).strip("_")[:60] or "plan"
    return f"{slug}.yaml"


def plan_yaml(doc: Mapping[str, Any], *, file_name: str = "plan.yaml") -> str:
    """The plan as scenario YAML, with a header saying how to reproduce the app's numbers.

    Seed, replications, window and watchlist are in the document, so ``twin run`` on the file
    gives the numbers the app showed (the app re-scores the same stored draws; the CLI scores them
    the same way).
    """
    name = str(doc.get("name", "plan"))
    head = (
        f"# {name}: LFR deployment plan saved from the twin app (twin {__version__}).\n"
        f"# Reproduce every number the app showed for it:  twin run {file_name}\n"
        "# site.map is relative to this file: keep the file in scenarios/ (or fix the path).\n"
        "# Keys and units: twin schema\n"
    )
    body = yaml.safe_dump(_plain(dict(doc)), sort_keys=False, allow_unicode=True, width=110)
    return head + body


#: Keys a plan's controls change, as ``key.path`` (what :func:`run_command` may need to override).
CONTROL_KEYS: tuple[str, ...] = (
    "time.start", "time.duration_s", "footfall.scale", "watchlist.size", "watchlist.prevalence",
    "watchlist.threshold", "seed", "replications",
)  # fmt: skip


def _get_path(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _yaml_scalar(x: Any) -> str:
    """A value as an override's text that YAML reads back as the same value (1e-05 needs a dot).

    >>> _yaml_scalar(1e-05), _yaml_scalar(0.64), _yaml_scalar(3600), _yaml_scalar("11:00")
    ('1.0e-05', '0.64', '3600', '11:00')
    """
    if isinstance(x, float):
        text = repr(x)
        mant, _, exp = text.partition("e")
        if exp and "." not in mant:
            text = f"{mant}.0e{exp}"
        return text
    return str(x)


def run_command(file_name: str, file_doc: Mapping[str, Any], wanted_doc: Mapping[str, Any]) -> str:
    """The ``twin run`` command that reproduces ``wanted_doc`` from the scenario file holding ``file_doc``.

    Only the control keys (:data:`CONTROL_KEYS`, plus the operations section's numbers) that
    differ are passed as ``--set`` overrides.

    >>> run_command("plan.yaml", {"seed": 1, "watchlist": {"threshold": 0.6}}, {"seed": 1, "watchlist": {"threshold": 0.64}})
    'twin run plan.yaml --set watchlist.threshold=0.64'
    """
    keys = list(CONTROL_KEYS)
    keys += [f"operations.{k}" for k in sorted(wanted_doc.get("operations") or {})
             if isinstance((wanted_doc.get("operations") or {})[k], (int, float))]
    sets = []
    for key in keys:
        want = _get_path(wanted_doc, key)
        if want is not None and want != _get_path(file_doc, key):
            sets.append(f"--set {key}={_yaml_scalar(want)}")
    return " ".join(["twin run", file_name, *sets])


def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, Path):
        return x.as_posix()
    if isinstance(x, np.generic):
        return x.item()
    return x


# -- display --------------------------------------------------------------------------------------

#: (label, summary section, key, unit, kind) of the Plan page's results, in display order.
RESULT_METRICS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Passers-by", "per_hour_rate", "passers_by", "people/h", "count"),
    ("Faces scanned", "per_hour_rate", "faces_scanned", "faces/h", "count"),
    ("True alerts", "per_hour_rate", "true_alerts", "alerts/h", "rate"),
    ("False alerts", "per_hour_rate", "false_alerts", "alerts/h", "rate"),
    ("Precision", "rates", "precision", "true ÷ all alerts", "ratio"),
    ("TPIR", "rates", "tpir", "per pass through a zone", "ratio"),
    ("FPIR", "rates", "fpir", "per face scanned", "sci"),
    ("Passers-by in the window", "totals", "passers_by", "people", "count"),
    ("Faces scanned in the window", "totals", "faces_scanned", "faces", "count"),
    ("Alerts in the window", "totals", "alerts", "alerts", "rate"),
    ("True alerts in the window", "totals", "true_alerts", "alerts", "rate"),
    ("False alerts in the window", "totals", "false_alerts", "alerts", "rate"),
)


def fmt_value(x: float | None, kind: str = "count") -> str:
    """One number as shown: counts with thousands separators, rates to 2 significant places.

    >>> fmt_value(12345.6), fmt_value(0.456, "rate"), fmt_value(0.8612, "ratio"), fmt_value(1.41e-4, "sci")
    ('12,346', '0.46', '0.86', '1.4e-04')
    >>> fmt_value(None), fmt_value(float("nan"))
    ('–', '–')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if kind == "sci":
        return "0" if x == 0 else f"{x:.1e}"
    if kind == "ratio":
        return f"{x:.2f}"
    if kind == "rate":
        if x == 0:
            return "0"
        if abs(x) >= 100:
            return f"{x:,.0f}"
        if abs(x) >= 1:
            return f"{x:.1f}"
        return f"{x:.2f}" if abs(x) >= 0.01 else f"{x:.1g}"
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"


#: Why a ratio has no value in any replication, by summary key (shown instead of a number).
UNDEFINED_WHY: dict[str, str] = {
    "precision": "no alerts in any replication",
    "tpir": "no watchlisted passer-by in a zone in any replication",
    "fpir": "no face scanned",
    "engaged_true_share": "no true alerts in any replication",
}


def fmt_band(band: Mapping[str, Any] | None, *, unit: str = "", kind: str = "count", key: str = "") -> str:
    """"mean unit (95% PI lo–hi)" for a summary band; "– (why)" when it has no value.

    >>> fmt_band({"mean": 2.2, "p2_5": 0.1, "p97_5": 4.9}, unit="alerts/h", kind="rate")
    '2.2 alerts/h (95% PI 0.10–4.9)'
    >>> fmt_band({"mean": None, "p2_5": None, "p97_5": None}, kind="ratio", key="precision")
    '– (no alerts in any replication)'
    """
    if not band or band.get("mean") is None:
        return f"– ({UNDEFINED_WHY[key]})" if key in UNDEFINED_WHY else "–"
    u = f" {unit}" if unit else ""
    return (f"{fmt_value(band['mean'], kind)}{u} (95% PI {fmt_value(band.get('p2_5'), kind)}–"
            f"{fmt_value(band.get('p97_5'), kind)})")


def result_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The results as a table: Metric, "Expected (95% PI)", Unit."""
    rows = []
    for label, section, key, unit, kind in RESULT_METRICS:
        band = (summary.get(section) or {}).get(key)
        if band is None:
            continue
        rows.append({"Metric": label, "Expected (95% PI)": fmt_band(band, kind=kind, key=key), "Unit": unit})
    return pd.DataFrame(rows, columns=["Metric", "Expected (95% PI)", "Unit"])


def hourly_frame(summary: Mapping[str, Any], start_hour: int) -> pd.DataFrame:
    """Per-hour alerts (long form): hour label, series ("True alerts" / "False alerts"), mean, lo, hi.

    Hours are clock hours from the window start; values are alerts in that hour (mean over
    replications and the 95% PI).
    """
    hourly = summary.get("hourly") or {}
    rows = []
    for key, series in (("true_alerts", "True alerts"), ("false_alerts", "False alerts")):
        for i, b in enumerate(hourly.get(key, [])):
            rows.append({"hour": f"{(start_hour + i) % 24:02d}:00", "order": i, "series": series,
                         "mean": b.get("mean") or 0.0, "lo": b.get("p2_5") or 0.0, "hi": b.get("p97_5") or 0.0})
    return pd.DataFrame(rows, columns=["hour", "order", "series", "mean", "lo", "hi"])


def heat_points(tracks: pd.DataFrame | None) -> np.ndarray:
    """(K, 2) BNG metres of the best usable captures (replication 0's tracks) for the heat layer."""
    if tracks is None or len(tracks) == 0 or not {"x_m", "y_m", "usable_captures"} <= set(tracks.columns):
        return np.zeros((0, 2))
    t = tracks[tracks["usable_captures"] > 0]
    xy = t[["x_m", "y_m"]].to_numpy(dtype=float)
    return xy[np.all(np.isfinite(xy), axis=1)]


@dataclass(frozen=True)
class OperationsView:
    """The operations figures the Plan page shows (from the summary's ``operations`` section).

    Attributes:
        officers_needed: smallest officer count engaging the target share of true alerts, or None.
        target_share: that target share, or None.
        note: the operations model's one-line explanation (e.g. why the target is not reached).
        rows: (label, "mean unit (95% PI lo–hi)") rows.
        estimable: False when no replication had a true alert (the officers needed cannot be estimated).
    """

    officers_needed: int | None
    target_share: float | None
    note: str
    rows: tuple[tuple[str, str], ...]
    estimable: bool = True

    @property
    def officers_text(self) -> str:
        """The officers needed as shown: a count, "not reached", or "n/a" when it cannot be estimated."""
        if self.officers_needed is not None:
            return str(self.officers_needed)
        return "not reached" if self.estimable else "n/a"


#: (label, section, key, unit, kind) of the operations rows shown, where present.
OPERATIONS_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Stops by officers", "per_hour_rate", "stops", "/h", "rate"),
    ("Wrongful stops (false alerts engaged)", "per_hour_rate", "false_engaged", "/h", "rate"),
    ("Arrests", "per_hour_rate", "arrests", "/h", "rate"),
    ("True alerts engaged", "rates", "engaged_true_share", "share", "ratio"),
    ("Operator busy", "rates", "operator_utilisation", "share of time", "ratio"),
    ("Officers busy", "rates", "officer_utilisation", "share of time", "ratio"),
    ("Wait for review", "times_s", "review_wait_s", "s", "rate"),
)


def operations_rows(summary: Mapping[str, Any]) -> OperationsView | None:
    """The summary's ``operations`` section for display, or None when the run has none.

    Reads defensively: sections or keys the operations model does not give are skipped.
    """
    ops = summary.get("operations")
    if not isinstance(ops, Mapping) or not ops:
        return None
    need = ops.get("officers_needed")
    needed: int | None = None
    target: float | None = None
    note = ""
    estimable = True
    if isinstance(need, Mapping):
        estimable = need.get("true_alerts") != 0
        n = need.get("officers_needed")
        needed = int(n) if isinstance(n, (int, float)) and not isinstance(n, bool) else None
        t = need.get("target_engaged_share")
        target = float(t) if isinstance(t, (int, float)) else None
        note = str(need.get("note") or "")
    elif isinstance(need, (int, float)) and not isinstance(need, bool):
        needed = int(need)
    rows = []
    for label, section, key, unit, kind in OPERATIONS_ROWS:
        band = (ops.get(section) or {}).get(key) if isinstance(ops.get(section), Mapping) else None
        if isinstance(band, Mapping) and "mean" in band:
            rows.append((label, fmt_band(band, unit=unit if unit != "share" else "", kind=kind, key=key)))
    return OperationsView(needed, target, note, tuple(rows), estimable)


def _operations_record_rows(scenario: Scenario, summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    view = operations_rows(summary)
    if view is None:
        return []
    ops = getattr(scenario, "operations", None)
    on_duty = f"{ops.officers} intercept officers and {ops.operators} operator(s) planned; " if ops is not None else ""
    need = (f"{view.officers_needed} needed to engage {view.target_share:.0%} of true alerts"
            if view.officers_needed is not None and view.target_share else view.note or "officers needed not estimated")
    rows = [("Officers", on_duty + need)]
    wrongful = dict(view.rows).get("Wrongful stops (false alerts engaged)")
    if wrongful:
        rows.append(("Wrongful stops", wrongful))
    return rows


@dataclass(frozen=True)
class RecordPreview:
    """What the current plan already determines of its deployment record.

    Attributes:
        rows: (field, value) rows, plan and expected outcome.
        governance: (field, value) rows from the scenario's governance block; empty without one.
        checks: (rule, "ok" / "breach" / "n/a", detail) of the force's own limits.
    """

    rows: tuple[tuple[str, str], ...]
    governance: tuple[tuple[str, str], ...]
    checks: tuple[tuple[str, str, str], ...]


def record_preview(scenario: Scenario, summary: Mapping[str, Any], site: Any) -> RecordPreview:
    """The plan's part of its deployment record (twin.outputs.record builds the full record from a run folder)."""
    t = scenario.time
    end_min = int(round((t.start_s + t.duration_s) / 60)) % (24 * 60)
    model = summary.get("model") or {}
    per_h = summary.get("per_hour_rate") or {}
    totals = summary.get("totals") or {}
    wl = scenario.watchlist
    gov = getattr(scenario, "governance", None)
    ret = getattr(gov, "retention", None)
    keep_days = f"alert images and records kept {ret.alert_days:g} days" if ret is not None else "alerts kept for operator review"
    wl_fate = ("watchlist destroyed at the end of the deployment" if ret is None or ret.watchlist == "destroy_at_end"
               else "watchlist kept after the deployment (the plan says so)")
    rows = (
        ("Deployment", scenario.name),
        ("Site", f"{site.name}{' (approximate geometry)' if site.approximate else ''}; geofenced area {site.area_m2:,.0f} m²"),
        ("Time window", f"{t.start}–{end_min // 60:02d}:{end_min % 60:02d} local ({t.duration_s / 3600:g} h)"),
        ("Cameras", f"{len(scenario.cameras)}: {', '.join(c.id for c in scenario.cameras)}"),
        ("LFR notice signs", f"{len(site.signage)} on the map"),
        ("Watchlist", f"{wl.size:,} entries; {wl.prevalence * 1e5:.3g} per 100,000 passers-by on it (assumption)"),
        ("Engine and threshold", f"{model.get('model_id', scenario.engine.kind)}; alert threshold {wl.threshold:g}"),
        ("Expected FPIR", f"{fmt_value(model.get('fpir_at_threshold'), 'sci')} per face scanned (model, at this threshold and size)"),
        ("Faces scanned", fmt_band(totals.get("faces_scanned"), unit="faces in the window")),
        ("False alerts", f"{fmt_band(per_h.get('false_alerts'), unit='/h', kind='rate')}; "
                         f"{fmt_band(totals.get('false_alerts'), unit='in the window', kind='rate')}"),
        ("True alerts", fmt_band(per_h.get("true_alerts"), unit="/h", kind="rate")),
        *_operations_record_rows(scenario, summary),
        ("Retention", f"non-matched faces: image and template deleted at once, never written; {keep_days}; {wl_fate}"),
    )
    g_rows: list[tuple[str, str]] = []
    checks: list[tuple[str, str, str]] = []
    if gov is not None:
        comp = ", ".join(f"{c.category.replace('_', ' ')} {c.count:,}" for c in gov.watchlist_composition)
        g_rows = [
            ("Operation", gov.operation),
            ("Purpose", gov.purpose),
            ("Intelligence case", gov.intelligence_case),
            ("Less intrusive means", gov.less_intrusive_means),
            ("Authorising officer", gov.authorising_officer_role),
            ("Authorised", f"{gov.start:%Y-%m-%d %H:%M} to {gov.end:%Y-%m-%d %H:%M} ({gov.authorised_hours:g} h)"),
            ("Watchlist composition", f"{comp} (total {gov.watchlist_total:,})"),
            ("Signage plan", gov.signage_plan),
            ("Advance notice", gov.advance_notice or "not stated"),
            ("DPIA", gov.dpia_reference),
        ]
        pol = gov.policy
        faces = (totals.get("faces_scanned") or {}).get("mean") or 0.0
        fa = (totals.get("false_alerts") or {}).get("mean") or 0.0

        def check(rule: str, limit: Any, ok: bool, detail: str) -> None:
            checks.append((rule, "n/a" if limit is None else ("ok" if ok else "breach"),
                           detail if limit is not None else "no limit set in the governance block"))

        check("Watchlist size within the force's limit", pol.max_watchlist_size,
              pol.max_watchlist_size is None or wl.size <= pol.max_watchlist_size,
              f"{wl.size:,} entries; limit {pol.max_watchlist_size or 0:,}")
        check("Threshold at or above the force's minimum", pol.min_threshold,
              pol.min_threshold is None or wl.threshold >= pol.min_threshold,
              f"threshold {wl.threshold:g}; minimum {pol.min_threshold}")
        rate = fa / faces if faces else 0.0
        check("False alerts per face scanned within the limit", pol.max_false_alert_rate_per_face,
              pol.max_false_alert_rate_per_face is None or rate <= pol.max_false_alert_rate_per_face,
              f"expected {rate:.1e} per face; limit {pol.max_false_alert_rate_per_face}")
        check("False alerts in the deployment within the limit", pol.max_false_alerts_per_deployment,
              pol.max_false_alerts_per_deployment is None or fa <= pol.max_false_alerts_per_deployment,
              f"expected {fa:.1f} in the window; limit {pol.max_false_alerts_per_deployment}")
        checks.append(("Watchlist composition adds up to the plan's watchlist size",
                       "ok" if gov.watchlist_total == wl.size else "breach",
                       f"categories {gov.watchlist_total:,}; plan {wl.size:,}"))
        a, b = plan_window(gov, t.start, t.duration_s)
        outside = window_breach(gov, t.start, t.duration_s)
        checks.append(("Plan window inside the authorised period", "breach" if outside else "ok",
                       outside or f"plan {a:%Y-%m-%d %H:%M}-{b:%H:%M}; authorised {gov.start:%Y-%m-%d %H:%M} to {gov.end:%Y-%m-%d %H:%M}"))
    return RecordPreview(rows, tuple(g_rows), tuple(checks))


def compare_table(columns: Sequence[tuple[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """Metrics (rows) × variants (columns), each cell "mean (95% PI lo–hi)"; units in the row label."""
    data: dict[str, list[str]] = {}
    index = []
    for label, section, key, unit, kind in RESULT_METRICS:
        index.append(f"{label} ({unit})")
        for name, summ in columns:
            band = (summ.get(section) or {}).get(key)
            data.setdefault(name, []).append(fmt_band(band, kind=kind, key=key))
    views = [operations_rows(summ) for _, summ in columns]
    if any(v is not None for v in views):
        target = next((v.target_share for v in views if v is not None and v.target_share), None)
        index.append(f"Officers needed (for {target:.0%} of true alerts engaged)" if target else "Officers needed")
        for (name, _), v in zip(columns, views, strict=True):
            data[name].append("–" if v is None else v.officers_text)
        for label, *_ in OPERATIONS_ROWS[:2]:
            index.append(f"{label} (/h)")
            for (name, _), v in zip(columns, views, strict=True):
                data[name].append(dict(v.rows).get(label, "–").replace(" /h", "") if v is not None else "–")
    return pd.DataFrame(data, index=pd.Index(index, name="Metric"))


def compare_frame(columns: Sequence[tuple[str, Mapping[str, Any]]],
                  metrics: Sequence[tuple[str, str, str]] = (("True alerts /h", "per_hour_rate", "true_alerts"),
                                                             ("False alerts /h", "per_hour_rate", "false_alerts"))) -> pd.DataFrame:
    """Long form for charts: variant, metric, mean, lo, hi."""
    rows = []
    for name, summ in columns:
        for label, section, key in metrics:
            b = (summ.get(section) or {}).get(key) or {}
            rows.append({"variant": name, "metric": label, "mean": b.get("mean") or 0.0,
                         "lo": b.get("p2_5") or 0.0, "hi": b.get("p97_5") or 0.0})
    return pd.DataFrame(rows, columns=["variant", "metric", "mean", "lo", "hi"])
