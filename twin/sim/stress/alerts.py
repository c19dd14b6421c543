"""A stress run's alerts: one per subject per track, as a live LFR system raises them.

The pipeline decides per frame, and a face seen in k frames of its track gives up to k above-threshold
matches; an operator reviews one alert per subject passing, not each frame (the real pass of
``twin run`` counts per track too, :mod:`twin.sim.realpass`; DESIGN.md, Per pass, not per capture).
:func:`dedupe_alerts` therefore counts an alert once per (camera, track, watchlist identity):

* composed frames know which track each face came from (:mod:`twin.sim.stress.load`: the frame's
  member tracks, matched back to the alert's box by overlap in :mod:`twin.sim.stress.worker`);
* a recorded video (``--video``), or a detection that overlaps no placed face, has no track: matches
  of one watchlist identity on one camera are one alert while each follows the previous one within
  :data:`SAME_PASS_GAP_S` of frame time.

The raw per-frame matches stay in the report as a secondary, labelled figure (``frame_matches``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ALERT_COLUMNS", "SAME_PASS_GAP_S", "alert_table", "dedupe_alerts"]

#: Seconds of frame time within which matches of one identity on one camera, with no track to tell
#: passes apart, are one alert. Assumption: a walker at 1.34 m/s (Weidmann's free speed) crosses the
#: ~5-18 m band where a van camera gets usable faces (30 deg hfov, 3 m mast) in about 10 s; a match more
#: than 10 s after the previous one is taken as a new pass. Live systems call this duplicate-alert
#: suppression and make it configurable; no published default was found.
SAME_PASS_GAP_S: float = 10.0

#: Columns of :func:`alert_table`, held once.
ALERT_COLUMNS: tuple[str, ...] = (
    "frame",
    "camera_id",
    "t_s",
    "track",
    "identity",
    "score",
    "filler",
    "true_alert",
)


def alert_table(frames: pd.DataFrame, alerts: list[Any]) -> pd.DataFrame:
    """One row per above-threshold match in a decided frame (the raw per-frame matches).

    Args:
        frames: per frame ``frame``, ``camera_id`` and ``t_s`` (s, arrival in the window).
        alerts: per row of ``frames``, a list of alert dicts (``identity``, ``score``, ``filler``,
            ``track`` (-1: no track), ``true_alert`` (None: no ground truth)), or anything else for none.

    Returns:
        DataFrame with :data:`ALERT_COLUMNS`, sorted by ``t_s`` then ``frame``.
    """
    rows = []
    for f, cam, t, a in zip(frames["frame"], frames["camera_id"], frames["t_s"], alerts, strict=True):
        if not isinstance(a, list):
            continue
        for x in a:
            rows.append(
                {
                    "frame": int(f),
                    "camera_id": str(cam),
                    "t_s": float(t),
                    "track": int(x.get("track", -1)),
                    "identity": str(x["identity"]),
                    "score": float(x["score"]),
                    "filler": bool(x.get("filler", False)),
                    "true_alert": x.get("true_alert"),
                }
            )
    df = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    return df.sort_values(["t_s", "frame"], kind="stable").reset_index(drop=True)


def dedupe_alerts(matches: pd.DataFrame, *, gap_s: float = SAME_PASS_GAP_S) -> pd.DataFrame:
    """The alerts an operator would see: the first match of each (camera, track, identity).

    Matches with no track (``track`` < 0) are grouped by (camera, identity) into runs whose consecutive
    matches lie within ``gap_s`` of frame time; each run is one alert (its first match).

    Args:
        matches: :func:`alert_table`'s rows.
        gap_s: the gap that ends a run of trackless matches, s (> 0).

    Returns:
        the first match of each alert (same columns), with ``frame_matches`` (int, matches it stands for)
        and ``best_score`` (the highest of them), sorted by ``t_s``.

    Two tracks of three frames each, and a trackless identity seen at 0, 1 and 30 s (two passes):

    >>> m = pd.DataFrame({"frame": range(9), "camera_id": "c", "t_s": [0, .1, .2, 5, 5.1, 5.2, 0, 1, 30],
    ...     "track": [0, 0, 0, 1, 1, 1, -1, -1, -1], "identity": ["a"] * 6 + ["b"] * 3, "score": 0.95,
    ...     "filler": False, "true_alert": None})
    >>> dedupe_alerts(m)[["track", "identity", "frame_matches"]].values.tolist()
    [[0, 'a', 3], [-1, 'b', 2], [1, 'a', 3], [-1, 'b', 1]]
    """
    if not len(matches):
        return matches.assign(frame_matches=pd.Series(dtype=np.int64), best_score=pd.Series(dtype=float))
    m = matches.sort_values(["t_s", "frame"], kind="stable").reset_index(drop=True)
    key = np.empty(len(m), dtype=object)
    tracked = m["track"].to_numpy(int) >= 0
    for i in np.flatnonzero(tracked):
        key[i] = ("track", m.at[i, "camera_id"], int(m.at[i, "track"]), m.at[i, "identity"])
    last: dict[tuple[str, str], tuple[float, int]] = {}  # (camera, identity) -> (last t_s, run number)
    for i in np.flatnonzero(~tracked):
        ci = (m.at[i, "camera_id"], m.at[i, "identity"])
        t = float(m.at[i, "t_s"])
        prev = last.get(ci)
        run = prev[1] if prev is not None and t - prev[0] <= gap_s else (prev[1] + 1 if prev else 0)
        last[ci] = (t, run)
        key[i] = ("gap", *ci, run)
    m["_key"] = key
    g = m.groupby("_key", sort=False)
    first = m.loc[g["t_s"].idxmin()].copy()
    first["frame_matches"] = g.size().reindex(first["_key"]).to_numpy(np.int64)
    first["best_score"] = g["score"].max().reindex(first["_key"]).to_numpy(float)
    return first.drop(columns="_key").sort_values(["t_s", "frame"], kind="stable").reset_index(drop=True)
