#!/usr/bin/env python3
"""Build the site map files in ``maps/`` (format: ``maps/README.md``).

Run from anywhere as ``python maps/build_sites.py [site ...]``. It reads the OpenStreetMap extracts in
``../shared/data/london/`` (relative to the repository root) and writes
``oxford_circus.geojson``, ``leicester_square.geojson``, ``stratford.geojson`` and
``croydon_north_end.geojson`` beside this script.

All geometry is computed in metres in British National Grid (EPSG:27700) with pyproj
(``always_xy=True``) and shapely, then converted back to WGS84 lon/lat and rounded to 7 decimals.
The parts live in the ``sitebuild`` package beside this script (see its docstring): reading the
extracts (``osm``), building footways and routes (``geometry``, ``walkgraph``, ``model``, one recipe
per site in ``sites/``), checking (``checks``) and writing the site files (``files``).

The output is deterministic: no timestamps, fixed feature order, sorted keys. Every file is
validated before it is written (geofence valid, routes inside it and ending on its boundary, vans
on a route inside it, signs before the vans, all coordinates in Greater London); a failed check
raises :class:`SiteBuildError` and nothing is written.

Camera headings are bearings in the EPSG:27700 grid, clockwise from grid north (true north differs
by about 1.5 degrees in London), because the twin computes every angle in that grid.

Licence: the geometry is (c) OpenStreetMap contributors, ODbL 1.0; each OSM-derived file carries
the source extract's ``attribution`` object. Croydon North End is drawn by hand from public
knowledge (no open data was found) and is marked approximate throughout.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sitebuild package beside this script

from sitebuild.checks import validate
from sitebuild.files import assemble, write
from sitebuild.geometry import TO_LL
from sitebuild.sites import croydon_north_end, leicester_square, oxford_circus, stratford

HERE = Path(__file__).resolve().parent
BASE_ROLES = ("street", "footway", "building", "park")

#: The shipped sites, by file name: each module's build() returns the site to write.
BUILDERS = {
    "oxford_circus": oxford_circus.build,
    "leicester_square": leicester_square.build,
    "stratford": stratford.build,
    "croydon_north_end": croydon_north_end.build,
}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv else None) or list(BUILDERS)
    docs = {}
    for name in names:
        site = BUILDERS[name]()
        doc = assemble(site)
        summary = validate(doc, site)
        docs[name] = doc
        print(
            f"{name}: {len(summary['routes'])} routes, {len(summary['vans'])} vans, "
            f"{len(summary['signs'])} signs, geofence {summary['fence'].area:.0f} m2, "
            f"{sum(1 for f in doc['features'] if f['properties']['role'] in BASE_ROLES)} base features"
        )
        for rid, line, p in summary["routes"]:
            print(f"  route {rid:12s} {line.length:6.1f} m  w={p['weight']:g}  {p['entry']} -> {p['exit']}")
        for vid, v, h in summary["vans"]:
            lon, lat = TO_LL.transform(v.x, v.y)
            print(f"  van {vid:16s} ({lat:.6f}, {lon:.6f}) headings {h}")
    for name, doc in docs.items():  # write only when every site passed
        write(doc, HERE / f"{name}.geojson")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
