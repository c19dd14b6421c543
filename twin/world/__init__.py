"""Layer 2, the world: pure geometry in British National Grid metres (EPSG:27700).

``geo`` (WGS84 <-> BNG), ``site`` (geofence, routes, signage of a site map), ``camera`` (pinhole
pose and lens), ``capture`` (per-frame capture geometry reduced per walker and camera), ``signage``
(does every route pass a sign before a recognition zone). Imports only the scenario layer: no
scoring, recognition, simulation or output code.
"""
