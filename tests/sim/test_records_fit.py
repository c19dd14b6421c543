"""The twin's records-fitted defaults (twin/sim/records_fit.py -> twin/data/records_fit.json)."""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from twin.sim.records_fit import build_records_fit


def _flat(tree: object, prefix: str = "") -> dict[str, object]:
    """{"a/b/0": leaf} for a JSON tree, so two fits can be compared leaf by leaf."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = enumerate(tree)
    else:
        return {prefix: tree}
    out: dict[str, object] = {}
    for key, value in items:
        out.update(_flat(value, f"{prefix}/{key}"))
    return out


@pytest.mark.slow
def test_the_shipped_records_fit_is_what_a_fresh_fit_gives() -> None:
    """Re-fitting the shipped records (and the one-van runs) reproduces the shipped file: the defaults
    cannot drift from the data they claim to come from."""
    shipped = json.loads((REPO / "twin" / "data" / "records_fit.json").read_text())
    fresh = json.loads(json.dumps(build_records_fit()))
    shipped.pop("fitted_on"), fresh.pop("fitted_on")
    # the same keys and texts; numbers to their printed precision (another CPU's BLAS may flip a last digit)
    assert _flat(fresh).keys() == _flat(shipped).keys()
    for key, value in _flat(shipped).items():
        if isinstance(value, float):
            assert _flat(fresh)[key] == pytest.approx(value, rel=1e-5, abs=2e-5), key
        else:
            assert _flat(fresh)[key] == value, key
    assert shipped["era"]["label"] == "2024-08-28.."  # the latest counting era: what the defaults represent
    assert shipped["source"]["fitted_rows"] == 155  # 156 rows, one without a faces figure


def test_the_2022_scenarios_prevalence_is_the_leave_one_out_fit() -> None:
    """scenarios/oxford_circus_2022-01-28.yaml carries the prevalence fitted on the other records."""
    from twin.scenario.load import load_scenario
    from twin.sim.records_fit import DEFAULT_RECORDS, record_prevalence

    fit = json.loads((REPO / "twin" / "data" / "records_fit.json").read_text())
    k = fit["sites"]["oxford_circus"]["twin_true_alerts_per_face_listed"]
    mean, dispersion = record_prevalence(
        DEFAULT_RECORDS, date="2022-01-28", location="Oxford Circus", hours=4.0, mated_alerts_per_face=k
    )
    wl = load_scenario(REPO / "scenarios" / "oxford_circus_2022-01-28.yaml").watchlist
    assert wl.prevalence == pytest.approx(mean, rel=0.02)
    assert wl.prevalence_dispersion == pytest.approx(dispersion, abs=0.01)
