"""One-van runs of the modelled sites' scenarios: faces scanned per clock hour (records checks).

:func:`site_profile` simulates the first van of a site's scenario (its cameras at one position)
from 09:30 to 19:30, one replication at the scenario's seed, and counts faces scanned per hour
(people with a usable capture, by the time of their first one). The records layer turns the
profile into a calibration and a check (:mod:`twin.records.sitefaces`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from twin.records.sitefaces import SiteProfile
from twin.rng import replication_seeds
from twin.scenario.load import load_scenario
from twin.scoring.metrics import score_replication
from twin.sim.context import prepare
from twin.sim.replication import simulate_replication

__all__ = ["PROFILE_HOURS", "PROFILE_START_H", "SITE_SCENARIOS", "site_profile", "site_profiles"]

#: The simulated window of a profile: 09:30 for 10 hours (covers every published duration,
#: centred on 14:30).
PROFILE_START_H = 9.5
PROFILE_HOURS = 10

#: The scenario file of each modelled site (relative to the repository's scenarios/ folder).
SITE_SCENARIOS: dict[str, str] = {
    "oxford_circus": "oxford_circus.yaml",
    "leicester_square": "leicester_square.yaml",
    "stratford": "stratford.yaml",
    "croydon_north_end": "croydon_north_end.yaml",
}


def _first_van(cameras: list) -> list[str]:
    first = cameras[0]
    return [c.id for c in cameras if (c.lat, c.lon) == (first.lat, first.lon)]


def site_profile(
    scenario_path: Path | str,
    site_id: str,
    *,
    progress: Callable[[float], None] | None = None,
    footfall_scale: float | None = None,
) -> SiteProfile:
    """Faces scanned per clock hour by the first van of a scenario, 09:30-19:30.

    Args:
        scenario_path: the site's scenario YAML.
        site_id: its modelled site id.
        progress: called with the share of the crowd simulation done.
        footfall_scale: run at this footfall scale instead of the scenario's.

    Returns:
        :class:`twin.records.sitefaces.SiteProfile`.

    Raises:
        TwinError: the scenario is invalid (see :func:`twin.scenario.load.load_scenario`).
    """
    sc = load_scenario(scenario_path)
    van = _first_van(list(sc.cameras))
    h, m = divmod(int(round(PROFILE_START_H * 60)), 60)
    sc = sc.model_copy(
        update={
            "cameras": [c for c in sc.cameras if c.id in van],
            "footfall": sc.footfall.model_copy(
                update={"scale": sc.footfall.scale if footfall_scale is None else float(footfall_scale)}
            ),
            "time": sc.time.model_copy(
                update={"start": f"{h:02d}:{m:02d}", "duration_s": PROFILE_HOURS * 3600}
            ),
        }
    )
    ctx = prepare(sc)
    rep, _ = simulate_replication(ctx, replication_seeds(sc.seed, 1)[0], progress=progress)
    # everyone on the watchlist: faces are unchanged, and true alerts per face give the twin's TPIR per face
    out = score_replication(
        rep, ctx.score_model, threshold=0.60, watchlist_size=sc.watchlist.size, prevalence=1.0
    )
    faces = np.asarray(out.hourly["faces_scanned"], dtype=float)[:PROFILE_HOURS]
    per_face = out.totals["true_alerts"] / max(out.totals["faces_scanned"], 1)
    return SiteProfile(
        site_id=site_id,
        scenario=str(scenario_path),
        footfall_scale=float(sc.footfall.scale),
        cameras=tuple(van),
        start_h=PROFILE_START_H,
        faces_per_h=tuple(float(v) for v in faces),
        mated_alerts_per_face=float(per_face),
    )


def site_profiles(
    scenarios_dir: Path | str,
    sites: list[str] | None = None,
    progress: Callable[[str, float], None] | None = None,
    footfall_scale: float | None = None,
) -> dict[str, SiteProfile]:
    """:func:`site_profile` for each modelled site (all of :data:`SITE_SCENARIOS` by default)."""
    out = {}
    for sid in sites or list(SITE_SCENARIOS):

        def cb(frac: float, sid: str = sid) -> None:
            if progress is not None:
                progress(sid, frac)

        out[sid] = site_profile(
            Path(scenarios_dir) / SITE_SCENARIOS[sid], sid, progress=cb, footfall_scale=footfall_scale
        )
    return out
