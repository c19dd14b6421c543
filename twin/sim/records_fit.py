"""The twin's defaults fitted on the published deployment records (``twin/data/records_fit.json``).

:func:`build_records_fit` fits the forecast model (:mod:`twin.records`) on every usable record and
turns it into what the twin runs with, for a deployment in the latest counting era
:data:`twin.records.export.HORIZON_YEARS` after the last record:

* ``tail``: the false-match tail (FMR at 0.60 / 0.62 / 0.64, their log covariance, the
  between-deployment dispersion) and the ScoreModel parameters that reproduce it
  (:func:`twin.scoring.score_model.fit_tail_to_knots`);
* ``sites``: per modelled site, the footfall scale at which one van scans the faces the records
  show there (:func:`twin.records.sitefaces.site_calibration`), and the prevalence (share of
  passers-by on the watchlist) as a Gamma distribution: the forecast's true alerts per face at
  threshold 0.60 divided by the twin's true alerts per face with everyone listed (one-van run of
  the site's scenario), at a reference watchlist of 12,000 entries with the fitted elasticity.

Run ``python -m twin.sim.records_fit`` from the repository to regenerate the file after adding
records; tests/test_records_fit.py checks the shipped file against a fresh fit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from twin.records.export import HORIZON_YEARS, tail_forecast, true_rate_forecast
from twin.records.forecast import NPL_TPIR, REF_WATCHLIST, fit_forecast
from twin.records.places import normalise_location
from twin.records.schema import load_records
from twin.records.sitefaces import site_calibration
from twin.scoring.score_model import fit_tail_to_knots
from twin.scoring.tail import TAIL_KNOTS
from twin.sim.sitefaces import SITE_SCENARIOS, site_profiles

__all__ = [
    "DEFAULT_RECORDS",
    "RECORDS_FIT_FILE",
    "build_records_fit",
    "record_prevalence",
    "write_records_fit",
]

REPO = Path(__file__).resolve().parents[2]
#: The shipped records the defaults are fitted on.
DEFAULT_RECORDS = REPO / "data" / "records" / "met_deployments_2020-02_2024-09.csv"
#: Where the package reads the fitted defaults from.
RECORDS_FIT_FILE = Path(__file__).resolve().parents[1] / "data" / "records_fit.json"

#: Modelled site -> the place it is pooled under in the records (twin.records.places).
SITE_PLACES: dict[str, str] = {
    "oxford_circus": "Oxford Circus",
    "leicester_square": "Leicester Square",
    "stratford": "Stratford",
    "croydon_north_end": "North End, Croydon",
}


def build_records_fit(
    records: Path | str = DEFAULT_RECORDS, scenarios_dir: Path | str = REPO / "scenarios"
) -> dict[str, Any]:
    """Fit the records and derive the twin's defaults (module docstring); JSON-ready."""
    rs = load_records(records)
    df = rs.frame()
    model = fit_forecast(df)
    tf = tail_forecast(model)
    xi = 0.05  # the NPL model's tail shape (a heavy tail), kept
    sd, beta = fit_tail_to_knots(tf.fmr, [tf.uncertainty.log_var(t) for t in TAIL_KNOTS], tail_xi=xi)
    # one van at each site's map footfall (scale 1), so the calibrated scale does not depend on the
    # scale the scenario file holds now (the file holds this fit's result)
    profiles = site_profiles(scenarios_dir, list(SITE_SCENARIOS), footfall_scale=1.0)
    calib = site_calibration(model, profiles)
    b_n = model.fits["true_alerts"].beta["log_watchlist"]
    sites = {}
    for sid, prof in profiles.items():
        place = normalise_location(SITE_PLACES[sid])
        rf = true_rate_forecast(
            model, place=place.key, kind=place.kind, threshold=0.60, watchlist_size=REF_WATCHLIST
        )
        # records: true alerts per face = prevalence x TPIR(0.60 = 0.89); twin: per face scanned
        mean = rf.mean / prof.mated_alerts_per_face
        sites[sid] = {
            "place": place.key,
            "kind": place.kind,
            "scenario": SITE_SCENARIOS[sid],
            "footfall_scale": round(prof.footfall_scale * calib[sid]["factor"], 4),
            "faces_per_van_hour": round(calib[sid]["faces_per_van_hour"], 1),
            "records_at_site": calib[sid]["deployments"],
            "true_alerts_per_face_at_060": float(f"{rf.mean:.6g}"),
            "twin_true_alerts_per_face_listed": float(f"{prof.mated_alerts_per_face:.6g}"),
            "prevalence": {
                "mean": float(f"{mean:.4g}"),
                "dispersion": round(rf.dispersion, 4),
                "ref_watchlist": int(REF_WATCHLIST),
                "watchlist_elasticity": round(b_n, 4),
            },
        }
    digest = hashlib.sha256(Path(records).read_bytes()).hexdigest()
    latest = model.eras.latest
    return {
        "kind": "RecordsFit",
        "source": {
            "file": Path(records).name,
            "sha256": digest,
            "rows": len(rs),
            "fitted_rows": int((model.frame["role"] == "fit").sum()),
            "first_date": str(df["date"].min().date()),
            "last_date": str(df["date"].max().date()),
        },
        "era": {
            "label": model.eras.labels[latest],
            "median_faces_per_h": round(model.eras.median_faces_per_h[latest], 1),
        },
        "horizon_years": HORIZON_YEARS,
        "npl_tpir_at_060": NPL_TPIR,
        "tail": {
            "fmr": [float(f"{v:.4g}") for v in tf.fmr],
            "log_cov": [[round(v, 5) for v in r] for r in tf.uncertainty.log_cov],
            "between_deployment": round(tf.uncertainty.between_deployment, 4),
            "score_model": {"nonmated_sd": round(sd, 6), "tail_beta": round(beta, 6), "tail_xi": xi},
        },
        "sites": sites,
        "fitted_on": dt.date.today().isoformat(),
    }


def record_prevalence(
    records: Path | str, *, date: str, location: str, hours: float, mated_alerts_per_face: float
) -> tuple[float, float]:
    """(mean, dispersion) of the prevalence for one published deployment, fitted on every *other* record.

    Leave-one-out: the deployment's row is predicted, never fitted; its month, place and era come
    from the fit. The records' true alerts per face (the latest era's counting) are converted to
    the row's era and divided by the twin's true alerts per face with everyone listed at the
    deployment's site (``mated_alerts_per_face``, a one-van run of its scenario).

    Raises:
        RecordsError: no row with that date and location.
    """
    from twin.errors import RecordsError
    from twin.records.export import month_of

    df = load_records(records).frame()
    one = (df["date"].dt.strftime("%Y-%m-%d") == date) & (df["location"] == location)
    if one.sum() != 1:
        raise RecordsError(f"{records}: no single deployment on {date} at {location!r}")
    model = fit_forecast(df[~one], df[one])
    row = model.frame[model.frame["role"] == "predict"].iloc[0]
    rf = true_rate_forecast(
        model,
        place=row["place"],
        kind=row["kind"],
        threshold=float(row["threshold"]),
        watchlist_size=float(row["watchlist_size"]),
        hours=hours,
        month=month_of(model, date),
    )
    per_face = rf.mean * model.faces.counting_factor(int(row["era"]))
    return per_face / mated_alerts_per_face, rf.dispersion


def write_records_fit(doc: dict[str, Any], path: Path | str = RECORDS_FIT_FILE) -> Path:
    """Write the fitted defaults as JSON (sorted keys, one line per value)."""
    path = Path(path)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m twin.sim.records_fit
    import sys

    sys.stdout.write(f"wrote {write_records_fit(build_records_fit())}\n")
