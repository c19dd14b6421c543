"""Writing a site file: rounded WGS84 GeoJSON, deterministic (no timestamps, fixed order, sorted keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import mapping

from sitebuild.geometry import ROUND, to_ll
from sitebuild.model import SiteBuild


def rnd(geom: Any) -> dict:
    """WGS84 GeoJSON geometry dict with coordinates rounded to ROUND decimals."""
    gj = mapping(to_ll(geom))

    def r(c: Any) -> Any:
        if isinstance(c[0], (int, float)):
            return [round(float(c[0]), ROUND), round(float(c[1]), ROUND)]
        return [r(x) for x in c]

    out = {"type": gj["type"], "coordinates": r(gj["coordinates"])}
    if out["type"] == "LineString":  # rounding must not create repeated vertices
        cs = [out["coordinates"][0]]
        for c in out["coordinates"][1:]:
            if c != cs[-1]:
                cs.append(c)
        out["coordinates"] = cs
    return out


def feature(geom: Any, props: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": rnd(geom)}


def assemble(site: SiteBuild) -> dict:
    feats = [
        feature(
            site.fence,
            {
                "role": "geofence",
                "name": f"{site.name} LFR deployment area",
                "source": site.fence_source,
                **({"approximate": True} if site.approximate else {}),
            },
        )
    ]
    feats += [feature(r["geom"], r["props"]) for r in site.routes]
    feats += [feature(v["geom"], v["props"]) for v in site.vans]
    feats += [feature(s["geom"], s["props"]) for s in site.signs]
    feats += [feature(b["geom"], b["props"]) for b in site.base]
    allc = []

    def walk(c: Any) -> None:
        if isinstance(c[0], (int, float)):
            allc.append(c)
        else:
            for x in c:
                walk(x)

    for f in feats:
        walk(f["geometry"]["coordinates"])
    a = np.array(allc)
    bbox = [
        round(float(a[:, 0].min()), ROUND),
        round(float(a[:, 1].min()), ROUND),
        round(float(a[:, 0].max()), ROUND),
        round(float(a[:, 1].max()), ROUND),
    ]
    return {
        "type": "FeatureCollection",
        "site": site.meta,
        "attribution": site.attribution,
        "bbox": bbox,
        "features": feats,
    }


def write(doc: dict, path: Path) -> None:
    """One feature per line, keys sorted: deterministic and diff-friendly."""
    head = {k: v for k, v in doc.items() if k != "features"}
    lines = ["{"]
    for k in sorted(head):
        lines.append(f'"{k}": {json.dumps(head[k], sort_keys=True, ensure_ascii=False)},')
    lines.append('"features": [')
    fl = [json.dumps(f, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for f in doc["features"]]
    lines.append(",\n".join(fl))
    lines.append("]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    path.write_text(text, encoding="utf-8")
