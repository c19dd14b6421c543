"""Shared fixtures: rng, square_site (a small synthetic site map), tiny_scenario, paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from twin.world.geo import bng_to_lonlat

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
MAPS = REPO / "maps"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: BNG origin of the synthetic square site (near Oxford Circus, inside Greater London).
X0, Y0 = 529_000.0, 181_200.0


def _ll(x: float, y: float) -> list[float]:
    lon, lat = bng_to_lonlat(x, y)
    return [round(float(lon), 8), round(float(lat), 8)]


def square_site_doc(*, width_m: float = 4.0) -> dict:
    """A 100 m x 40 m geofence with one straight footway walked both ways, one van and two signs.

    In BNG metres from (X0, Y0): geofence x 0..100, y -20..20; route ``east`` along y = 0 from
    x = 0 to 100, route ``west`` back; a van at (70, -3) whose camera looks west-north-west along the footway
    (heading 290).
    """
    fence = [_ll(X0 + x, Y0 + y) for x, y in [(0, -20), (100, -20), (100, 20), (0, 20), (0, -20)]]
    east = [_ll(X0 + x, Y0) for x in (0.0, 50.0, 100.0)]
    feats = [
        {
            "type": "Feature",
            "properties": {"role": "geofence", "name": "square"},
            "geometry": {"type": "Polygon", "coordinates": [fence]},
        },
        {
            "type": "Feature",
            "properties": {
                "role": "route",
                "id": "east",
                "weight": 1.0,
                "width_m": width_m,
                "entry": "W",
                "exit": "E",
                "street": "test footway",
            },
            "geometry": {"type": "LineString", "coordinates": east},
        },
        {
            "type": "Feature",
            "properties": {
                "role": "route",
                "id": "west",
                "weight": 1.0,
                "width_m": width_m,
                "entry": "E",
                "exit": "W",
                "street": "test footway",
            },
            "geometry": {"type": "LineString", "coordinates": east[::-1]},
        },
        {
            "type": "Feature",
            "properties": {"role": "van", "id": "van1", "headings_deg": [290.0, 110.0]},
            "geometry": {"type": "Point", "coordinates": _ll(X0 + 70, Y0 - 3)},
        },
        {
            "type": "Feature",
            "properties": {"role": "signage", "id": "s1"},
            "geometry": {"type": "Point", "coordinates": _ll(X0 + 3, Y0 - 2)},
        },
        {
            "type": "Feature",
            "properties": {"role": "signage", "id": "s2"},
            "geometry": {"type": "Point", "coordinates": _ll(X0 + 97, Y0 - 2)},
        },
        {
            "type": "Feature",
            "properties": {"role": "street", "highway": "primary"},
            "geometry": {"type": "LineString", "coordinates": [_ll(X0, Y0 - 10), _ll(X0 + 100, Y0 - 10)]},
        },
    ]
    return {
        "type": "FeatureCollection",
        "site": {
            "id": "square",
            "name": "Test square",
            "footfall": {"daily_passers_by": 100_000, "source": "test"},
        },
        "attribution": {"text": "synthetic test site"},
        "features": feats,
    }


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded generator."""
    return np.random.default_rng(12345)


@pytest.fixture
def square_site(tmp_path: Path) -> Path:
    """Path of the synthetic square site map (see :func:`square_site_doc`)."""
    path = tmp_path / "square.geojson"
    path.write_text(json.dumps(square_site_doc()))
    return path


def tiny_scenario_doc(map_path: Path, **extra: object) -> dict:
    """A scenario dict on the square site: one camera at the van looking along the footway, 10 minutes at
    noon."""
    lon, lat = bng_to_lonlat(X0 + 70, Y0 - 3)
    doc: dict = {
        "name": "tiny",
        "site": {"map": str(map_path)},
        "time": {"start": "12:00", "duration_s": 600},
        "footfall": {"rate_per_h": [3600.0] * 24},
        "cameras": [{"id": "cam_w", "lat": float(lat), "lon": float(lon), "heading_deg": 290.0}],
        "watchlist": {"size": 10_000, "prevalence": 0.01, "threshold": 0.6},
        "seed": 7,
        "replications": 3,
    }
    doc.update(extra)
    return doc


def governance_doc(**changes: object) -> dict:
    """A valid governance block (the minimum a deployment record needs): 1,000 entries, authorised for
    12:00-18:00 on 5 Dec 2026; ``changes`` replace its keys."""
    doc: dict = {
        "operation": "Op T",
        "purpose": "p",
        "intelligence_case": "i",
        "less_intrusive_means": "l",
        "authorising_officer_role": "Superintendent",
        "start": "2026-12-05T12:00:00+00:00",
        "end": "2026-12-05T18:00:00+00:00",
        "signage_plan": "boards",
        "dpia_reference": "D-1",
        "watchlist_composition": [
            {"category": "wanted", "count": 900, "image_source": "custody"},
            {"category": "missing", "count": 100, "image_source": "families"},
        ],
    }
    doc.update(changes)
    return doc


def square_latlon(x: float, y: float) -> tuple[float, float]:
    """(lat, lon) of the square site's point (x, y) metres from its origin (X0, Y0)."""
    lon, lat = bng_to_lonlat(X0 + x, Y0 + y)
    return float(lat), float(lon)


@pytest.fixture
def square_site_loaded(square_site: Path):
    """The square site map, loaded (:func:`twin.world.site.load_site`)."""
    from twin.world.site import load_site

    return load_site(square_site)


@pytest.fixture
def tiny_doc(square_site: Path) -> dict:
    """The tiny scenario as a plan document (a mapping, paths as written)."""
    return tiny_scenario_doc(square_site)


@pytest.fixture
def tiny_scenario_path(square_site: Path, tmp_path: Path) -> Path:
    """A scenario YAML file on the square site."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario_doc(square_site)))
    return path


@pytest.fixture
def tiny_scenario(tiny_scenario_path: Path):
    """The tiny scenario, loaded."""
    from twin.scenario.load import load_scenario

    return load_scenario(tiny_scenario_path)


@pytest.fixture(scope="session")
def dlib_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small dlib run through the CLI (tests/real_runs.py): folder, output, temp-dir images before and
    after."""
    from real_runs import dlib_run_folder

    return dlib_run_folder(tmp_path_factory)


def fork_site_doc(*, signs: list[tuple[float, float]] | None = None) -> dict:
    """Two footways from the west (``north`` from (0, 20), ``south`` from (0, -20)) join at x = 40 and go on
    east together to x = 100: everyone walks west to east and everyone passes the trunk x 40..100, the
    site's one choke point. Signs at both entries unless ``signs`` says otherwise (BNG metres from X0, Y0)."""
    fence = [_ll(X0 + x, Y0 + y) for x, y in [(0, -30), (100, -30), (100, 30), (0, 30), (0, -30)]]

    def route(rid: str, y0: float) -> dict:
        return {
            "type": "Feature",
            "properties": {
                "role": "route",
                "id": rid,
                "weight": 1.0,
                "width_m": 3.0,
                "entry": "W",
                "exit": "E",
            },
            "geometry": {
                "type": "LineString",
                "coordinates": [_ll(X0, Y0 + y0), _ll(X0 + 40, Y0), _ll(X0 + 100, Y0)],
            },
        }

    feats = [
        {
            "type": "Feature",
            "properties": {"role": "geofence", "name": "fork"},
            "geometry": {"type": "Polygon", "coordinates": [fence]},
        },
        route("north", 20.0),
        route("south", -20.0),
    ]
    for i, (x, y) in enumerate(signs if signs is not None else [(2.0, 19.0), (2.0, -19.0)]):
        feats.append(
            {
                "type": "Feature",
                "properties": {"role": "signage", "id": f"s{i}"},
                "geometry": {"type": "Point", "coordinates": _ll(X0 + x, Y0 + y)},
            }
        )
    return {
        "type": "FeatureCollection",
        "site": {"id": "fork", "name": "Fork", "footfall": {"daily_passers_by": 50_000, "source": "test"}},
        "attribution": {"text": "synthetic test site"},
        "features": feats,
    }


def fork_scenario_doc(tmp_path: Path, **site_kw: object) -> dict:
    """A scenario dict on the fork site (:func:`fork_site_doc`, written to ``tmp_path``): 15 minutes at
    2,400 passers-by per hour, and the scenario's own camera on the north branch (it sees half the
    walkers)."""
    path = tmp_path / "fork.geojson"
    path.write_text(json.dumps(fork_site_doc(**site_kw)))  # type: ignore[arg-type]
    lon, lat = bng_to_lonlat(X0 + 10, Y0 + 16)
    return {
        "name": "fork",
        "site": {"map": str(path)},
        "time": {"start": "12:00", "duration_s": 900},
        "footfall": {"rate_per_h": [2400.0] * 24},
        "cameras": [{"id": "own_cam1", "lat": float(lat), "lon": float(lon), "heading_deg": 301.0}],
        "watchlist": {"size": 10_000, "prevalence": 0.01, "threshold": 0.6},
        "seed": 11,
        "replications": 2,
    }
