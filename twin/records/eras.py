"""Eras of face counting: change points in the faces a force reports per deployment-hour.

The Met's "faces seen" is its own estimate, and how it is counted changed without notice: at the
same kinds of places the published faces per hour fall several-fold around the turn of 2024 and
rise several-fold from late July 2024 (data/records/README.md). Alert counts do not follow these
jumps, so they are changes of counting, not of crowds. A model that fits "per face" across them
would be wrong by those factors; averaging them away would hide them. :func:`detect_eras` finds
them, on published *inputs* only (date, duration, faces), never on outcomes.

Method: the log of faces per hour (hours imputed with the median where unpublished), less the
mean of its kind of place, ordered by date, is cut by binary segmentation (squared-error cost;
the ``ruptures`` library) into 1, 2, ... :data:`MAX_ERAS` nested candidate sets of eras, each era
at least :data:`MIN_ERA_ROWS` deployments and deployments on one day always together. The number
of eras is the one whose faces model (:mod:`twin.records.faces`: era and kind effects, duration,
a random intercept per place, fitted by maximum likelihood) has the lowest BIC (Schwarz 1978),
each change point counted as two parameters, its level and its date (Zhang & Siegmund 2007), so
a run of deployments at one busy place is not mistaken for a counting change.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MAX_ERAS", "MIN_ERA_ROWS", "Eras", "detect_eras"]

#: Fewest deployments in an era (fewer cannot tell a counting change from a few busy sites).
MIN_ERA_ROWS = 6
#: Most eras considered.
MAX_ERAS = 8


@dataclass(frozen=True, kw_only=True)
class Eras:
    """Counting eras over a set of deployments.

    Attributes:
        starts: (E,) first day of each era (the first is the first deployment's day).
        labels: "YYYY-MM-DD.." names of the eras, by first day.
        median_faces_per_h: (E,) median published faces per hour in each era.
    """

    starts: tuple[pd.Timestamp, ...]
    labels: tuple[str, ...]
    median_faces_per_h: tuple[float, ...]

    def of(self, dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """Era index of each date (dates before the first era belong to it)."""
        d = pd.to_datetime(pd.Series(dates)).to_numpy()
        starts = np.array(self.starts, dtype="datetime64[ns]")
        return np.maximum(np.searchsorted(starts, d, side="right") - 1, 0)

    @property
    def latest(self) -> int:
        """Index of the latest era (the one forecasts are made for)."""
        return len(self.starts) - 1


def detect_eras(frame: pd.DataFrame, *, min_rows: int = MIN_ERA_ROWS, max_eras: int = MAX_ERAS) -> Eras:
    """Counting eras of a set of deployments (module docstring).

    Args:
        frame: deployments with columns date, faces_seen (> 0), hours (NaN where unpublished),
            kind and place.
        min_rows: fewest deployments per era.
        max_eras: most eras considered.

    Returns:
        :class:`Eras`.
    """
    import ruptures

    from twin.records.faces import faces_bic

    df = (
        frame.assign(date=pd.to_datetime(frame["date"]))
        .sort_values("date", kind="stable")
        .reset_index(drop=True)
    )
    h = df["hours"].to_numpy(dtype=float)
    h = np.where(np.isfinite(h), h, np.nanmedian(h) if np.isfinite(h).any() else 5.0)
    df["hours"] = h
    x = np.log(np.maximum(df["faces_seen"].to_numpy(dtype=float), 1.0) / h)
    ks = df["kind"].astype(str).to_numpy()
    resid = x.copy()
    for k in np.unique(ks):
        resid[ks == k] -= resid[ks == k].mean()
    days = df["date"].to_numpy()
    n = len(x)
    candidates: list[list[int]] = [[]]
    top = min(max_eras - 1, n // min_rows - 1)
    if top >= 1:
        algo = ruptures.Binseg(model="l2", min_size=min_rows, jump=1).fit(resid.reshape(-1, 1))
        for k in range(1, top + 1):
            try:
                found = _snap_to_days([b for b in algo.predict(n_bkps=k) if b < n], days)
            except ruptures.exceptions.BadSegmentationParameters:
                break
            if found not in candidates and all(
                b - a >= min_rows for a, b in itertools.pairwise([0, *found, n])
            ):
                candidates.append(found)
    # each change point costs its location as well as its level (Zhang & Siegmund 2007)
    best = min(candidates, key=lambda br: faces_bic(df, _labels(br, n), len(br) + 1) + len(br) * np.log(n))
    bounds = [0, *best, n]
    starts, labels, med = [], [], []
    for a, b in itertools.pairwise(bounds):
        day = pd.Timestamp(days[a]).normalize()
        starts.append(day)
        labels.append(f"{day.date()}..")
        med.append(float(np.median(np.exp(x[a:b]))))
    return Eras(starts=tuple(starts), labels=tuple(labels), median_faces_per_h=tuple(med))


def _labels(breaks: list[int], n: int) -> np.ndarray:
    lab = np.zeros(n, int)
    for b in breaks:
        lab[b:] += 1
    return lab


def _snap_to_days(breaks: list[int], days: np.ndarray) -> list[int]:
    """Move each break to the first deployment of its day (deployments on one day share an era)."""
    out = []
    for b in breaks:
        while b > 0 and days[b - 1] == days[b]:
            b -= 1
        if b > 0 and b not in out:
            out.append(b)
    return sorted(out)
