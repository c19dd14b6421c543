"""watchlist.prevalence: a number, a distribution, or fitted on the records (scenario/prevalence.py)."""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from twin.scenario.load import load_scenario
from twin.scenario.prevalence import fitted_prevalence, fitted_sites
from twin.scenario.watchlist import WatchlistSpec

FIT = json.loads((REPO / "twin" / "data" / "records_fit.json").read_text())


def test_a_number_is_a_known_rate() -> None:
    w = WatchlistSpec.model_validate({"prevalence": 1.3e-4})
    assert (w.prevalence, w.prevalence_dispersion, w.prevalence_fitted) == (1.3e-4, 0.0, None)


def test_a_distribution_gives_mean_and_dispersion() -> None:
    w = WatchlistSpec.model_validate({"prevalence": {"mean": 1.2e-3, "dispersion": 0.4}})
    assert (w.prevalence, w.prevalence_dispersion) == (1.2e-3, 0.4)


def test_fitted_scales_with_the_watchlist_size_by_the_fitted_elasticity() -> None:
    p = FIT["sites"]["croydon_north_end"]["prevalence"]
    for size in (12_000, 16_000, 6_000):
        w = WatchlistSpec.model_validate({"size": size, "prevalence": {"fitted": "croydon_north_end"}})
        want = p["mean"] * (size / p["ref_watchlist"]) ** p["watchlist_elasticity"]
        assert w.prevalence == pytest.approx(want, rel=1e-12)
        assert w.prevalence_dispersion == p["dispersion"] and w.prevalence_fitted == "croydon_north_end"
    assert set(fitted_sites()) == {"oxford_circus", "leicester_square", "stratford", "croydon_north_end"}
    assert "Met deployments to 2024-09-10" in fitted_prevalence("stratford", 10_000)[2]


@pytest.mark.parametrize(("value", "words"), [
    ({"fitted": "romford"}, "no fitted prevalence for 'romford'; fitted sites: croydon_north_end"),
    ({"fitted": 3}, "give a modelled site id"),
    ({"mean": "lots"}, "prevalence mean 'lots' must be a finite number"),
    ({"mean": 1e-3, "spread": 2}, "give a number (1.3e-4), {mean: 1.2e-3, dispersion: 0.4} or {fitted:"),
    ({"mean": 1e-3, "dispersion": 1000}, "less than or equal to 100"),
    ({"mean": 2.0}, "less than or equal to 1"),
])  # fmt: skip
def test_bad_forms_name_the_fix(value: object, words: str) -> None:
    with pytest.raises(ValueError, match=None) as exc:
        WatchlistSpec.model_validate({"prevalence": value})
    assert words in str(exc.value), str(exc.value)


def test_the_shipped_scenarios_take_their_sites_fitted_prevalence_and_footfall() -> None:
    """Each site's scenario: prevalence {fitted: <site>} and the footfall scale the records fit found."""
    for sid, site in FIT["sites"].items():
        sc = load_scenario(REPO / "scenarios" / site["scenario"])
        assert sc.watchlist.prevalence_fitted == sid
        assert sc.watchlist.prevalence == pytest.approx(fitted_prevalence(sid, sc.watchlist.size)[0])
        assert sc.footfall.scale == site["footfall_scale"]
