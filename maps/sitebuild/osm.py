"""Reading the OpenStreetMap extracts (``../shared/data/london/``) and keeping their base layers.

The extracts are WGS84 GeoJSON; features come back projected to EPSG:27700. The base layers
(streets, footways, buildings, parks) are what maps draw instead of tiles; they carry the
extract's ODbL attribution.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon, box, shape

from sitebuild.geometry import clean, to_bng
from sitebuild.model import SiteBuild

#: The shared OSM extracts: ``../shared/data/london/`` relative to the repository root.
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "london"


def load_source(name: str) -> tuple[dict, list[tuple[dict, Any]]]:
    path = DATA / f"{name}.geojson"
    if not path.is_file():
        raise SystemExit(
            f"build_sites: source extract {path} not found. The OSM extracts live in "
            f"../shared/data/london/ relative to the repository root ({DATA}); "
            "check out the shared data beside the repository and run again."
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = [(f["properties"], to_bng(shape(f["geometry"]))) for f in doc["features"]]
    return doc, feats


def base_role(props: dict) -> str | None:
    hw = props.get("highway")
    if hw in ("footway", "steps", "pedestrian", "path"):
        return "footway"
    if hw:
        return "street"
    kind = str(props.get("kind", ""))
    if kind.startswith("building"):
        return "building"
    if kind.startswith("park") or kind == "grass":
        return "park"
    return None  # amenity areas: mostly duplicates of building footprints; left out


def add_base_layer(site: SiteBuild, feats: list[tuple[dict, Any]], repo: str, margin: float = 40.0) -> None:
    x0, y0, x1, y1 = site.fence.bounds
    clipbox = box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    if site.data_bbox is not None:
        clipbox = clipbox.intersection(site.data_bbox)
    for props, geom in feats:
        role = base_role(props)
        if role is None or not geom.intersects(clipbox):
            continue
        part = geom.intersection(clipbox)
        parts = getattr(part, "geoms", [part])
        for g in parts:
            if g.is_empty or g.geom_type not in ("LineString", "Polygon"):
                continue
            if g.geom_type == "LineString":
                if g.length < 0.5:
                    continue
                g = clean(g)
            elif g.area < 1.0:
                continue
            p = {k: v for k, v in props.items()}
            p["role"] = role
            if "source" not in p:
                p["source"] = f"{repo} {p.get('source_layer', '')}".strip()
            site.base.append({"geom": g, "props": p})


def data_bbox(doc: dict) -> Polygon:
    return to_bng(box(*doc["bbox"]))


def attribution_sentence(att: dict) -> str:
    return (
        f"OpenStreetMap geometry (ODbL 1.0) from {att['source_repository']} at commit "
        f"{att['source_commit']} via ../shared/data/london/"
    )
