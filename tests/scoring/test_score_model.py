"""The statistical engine: the NPL 2023 points, the records-fitted defaults, and a proper distribution."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.errors import EngineError
from twin.recognition.engines.base import check_threshold
from twin.scoring.score_model import (
    ScoreModel,
    fit_nonmated_tail,
    fit_tail_to_knots,
    load_score_model,
    npl_score_model,
)
from twin.scoring.tail import TAIL_KNOTS

REPO = Path(__file__).resolve().parents[2]


def test_npl_fpir_points() -> None:
    """NPL 2023: FPIR 1.7e-4 at 0.6 with a 10,000 list (1 in 6,000), ~1.7e-5 with 1,000."""
    m = npl_score_model()
    assert float(m.fpir(0.6, 10_000)) == pytest.approx(1.7e-4, rel=0.01)
    assert float(m.fpir(0.6, 1_000)) == pytest.approx(1.7e-5, rel=0.01)


def test_npl_tail_ratios() -> None:
    """NPL trial false positives 7 at 0.60, 1 at 0.62, 0 at 0.64: the tail falls ~7x per 0.02."""
    m = npl_score_model()
    f60, f62, f64 = m.fmr([0.60, 0.62, 0.64])
    assert f60 / f62 == pytest.approx(7.0, rel=0.01)
    assert f64 < f62 / 3  # and further by 0.64
    # 7 false positives at 0.60 -> expected 1.0 at 0.62 and < 0.2 at 0.64 in the same crowd
    assert 7 * f64 / f60 < 0.2


def test_npl_model_is_reproducible() -> None:
    sd, beta = fit_nonmated_tail()
    m = npl_score_model()
    assert sd == pytest.approx(m.nonmated_sd, rel=1e-6)
    assert beta == pytest.approx(m.tail_beta, rel=1e-6)


def test_records_defaults_are_the_shipped_records_fit() -> None:
    """The default tail is twin/data/records_fit.json's (written by python -m twin.sim.records_fit)."""
    doc = json.loads((REPO / "twin" / "data" / "records_fit.json").read_text())
    tail, m = doc["tail"], ScoreModel()
    assert m.nonmated_sd == tail["score_model"]["nonmated_sd"]
    assert m.tail_beta == tail["score_model"]["tail_beta"]
    assert m.tail_xi == tail["score_model"]["tail_xi"]
    assert m.tail_uncertainty is not None
    np.testing.assert_allclose(np.asarray(m.tail_uncertainty.log_cov), np.asarray(tail["log_cov"]), rtol=1e-6)
    assert m.tail_uncertainty.between_deployment == tail["between_deployment"]
    # the GPD tail passes through the fitted knots within the records' own uncertainty (< 1/4 sd in log)
    for t, f in zip(TAIL_KNOTS, tail["fmr"], strict=True):
        assert abs(np.log(float(m.fmr(t)) / f)) < 0.25 * np.sqrt(m.tail_uncertainty.log_var(t))
    assert fit_tail_to_knots(
        tail["fmr"], [m.tail_uncertainty.log_var(t) for t in TAIL_KNOTS]
    ) == pytest.approx((m.nonmated_sd, m.tail_beta), rel=1e-3)


def test_records_tail_keeps_the_npl_shape() -> None:
    """NPL's whole-trial counts 7 -> 1 -> 0: the falls 0.60 -> 0.62 and 0.62 -> 0.64 of the records-fitted
    tail lie inside the 95% intervals of those thinning shares (Jeffreys: 1 of 7 left, Beta(1.5, 6.5):
    0.026-0.50; 0 of 1 left, Beta(0.5, 1.5): 0.0008-0.94) and fall as NPL's did."""
    from scipy.stats import beta

    m = ScoreModel()
    f60, f62, f64 = (float(v) for v in m.fmr(list(TAIL_KNOTS)))
    lo1, hi1 = beta.ppf([0.025, 0.975], 1.5, 6.5)
    lo2, hi2 = beta.ppf([0.025, 0.975], 0.5, 1.5)
    assert lo1 < f62 / f60 < hi1 and lo2 < f64 / f62 < hi2
    assert f64 < f62 < f60
    # the records set the level below NPL's worst case (1.7e-4 per face at 0.60 with 10,000 entries)
    assert 2e-5 < float(m.fpir(0.6, 10_000)) < 1.7e-4


def test_fpir_formula() -> None:
    m = ScoreModel()
    f = float(m.fmr(0.58))
    assert float(m.fpir(0.58, 5000)) == pytest.approx(1 - (1 - f) ** 5000, rel=1e-9)


@given(st.floats(1e-6, 1 - 1e-6), st.integers(1, 100_000))
def test_top_nonmated_matches_fpir(u: float, n: int) -> None:
    """P(top >= t) = FPIR(t, N): the top score drawn from u equals the t whose FPIR is u."""
    m = ScoreModel()
    top = float(m.top_nonmated(u, n))
    if 0.0 < top < 1.0:
        assert float(m.fpir(top, n)) == pytest.approx(u, rel=1e-5)


def test_top_nonmated_monotone_in_list_size() -> None:
    m = ScoreModel()
    u = np.linspace(0.01, 0.99, 50)
    assert np.all(m.top_nonmated(u, 10_000) >= m.top_nonmated(u, 1_000))


def test_sampled_fpir_matches_analytic(rng) -> None:
    m = ScoreModel()
    n = 2_000_000
    hits = int((m.top_nonmated(rng.random(n), 10_000) >= 0.6).sum())
    expected = n * float(m.fpir(0.6, 10_000))  # 340
    assert abs(hits - expected) < 4 * np.sqrt(expected)


def test_mated_mean_falls_with_quality() -> None:
    m = ScoreModel()
    base = float(m.mated_mean(80, 0, 0, 0))
    assert float(m.mated_mean(40, 0, 0, 0)) == pytest.approx(base - m.ied_coef)  # one halving of ied
    assert float(m.mated_mean(80, 30, 0, 0)) == pytest.approx(base - m.yaw_coef)
    assert float(m.mated_mean(80, 0, 25, 0)) == pytest.approx(base - m.pitch_coef)
    assert float(m.mated_mean(160, 0, 0, 0)) == pytest.approx(base)  # no bonus above the reference


def test_threshold_range_is_checked() -> None:
    m = ScoreModel()
    assert check_threshold(m, 0.64) == 0.64
    with pytest.raises(EngineError, match=r"outside the statistical-records2024 score range \[0.0, 1.0\]"):
        check_threshold(m, 1.2)


def test_save_load_roundtrip(tmp_path) -> None:
    m = ScoreModel().with_params(mated_sd=0.09)
    p = m.save(tmp_path / "sm.json")
    assert load_score_model(p) == m


def test_bad_model_files(tmp_path) -> None:
    with pytest.raises(EngineError, match="not found"):
        load_score_model(tmp_path / "x.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(EngineError, match="not valid JSON"):
        load_score_model(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"kind": "ScoreModel", "mated_sd": -1}')
    with pytest.raises(EngineError, match="mated_sd"):
        load_score_model(tmp_path / "other.json")
