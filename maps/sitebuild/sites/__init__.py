"""One module per shipped site, each with ``build() -> SiteBuild``: the site's recipe (ways, widths,
waypoints, vans)."""
