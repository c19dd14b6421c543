"""Building the twin's site maps from OpenStreetMap extracts (run ``python maps/build_sites.py``).

A small package beside the maps it writes, not part of ``twin``: it needs the OSM extracts in
``../shared/data/london/`` and one hand-made recipe per site (which ways, widths, waypoints, van
positions), which is data engineering for the shipped sites, not an API. Anyone can draw a site of
their own in the file format (``maps/README.md``); ``twin`` validates any such file when it loads
it (:func:`twin.world.site.load_site`).

Modules, in the order a build uses them:

* ``geometry``: projections (EPSG:4326 <-> EPSG:27700) and line helpers (clip, join, offset, ...);
* ``osm``: reading an extract, and the base layers (streets, footways, buildings, parks) kept from it;
* ``walkgraph``: routing walkers along the real footways between waypoints;
* ``model``: :class:`SiteBuild`, a site being built (routes, vans, signs);
* ``sites/``: one module per shipped site, each with ``build() -> SiteBuild``;
* ``checks``: every geometry rule a written site must pass (:func:`validate`);
* ``files``: the rounded, deterministic GeoJSON (:func:`assemble`, :func:`write`).
"""
