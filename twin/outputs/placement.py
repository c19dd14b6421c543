"""Writing a recommended placement (``twin optimise``): its figures, a scenario ``twin run`` takes, a map.

The folder ``optimise-<scenario>/`` is written atomically (:func:`twin.outputs.folders.atomic_folder`)
and holds:

* ``placement.json``: the chosen vans (position, headings, marginal gain), the objective and false
  alerts per hour of the placement and of the scenario's own, each method tried, the candidates,
  and (with ``verify``) both placements' figures from full runs with the same seeds;
* ``scenario.yaml`` and ``site.geojson``: the scenario with the recommended cameras (``twin run
  scenario.yaml`` in the folder runs it);
* ``map.html``: the site with the recommended cameras and their views, the scenario's own cameras
  and every candidate position (offline: Leaflet embedded).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from twin._version import __version__
from twin.outputs.folders import atomic_folder
from twin.outputs.mapview import add_point_layer, build_map, save_map
from twin.sim.optimise import OptimiseResult, placement_scenario
from twin.sim.ranking import Figures
from twin.world.camera import Camera

__all__ = ["placement_doc", "write_placement"]


def placement_doc(result: OptimiseResult, verify: tuple[Figures, Figures] | None = None) -> dict[str, Any]:
    """``placement.json``'s content (per-hour figures; the model's, and with ``verify`` full runs')."""
    pm = result.model
    vans = []
    for k, (pose, gain) in enumerate(zip(result.poses, result.selection.gains, strict=True)):
        lon, lat = pose.lonlat
        vans.append(
            {
                "van": f"opt_van{k + 1}",
                "lat": round(lat, 7),
                "lon": round(lon, 7),
                "headings_deg": list(pose.headings_deg),
                "along_route": pose.route_id,
                "at_m": round(pose.s_m, 1),
                "marginal_gain_per_h": gain,
            }
        )
    doc: dict[str, Any] = {
        "scenario": result.scenario.name,
        "objective": result.objective,
        "objective_unit": "per hour (expected, the optimiser's model on common random numbers)",
        "max_false_alerts_per_h": result.budget,
        "vans": vans,
        "value_per_h": result.value,
        "false_alerts_per_h": result.false_alerts_per_h,
        "own_placement": {
            "cameras": [c.id for c in result.scenario.cameras],
            "value_per_h": result.baseline_value,
            "false_alerts_per_h": result.baseline_false_alerts_per_h,
        },
        "gain_over_own_placement": result.gain_over_baseline,
        "kept_method": result.selection.method,
        "methods": [
            {
                "method": s.method,
                "value_per_h": s.value,
                "false_alerts_per_h": s.cost,
                "elapsed_s": s.elapsed_s,
                "note": s.note,
            }
            for s in result.tried
        ],
        "candidates": result.candidates,
        "signage_excluded": result.signage_excluded,
        "model": {
            "replications": pm.replications,
            "walkers_simulated": pm.walkers_total,
            "walkers_sampled": int(pm.p.shape[0]),
            "prevalence": pm.prevalence,
            "fpir_per_face_scanned": pm.fpir,
            "timings_s": pm.timings,
        },
        "elapsed_s": result.elapsed_s,
        "twin_version": __version__,
    }
    if verify is not None:
        doc["verified"] = {"own_placement": asdict(verify[0]), "recommended": asdict(verify[1])}
    return doc


def _map_html(result: OptimiseResult, path: Path) -> None:
    pm = result.model
    site = pm.context.site
    gate = result.scenario.capture
    cams = [
        Camera(
            id=c["id"],
            x=float(p.x),
            y=float(p.y),
            heading_deg=float(c["heading_deg"]),
            **{
                k: c[k]
                for k in (
                    "mount_height_m",
                    "tilt_deg",
                    "hfov_deg",
                    "width_px",
                    "height_px",
                    "fps",
                    "exposure_s",
                )
                if k in c
            },
        )
        for p, pair in zip(result.poses, _pairs(result.cameras), strict=True)
        for c in pair
    ]
    m = build_map(site, cams, min_ied_px=gate.min_ied_px)
    cand_xy = np.array([[p.x, p.y] for p in pm.candidates])
    tips = [
        f"candidate {p.id} ({p.route_id} at {p.s_m:.0f} m){'' if ok else ': fails the signage test'}"
        for p, ok in zip(pm.candidates, pm.signage_ok, strict=True)
    ]
    add_point_layer(m, cand_xy, name="Candidate van positions", colour="#9e9e9e", tooltips=tips, radius=2)
    own = np.array([[c.x, c.y] for c in pm.context.cameras]).reshape(-1, 2)
    add_point_layer(
        m,
        own,
        name="The scenario's own cameras",
        colour="#ef6c00",
        tooltips=[c.id for c in pm.context.cameras],
        radius=6,
    )
    rec = np.array([[p.x, p.y] for p in result.poses])
    add_point_layer(
        m,
        rec,
        name="Recommended vans",
        colour="#1565c0",
        tooltips=[
            f"opt_van{k + 1}: +{g:.3g} {result.objective.replace('_', ' ')} per hour"
            for k, g in enumerate(result.selection.gains)
        ],
        radius=8,
    )
    save_map(m, path)


def _pairs(cameras: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The camera mappings grouped by van (ids ``opt_van<k>_cam<i>``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in cameras:
        groups.setdefault(str(c["id"]).rsplit("_cam", 1)[0], []).append(c)
    return list(groups.values())


def write_placement(
    result: OptimiseResult,
    out_dir: Path | str,
    *,
    verify: tuple[Figures, Figures] | None = None,
    with_map: bool = True,
) -> Path:
    """Write the recommendation's folder (see the module docstring); returns its path.

    Raises:
        RunFolderError: ``out_dir`` cannot be written.
    """
    sc = placement_scenario(result)
    stem = Path(result.scenario.site.map).stem
    with atomic_folder(out_dir, f"optimise-{stem}") as f:
        shutil.copyfile(result.scenario.site.map, f.tmp / "site.geojson")
        doc = sc.model_dump(mode="json")
        doc["site"]["map"] = "site.geojson"
        (f.tmp / "scenario.yaml").write_text(
            "# Recommended by twin optimise; run: twin run scenario.yaml (in this folder)\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        (f.tmp / "placement.json").write_text(
            json.dumps(placement_doc(result, verify), indent=1, default=float), encoding="utf-8"
        )
        if with_map:
            _map_html(result, f.tmp / "map.html")
    return f.final
