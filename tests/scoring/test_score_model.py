"""The statistical engine reproduces the NPL 2023 points (per person) and behaves as a distribution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.errors import EngineError
from twin.recognition.engines.base import check_threshold
from twin.scoring.score_model import ScoreModel, fit_nonmated_tail, load_score_model


def test_npl_fpir_points() -> None:
    """NPL 2023: FPIR 1.7e-4 at 0.6 with a 10,000 list (1 in 6,000), ~1.7e-5 with 1,000."""
    m = ScoreModel()
    assert float(m.fpir(0.6, 10_000)) == pytest.approx(1.7e-4, rel=0.01)
    assert float(m.fpir(0.6, 1_000)) == pytest.approx(1.7e-5, rel=0.01)


def test_npl_tail_ratios() -> None:
    """NPL trial false positives 7 at 0.60, 1 at 0.62, 0 at 0.64: the tail falls ~7x per 0.02."""
    m = ScoreModel()
    f60, f62, f64 = m.fmr([0.60, 0.62, 0.64])
    assert f60 / f62 == pytest.approx(7.0, rel=0.01)
    assert f64 < f62 / 3  # and further by 0.64
    # 7 false positives at 0.60 -> expected 1.0 at 0.62 and < 0.2 at 0.64 in the same crowd
    assert 7 * f64 / f60 < 0.2


def test_fitted_defaults_are_reproducible() -> None:
    sd, beta = fit_nonmated_tail()
    m = ScoreModel()
    assert sd == pytest.approx(m.nonmated_sd, rel=1e-6)
    assert beta == pytest.approx(m.tail_beta, rel=1e-6)


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
    with pytest.raises(EngineError, match=r"outside the statistical-npl2023 score range \[0.0, 1.0\]"):
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
