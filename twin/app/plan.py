"""The planner's plan, without the browser: a scenario document, the page's controls, saving and reproducing.

The app (``app.py`` and ``pages/``) keeps the plan as a scenario *document* (the mapping a scenario
YAML holds, paths as written) and only draws; what it decides lives in :mod:`twin.app` (pure and
tested, no streamlit): here the plan itself — scenario files to pick from (:func:`list_scenarios`),
loading one (:func:`load_plan`), an uploaded one validated (:func:`plan_from_upload`), the sidebar
controls as :class:`PlanSettings` applied to a document (:func:`apply_settings`), the starting
controls of a Compare column (:func:`variant_start`), the saved YAML (:func:`plan_yaml`) from which
``twin run`` reproduces every number shown, and the command that does (:func:`run_command`).
Cameras are :mod:`twin.app.cameras`, cached runs :mod:`twin.app.cache`, what the pages show
:mod:`twin.app.views`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from twin._version import __version__
from twin.errors import ScenarioError
from twin.files import MAX_SCENARIO_BYTES as _MAX_SCENARIO_FILE_BYTES
from twin.scenario.load import parse_scenario, parse_yaml_bytes, read_yaml
from twin.scenario.specs import Scenario
from twin.scenario.watchlist import WatchlistSpec

__all__ = [
    "CONTROL_KEYS",
    "CONTROL_RANGES",
    "DEFAULT_DURATION_H",
    "DEFAULT_REPLICATIONS",
    "MAX_SCENARIO_BYTES",
    "OPERATIONS_CONTROLS",
    "OPS_LABELS",
    "STRICTER_VARIANT_STEP",
    "PlanSettings",
    "ScenarioFile",
    "apply_settings",
    "check_placement",
    "check_tile_url",
    "control_range",
    "list_scenarios",
    "load_plan",
    "operations_fields",
    "plan_file_name",
    "plan_from_upload",
    "plan_yaml",
    "run_command",
    "settings_from_doc",
    "site_label",
    "tile_server_problem",
    "time_options",
    "to_scenario",
    "variant_start",
]

#: The Plan page's default window (hours) and replications: immediate, and a first look.
DEFAULT_DURATION_H = 1
DEFAULT_REPLICATIONS = 5
#: Largest scenario upload accepted, bytes: a scenario file's cap (:data:`twin.files.MAX_SCENARIO_BYTES`).
MAX_SCENARIO_BYTES = _MAX_SCENARIO_FILE_BYTES
#: Operations settings offered as controls (the rest are edited in the scenario YAML).
OPERATIONS_CONTROLS: tuple[str, ...] = ("officers", "operators")
#: The operations controls' labels and least values on the Plan page.
OPS_LABELS: dict[str, tuple[str, int]] = {
    "officers": ("Intercept officers on duty", 0),
    "operators": ("Operators reviewing alerts", 1),
}
#: The Compare page's second column of the current plan starts this much stricter (a first useful
#: comparison), at most :data:`VARIANT_MAX_THRESHOLD`.
STRICTER_VARIANT_STEP = 0.04
VARIANT_MAX_THRESHOLD = 0.8
#: The Plan page's control ranges (low, high) for a typical plan; a loaded plan's own value outside one
#: widens it (:func:`control_range`), so every plan the command line accepts loads.
CONTROL_RANGES: dict[str, tuple[float, float]] = {
    "duration_h": (1, 12),
    "footfall_scale": (0.1, 3.0),
    "threshold": (0.5, 0.8),
    "replications": (2, 40),
    "hfov_deg": (5.0, 120.0),
    "heading_deg": (0.0, 359.9),
}


def control_range(name: str, value: float) -> tuple[float, float]:
    """The Plan page's range for control ``name``, widened to hold ``value`` (a plan's own setting).

    >>> control_range("threshold", 0.6), control_range("threshold", 0.9)
    ((0.5, 0.8), (0.5, 0.9))
    """
    lo, hi = CONTROL_RANGES[name]
    return (min(lo, value), max(hi, value))


# -- scenario files and documents -----------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file offered as a starting plan.

    Attributes:
        path: the YAML file.
        name: its ``name:``.
        label: what the site picker shows (:func:`site_label`).
    """

    path: Path
    name: str
    label: str


#: Words a site picker can leave out of a scenario's name (every shipped plan is a van deployment), and
#: shorter forms of its notes, so the name fits the sidebar.
_LABEL_SHORTENINGS: tuple[tuple[str, str], ...] = (
    (" LFR van deployment", ""),
    (" (approximate geometry)", " (approx.)"),
    (" (validation record)", ", record"),
)


def site_label(name: str) -> str:
    """A scenario's name as the site picker shows it: short enough for the sidebar (about 28 characters).

    >>> site_label("Oxford Circus LFR van deployment")
    'Oxford Circus'
    >>> site_label("Croydon North End LFR van deployment (approximate geometry)")
    'Croydon North End (approx.)'
    >>> site_label("Oxford Circus 28 Jan 2022 (validation record)")
    'Oxford Circus 28 Jan 2022, record'
    """
    out = str(name)
    for long, short in _LABEL_SHORTENINGS:
        out = out.replace(long, short)
    return out.strip() or str(name)


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
        out.append(ScenarioFile(path, name, site_label(name)))
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
    data: bytes,
    name: str,
    *,
    scenarios_dir: str | Path,
    maps_dir: str | Path | None = None,
    max_bytes: int = MAX_SCENARIO_BYTES,
) -> dict[str, Any]:
    """Validate an uploaded scenario file and return its document.

    ``site.map`` is resolved against ``scenarios_dir`` (where the app's scenario files live, so a plan
    saved by the app loads back); failing that, or when it lies outside ``maps_dir`` (an upload names
    only the app's own maps, never another file on the server), a map of the same file name in
    ``maps_dir`` is used and the path rewritten. ``engine.score_model`` (a file on the server) is
    refused.

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
        raise ScenarioError(
            f"{name}: not a scenario file; upload a .yaml file (one saved by this app, or from scenarios/)"
        )
    if not data:
        raise ScenarioError(f"{name}: the file is empty; upload a scenario YAML file")
    if len(data) > max_bytes:
        raise ScenarioError(
            f"{name}: {len(data) / 1024:,.0f} kB is too large for a scenario (limit "
            f"{max_bytes / 1024:,.0f} kB); "
            "upload the scenario YAML itself, not a map or a run folder"
        )
    doc = parse_yaml_bytes(data, name=name)
    site = doc.get("site")
    if not isinstance(site, dict) or not isinstance(site.get("map"), str) or not site["map"].strip():
        raise ScenarioError(
            f"{name}: site.map is missing; give the site map file, e.g. site: {{map: "
            "../maps/oxford_circus.geojson}"
        )
    map_path = Path(site["map"])
    resolved = map_path if map_path.is_absolute() else scenarios_dir / map_path
    # an upload comes from the browser: it may name only the app's own maps (by name), never another
    # file on the server (whose content or existence its error would reveal)
    outside = maps_dir is not None and not resolved.resolve().is_relative_to(Path(maps_dir).resolve())
    engine = doc.get("engine")
    if isinstance(engine, dict) and engine.get("score_model") is not None:
        raise ScenarioError(
            f"{name}: engine.score_model names a file on the server; the Plan page uses the built-in "
            "statistical model (run a calibrated score model with `twin run`)"
        )
    if outside or not resolved.is_file():
        candidate = (
            Path(maps_dir) / map_path.name if maps_dir is not None and map_path.suffix == ".geojson" else None
        )
        if candidate is not None and candidate.is_file():
            doc = copy.deepcopy(doc)
            doc["site"]["map"] = _relpath(candidate, scenarios_dir)
        else:
            known = sorted(p.name for p in Path(maps_dir).glob("*.geojson")) if maps_dir is not None else []
            why = "is not one of the app's site maps" if outside and resolved.is_file() else "not found"
            raise ScenarioError(
                f"{name}: site.map {site['map']!r} {why}; the app resolves it from the scenarios/ folder "
                f"(e.g. ../maps/oxford_circus.geojson); available maps: {', '.join(known) or 'none'}"
            )
    scenario = to_scenario(doc, scenarios_dir, source=name)
    if scenario.engine.kind != "statistical":
        raise ScenarioError(
            f"{name}: engine.kind {scenario.engine.kind!r} runs real faces; the Plan page simulates with "
            "engine.kind: statistical (try real engines on the Pipeline page)"
        )
    check_placement(scenario, name=name)
    return doc


def check_placement(scenario: Scenario, *, name: str = "") -> None:
    """Check what a valid scenario document cannot show by itself: its site map loads and every camera
    stands in London and within reach of the site's geofence (as a run will check them).

    Raises:
        TwinError: the map is unusable, or a camera's lat and lon are swapped, or it stands too far
            outside the geofence (the message names the camera and the fix, prefixed with ``name``).
    """
    from twin.errors import TwinError
    from twin.sim.context import place_cameras
    from twin.world.site import load_site

    try:
        sp = scenario.site
        site = load_site(
            sp.map, route_weights=sp.route_weights, extra_signage=[(s.lat, s.lon) for s in sp.signage]
        )
        place_cameras(scenario, site)
    except TwinError as exc:
        raise type(exc)(f"{name}: {exc}" if name else str(exc)) from exc


def _relpath(path: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PlanSettings:
    """The Plan page's controls (everything but the cameras).

    Attributes:
        start: window start, local clock "HH:MM".
        duration_h: window length, hours (whole hours, 1-24).
        footfall_scale: multiplier on the site's footfall (>= 0).
        watchlist_size: entries on the watchlist (>= 1).
        prevalence: share of passers-by on the watchlist, [0, 1] (the mean across deployments).
        prevalence_dispersion: its between-deployment Gamma dispersion (0: the same every time).
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
    prevalence_dispersion: float = 0.0
    threshold: float = 0.6
    seed: int = 0
    replications: int = DEFAULT_REPLICATIONS
    operations: tuple[tuple[str, float], ...] = ()

    @property
    def start_hour(self) -> int:
        """Clock hour of the window start."""
        return int(self.start.split(":")[0])

    def with_watchlist(self, *, threshold: float, size: int) -> PlanSettings:
        """These controls with another threshold and watchlist size."""
        return dataclasses.replace(self, threshold=float(threshold), watchlist_size=int(size))


def settings_from_doc(
    doc: Mapping[str, Any], *, keep_window: bool = False, keep_replications: bool = False
) -> PlanSettings:
    """Controls initialised from a plan document.

    Args:
        doc: the scenario document.
        keep_window: keep the document's window length (rounded up to whole hours); otherwise the
            Plan page's default :data:`DEFAULT_DURATION_H` from the document's start.
        keep_replications: keep the document's replications; otherwise :data:`DEFAULT_REPLICATIONS`.

    >>> doc = {"time": {"start": "13:00", "duration_s": 14400}, "watchlist": {"size": 9756}}
    >>> settings_from_doc(doc).duration_h
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
        duration_h=max(1, min(24, math.ceil(duration_s / 3600 - 1e-9)))
        if keep_window
        else DEFAULT_DURATION_H,
        footfall_scale=float(sc.footfall.scale if sc else (doc.get("footfall") or {}).get("scale", 1.0)),
        watchlist_size=int(wl.size if wl else raw_w.get("size", 10_000)),
        prevalence=float(wl.prevalence if wl else raw_w.get("prevalence", 1e-4)),
        prevalence_dispersion=float(wl.prevalence_dispersion if wl else 0.0),
        threshold=float(wl.threshold if wl else raw_w.get("threshold", 0.6)),
        seed=int(sc.seed if sc else doc.get("seed", 0)),
        replications=int(sc.replications if sc and keep_replications else DEFAULT_REPLICATIONS),
        operations=tuple(
            (k, float(v))
            for k, v in (doc.get("operations") or {}).items()
            if k in operations_fields() and isinstance(v, (int, float)) and not isinstance(v, bool)
        ),
    )


def _same_prevalence(wl_doc: Mapping[str, Any], s: PlanSettings) -> bool:
    """Whether a document's watchlist prevalence resolves to the controls' mean and dispersion."""
    if "prevalence" not in wl_doc:
        return False
    try:
        wl = WatchlistSpec.model_validate(
            {
                "size": s.watchlist_size,
                "prevalence": wl_doc["prevalence"],
                "prevalence_dispersion": wl_doc.get("prevalence_dispersion", 0.0),
            }
        )
    except (ValueError, TypeError):
        return False
    return math.isclose(wl.prevalence, s.prevalence, rel_tol=1e-6) and math.isclose(  # widgets round
        wl.prevalence_dispersion, s.prevalence_dispersion, rel_tol=1e-6, abs_tol=1e-12
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
    wl = {
        k: v
        for k, v in (out.get("watchlist") or {}).items()
        if k not in ("prevalence_dispersion", "prevalence_fitted")
    }
    prevalence: Any = float(s.prevalence)
    if s.prevalence_dispersion > 0:  # keep the spread across deployments (e.g. fitted on the records)
        prevalence = {"mean": float(s.prevalence), "dispersion": float(s.prevalence_dispersion)}
    if _same_prevalence(out.get("watchlist") or {}, s):
        prevalence = (out.get("watchlist") or {})["prevalence"]  # unchanged: keep its form ({fitted: site})
    out["watchlist"] = {
        **wl,
        "size": int(s.watchlist_size),
        "prevalence": prevalence,
        "threshold": float(s.threshold),
    }
    out["seed"] = int(s.seed)
    out["replications"] = int(s.replications)
    if s.operations:
        fields = operations_fields()
        out["operations"] = {
            **(out.get("operations") or {}),
            **{k: (int(v) if fields.get(k, (float,))[0] is int else float(v)) for k, v in s.operations},
        }
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


def variant_start(current: PlanSettings, index: int, source: PlanSettings | None = None) -> PlanSettings:
    """The controls a Compare column starts from.

    The watchlist, footfall scale and operations come from the current plan, or from ``source``
    (a scenario file's controls); the window, seed and replications are always the current plan's,
    so differences come from the plans. The current plan's second column (``index`` 1) starts at a
    stricter threshold, :data:`STRICTER_VARIANT_STEP` higher (at most :data:`VARIANT_MAX_THRESHOLD`).

    >>> variant_start(PlanSettings(threshold=0.6), 1).threshold
    0.64
    >>> variant_start(PlanSettings(threshold=0.78), 1).threshold
    0.8
    >>> variant_start(PlanSettings(threshold=0.9), 1).threshold
    0.9
    """
    base = current if source is None else source
    threshold = base.threshold
    if index == 1 and source is None:
        stricter = min(VARIANT_MAX_THRESHOLD, round(current.threshold + STRICTER_VARIANT_STEP, 3))
        threshold = max(current.threshold, stricter)  # never looser than a plan already above the cap
    return PlanSettings(
        start=current.start,
        duration_h=current.duration_h,
        footfall_scale=base.footfall_scale,
        watchlist_size=base.watchlist_size,
        prevalence=base.prevalence,
        prevalence_dispersion=base.prevalence_dispersion,
        threshold=threshold,
        seed=current.seed,
        replications=current.replications,
        operations=base.operations,
    )


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


def tile_server_problem(
    url: str, lat: float, lon: float, *, zoom: int = 18, timeout_s: float = 2.0
) -> str | None:
    """Why a tile server does not serve the site's tile, or None when it answers with an image.

    Asks for the tile holding (lat, lon) at ``zoom`` (the XYZ "slippy map" numbering), without a
    proxy (a tile server on the planning network is reached directly).

    Args:
        url: an XYZ template checked by :func:`check_tile_url`.
        lat, lon: WGS84 point (the site's centre).
        zoom: zoom level of the tile asked for.
        timeout_s: how long to wait, s.

    Returns:
        one line naming the tile URL and what went wrong, or None.
    """
    import urllib.error
    import urllib.request

    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    tile = url.replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y)).replace("{s}", "a")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(tile, timeout=timeout_s) as r:
            ctype = str(r.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        return f"the tile server answered HTTP {exc.code} for {tile}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"the tile server did not answer ({reason}) for {tile}"
    if not ctype.startswith("image/"):
        return f"the tile server answered with {ctype or 'no content type'}, not an image, for {tile}"
    return None


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
    if isinstance(x, Mapping):  # a YAML flow mapping, e.g. prevalence: {mean: 0.001, dispersion: 0.4}
        return "{" + ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in x.items()) + "}"
    return str(x)


def run_command(file_name: str, file_doc: Mapping[str, Any], wanted_doc: Mapping[str, Any]) -> str:
    """The ``twin run`` command that reproduces ``wanted_doc`` from the scenario file holding ``file_doc``.

    Only the control keys (:data:`CONTROL_KEYS`, plus the operations section's numbers) that
    differ are passed as ``--set`` overrides.

    >>> file_doc = {"seed": 1, "watchlist": {"threshold": 0.6}}
    >>> run_command("plan.yaml", file_doc, {"seed": 1, "watchlist": {"threshold": 0.64}})
    'twin run plan.yaml --set watchlist.threshold=0.64'
    """
    keys = list(CONTROL_KEYS)
    keys += [
        f"operations.{k}"
        for k in sorted(wanted_doc.get("operations") or {})
        if isinstance((wanted_doc.get("operations") or {})[k], (int, float))
    ]
    sets = []
    for key in keys:
        want = _get_path(wanted_doc, key)
        if want is not None and want != _get_path(file_doc, key):
            text = f"{key}={_yaml_scalar(want)}"
            sets.append(f'--set "{text}"' if " " in text else f"--set {text}")
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
