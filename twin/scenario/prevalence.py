"""The share of passers-by on the watchlist: a number, a distribution, or fitted on the Met's records.

A scenario's ``watchlist.prevalence`` is one of

* a number (the same in every deployment, as before): ``prevalence: 1.3e-4``;
* a distribution across deployments: ``prevalence: {mean: 1.2e-3, dispersion: 0.4}`` (a Gamma with
  that mean and variance dispersion x mean^2);
* fitted on the published deployment records: ``prevalence: {fitted: croydon_north_end}``, which
  reads the package's ``twin/data/records_fit.json`` (written by ``python -m twin.sim.records_fit``
  from data/records/) for that modelled site and scales its mean to the scenario's watchlist size
  with the fitted elasticity.

:func:`normalise_prevalence` turns any of them into the spec's flat fields (``prevalence``,
``prevalence_dispersion``, ``prevalence_fitted``), which is also what a saved scenario holds, so a
run's copy reproduces it.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["FITTED_FILE", "fitted_prevalence", "fitted_sites", "normalise_prevalence"]

#: The package data file of the records fit (twin/data/records_fit.json).
FITTED_FILE = "records_fit.json"
#: Largest dispersion accepted (a coefficient of variation of 10 between deployments).
MAX_DISPERSION = 100.0


@lru_cache(maxsize=1)
def _records_fit() -> dict[str, Any]:
    path = resources.files("twin") / "data" / FITTED_FILE
    return dict(json.loads(path.read_text(encoding="utf-8")))


def fitted_sites() -> tuple[str, ...]:
    """The modelled sites with a fitted prevalence."""
    return tuple(sorted(_records_fit().get("sites", {})))


def fitted_prevalence(site: str, watchlist_size: float) -> tuple[float, float, str]:
    """(mean, dispersion, source) of the fitted prevalence at a modelled site for a watchlist size.

    Raises:
        ValueError: an unknown site (the message lists the fitted ones).
    """
    doc = _records_fit()
    sites = doc.get("sites", {})
    if site not in sites:
        raise ValueError(f"no fitted prevalence for {site!r}; fitted sites: {', '.join(sorted(sites))}")
    p = sites[site]["prevalence"]
    mean = float(p["mean"]) * (float(watchlist_size) / float(p["ref_watchlist"])) ** float(
        p["watchlist_elasticity"]
    )
    src = doc.get("source", {})
    return (
        min(mean, 1.0),
        float(p["dispersion"]),
        f"fitted on {src.get('fitted_rows', '?')} Met deployments to {src.get('last_date', '?')} "
        f"(era {doc.get('era', {}).get('label', '?')}), site {site}",
    )


def normalise_prevalence(data: dict[str, Any]) -> dict[str, Any]:
    """A watchlist mapping with ``prevalence`` in any of the three forms -> the flat fields.

    Raises:
        ValueError: a malformed form, with the fix.

    >>> normalise_prevalence({"prevalence": {"mean": 0.001, "dispersion": 0.5}})
    {'prevalence': 0.001, 'prevalence_dispersion': 0.5}
    """
    out = dict(data)
    v = out.get("prevalence")
    if not isinstance(v, dict):
        return out
    keys = set(v)
    if keys == {"fitted"}:
        site = v["fitted"]
        if not isinstance(site, str):
            raise ValueError(
                f"prevalence: {{fitted: {site!r}}}: give a modelled site id, one of "
                f"{', '.join(fitted_sites())}"
            )
        size = out.get("size", 10_000)
        # a size out of range is the size's own error (its validator names it); scale by the default here
        usable = isinstance(size, (int, float)) and not isinstance(size, bool) and 1 <= size <= 1e9
        mean, disp, _ = fitted_prevalence(site, size if usable else 10_000)
        out.update(prevalence=mean, prevalence_dispersion=disp, prevalence_fitted=site)
        return out
    if keys <= {"mean", "dispersion"} and "mean" in keys:
        mean, disp = v["mean"], v.get("dispersion", 0.0)
        for name, x in (("mean", mean), ("dispersion", disp)):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ValueError(f"prevalence {name} {x!r} must be a finite number")
        out.update(prevalence=float(mean), prevalence_dispersion=float(disp))
        return out
    raise ValueError(
        f"prevalence {v!r}: give a number (1.3e-4), {{mean: 1.2e-3, dispersion: 0.4}} or "
        f"{{fitted: <site>}} (fitted sites: {', '.join(fitted_sites())})"
    )
