"""The twin's own faces against the records at modelled sites (calibration and check).

A :class:`SiteProfile` is what a one-van run of a site's scenario scans per clock hour (computed
by :func:`twin.sim.sitefaces.site_profile`; nothing here simulates). With it:

* :func:`site_calibration`: the factor c by which that site's footfall must be scaled so one van
  reproduces the faces the records show there, in the latest era's counting: the geometric mean
  over the site's deployments of (published faces x the era's counting factor) / (simulated
  faces for a deployment of that duration). Without a deployment at the site, the faces model's
  expectation for its kind of place stands in.
* :func:`faces_check`: for predicted deployments at a modelled site, the twin's faces for the row's
  duration and era, calibrated on the *fit* rows only, against the published figure, as a ratio.
  The eras' counting factors (for the calibration and for the row) come from the faces model
  fitted on every row's published faces but the checked row's own (leave-one-out): the checked
  figure never enters its own prediction.

Deployment windows are not published: a deployment of h hours is assumed centred on
:data:`WINDOW_CENTRE_H` (14:30, the middle of the Met's usual late-morning to evening windows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.records.faces import FacesModel, fit_faces
from twin.records.forecast import ForecastModel

__all__ = ["WINDOW_CENTRE_H", "SiteProfile", "faces_check", "site_calibration"]

#: Clock hour a deployment's window is centred on (assumption: windows are not published).
WINDOW_CENTRE_H = 14.5


@dataclass(frozen=True, kw_only=True)
class SiteProfile:
    """Faces a one-van run of a site's scenario scans, per clock hour.

    Attributes:
        site_id: the modelled site.
        scenario: the scenario file it was simulated from.
        footfall_scale: the scenario's footfall.scale the run used.
        cameras: ids of the one van's cameras.
        start_h: clock hour of the first bin.
        faces_per_h: faces scanned in each hour from ``start_h`` (one replication).
        mated_alerts_per_face: true alerts per face scanned with everyone on the watchlist, at
            threshold 0.60 (the twin's TPIR per face, to turn a per-face rate into a prevalence).
    """

    site_id: str
    scenario: str
    footfall_scale: float
    cameras: tuple[str, ...]
    start_h: float
    faces_per_h: tuple[float, ...]
    mated_alerts_per_face: float

    def window_faces(self, hours: float, centre_h: float = WINDOW_CENTRE_H) -> float:
        """Faces scanned in a window of ``hours`` centred on ``centre_h`` (linear within bins;
        beyond the simulated hours the edge bins' rates continue).

        >>> p = SiteProfile(site_id="s", scenario="x.yaml", footfall_scale=1.0, cameras=("c",), start_h=10.0,
        ...                 faces_per_h=(100.0, 200.0, 300.0), mated_alerts_per_face=0.9)
        >>> p.window_faces(2.0, 11.5)
        400.0
        """
        a, b = centre_h - hours / 2, centre_h + hours / 2
        rates = np.asarray(self.faces_per_h, dtype=float)
        edges = self.start_h + np.arange(len(rates) + 1)
        total = 0.0
        for i, r in enumerate(rates):
            lo = edges[i] if i else -math.inf
            hi = edges[i + 1] if i < len(rates) - 1 else math.inf
            total += r * max(0.0, min(b, hi) - max(a, lo))
        return float(total)


def _latest_faces(faces: FacesModel, rows: pd.DataFrame) -> np.ndarray:
    """Published faces of rows converted to the latest era's counting."""
    cf = np.array([faces.counting_factor(int(e)) for e in rows["era"]])
    return rows["faces_seen"].to_numpy(float) * cf


def site_calibration(
    model: ForecastModel, profiles: dict[str, SiteProfile], faces: FacesModel | None = None
) -> dict[str, dict[str, float]]:
    """Footfall factor per modelled site so one van reproduces the fit rows' faces (latest era).

    Args:
        model: the fitted forecast model (its fit rows are used).
        profiles: site_id -> :class:`SiteProfile`.
        faces: the faces model whose counting factors convert eras (default: the model's).

    Returns:
        site_id -> {"factor": c, "deployments": n used (0: the faces model's expectation),
        "faces_per_van_hour": latest-era faces per hour of a 5-h deployment after calibration}.
    """
    fm = faces or model.faces
    df = model.frame[model.frame["role"] == "fit"]
    out = {}
    for sid, prof in profiles.items():
        rows = df[df["site_id"] == sid]
        if len(rows):
            sim = np.array([prof.window_faces(h) for h in rows["hours"]])
            logc = np.log(_latest_faces(fm, rows)) - np.log(np.maximum(sim, 1e-9))
            c, n = float(np.exp(logc.mean())), len(rows)
        else:
            kind = "central" if sid in ("oxford_circus", "leicester_square") else "town_centre"
            lf = fm.log_faces(
                era=np.array([fm.latest]), kind=np.array([kind]), hours=np.array([5.0]), place=np.array([sid])
            )
            c, n = float(np.exp(lf[0]) / max(prof.window_faces(5.0), 1e-9)), 0
        out[sid] = {"factor": c, "deployments": n, "faces_per_van_hour": c * prof.window_faces(5.0) / 5.0}
    return out


def faces_check(
    model: ForecastModel, table: pd.DataFrame, profiles: dict[str, SiteProfile]
) -> tuple[pd.DataFrame, dict]:
    """The twin's faces for predicted rows at modelled sites against the published ones.

    Args:
        model: the fitted forecast model (its frame holds every row's inputs and era).
        table: the validation table (one row per predicted deployment, column ``line`` and ``file``).
        profiles: site_id -> :class:`SiteProfile` of each modelled site.

    Returns:
        (table with ``twin_faces`` and ``faces_ratio`` columns, NaN off modelled sites;
        {"median": median ratio or None, "n": rows, "sites": per-site calibration}).
    """
    calib = site_calibration(model, profiles)
    frame = model.frame
    pred = frame[frame["role"] == "predict"]
    twin = np.full(len(table), np.nan)
    for j, (file, line) in enumerate(zip(table["file"], table["line"], strict=True)):
        hit = pred[(pred["file"] == file) & (pred["line"] == line)]
        if hit.empty or hit["site_id"].iloc[0] not in profiles:
            continue
        row = hit.iloc[0]
        sid = row["site_id"]
        others = frame.drop(index=hit.index[0])
        fm = fit_faces(others, others["era"].to_numpy(), len(model.eras.starts))
        era = int(row["era"])
        c = site_calibration(model, {sid: profiles[sid]}, fm)[sid]["factor"]
        twin[j] = c * profiles[sid].window_faces(float(row["hours"])) / fm.counting_factor(era)
    out = table.copy()
    out["twin_faces"] = twin
    out["faces_ratio"] = twin / table["faces_seen"].to_numpy(float)
    r = out["faces_ratio"].dropna()
    return out, {"median": float(r.median()) if len(r) else None, "n": len(r), "sites": calib}
