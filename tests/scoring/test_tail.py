"""One deployment's spread of rates (twin/scoring/tail.py) and the model's analytic intervals (metrics)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import nbinom

from twin.errors import CalibrationError
from twin.scoring.metrics import _nb_interval
from twin.scoring.score_model import ScoreModel
from twin.scoring.tail import TailUncertainty, fmr_shape, gamma_multiplier


@pytest.mark.parametrize("d", [0.1, 0.4, 2.0, 9.0])
def test_the_multiplier_has_mean_1_and_variance_d(d: float) -> None:
    """Over a fine grid of uniforms the Gamma quantiles average to its mean 1 and variance d."""
    u = (np.arange(200_000) + 0.5) / 200_000
    g = gamma_multiplier(u, d)
    assert g.mean() == pytest.approx(1.0, rel=0.02)
    assert g.var() == pytest.approx(d, rel=0.1)
    assert np.all(np.diff(g) >= 0)  # a quantile function: monotone in u


def test_no_dispersion_is_exactly_one() -> None:
    assert np.all(gamma_multiplier(np.array([0.01, 0.5, 0.99]), 0.0) == 1.0)


def test_dispersion_by_hand() -> None:
    """d(t) = (1 + alpha) exp(c' S c) - 1 with c = (1, c1(t), c2(t))."""
    u = TailUncertainty(log_cov=((0.5, 0.0, 0.0), (0.0, 0.2, 0.0), (0.0, 0.0, 1.0)), between_deployment=0.3)
    assert u.dispersion(0.60) == pytest.approx(1.3 * np.exp(0.5) - 1)
    assert u.dispersion(0.62) == pytest.approx(1.3 * np.exp(0.7) - 1)
    assert u.dispersion(0.64) == pytest.approx(1.3 * np.exp(1.7) - 1)
    assert tuple(map(float, fmr_shape(0.61))) == (0.5, 0.0)
    with pytest.raises(CalibrationError, match="covariance"):
        TailUncertainty(log_cov=((1.0, 2.0, 0.0), (2.0, 1.0, 0.0), (0.0, 0.0, 1.0)))


def test_a_deployment_multiplier_scales_fpir_exactly() -> None:
    """P(top >= t) = 1 - (1 - lambda FMR(t))^N: the top non-mated score crosses t at that uniform."""
    m = ScoreModel()
    for lam in (0.2, 1.0, 5.0):
        for t in (0.58, 0.60, 0.64):
            u_c = 1 - (1 - lam * float(m.fmr(t))) ** 12_000
            above, below = m.top_nonmated(np.array([u_c * (1 - 1e-6), u_c * (1 + 1e-6)]), 12_000, lam)
            assert above >= t > below


@given(st.floats(0.0, 50.0), st.floats(0.0, 20.0))
def test_the_model_interval_is_never_0_0_for_an_expectation_that_can_show(mean: float, d: float) -> None:
    """The analytic 95% interval's top is >= 1 exactly when P(count = 0) < 97.5%."""
    lo, hi = _nb_interval(mean, d)
    p0 = (
        float(np.exp(-mean))
        if d <= 1e-9
        else float(nbinom.pmf(0, 1 / d, 1 / (1 + d * mean)))
        if mean > 0
        else 1.0
    )
    assert lo <= hi
    assert (hi >= 1) == (p0 < 0.975 - 1e-9) or abs(p0 - 0.975) < 1e-6


def test_dispersion_spreads_a_run_without_moving_its_mean(tiny_scenario) -> None:
    """Re-scoring with a prevalence spread leaves the expected true alerts (model) unchanged and
    widens the replications' spread; prevalence x true alerts had everyone been listed = expected."""
    from twin.sim.run import run

    res = run(tiny_scenario, replications=8)
    _, a = res.rescore(prevalence=0.05, prevalence_dispersion=0.0)
    outs, b = res.rescore(prevalence=0.05, prevalence_dispersion=1.0)
    assert a["model"]["expected_true_alerts"] == pytest.approx(b["model"]["expected_true_alerts"])
    listed = np.mean([o.totals["true_alerts_if_listed"] for o in outs])
    assert b["model"]["expected_true_alerts"] == pytest.approx(0.05 * listed)
    spread = [
        np.std([o.totals["true_alerts"] for o in res.rescore(prevalence=0.05, prevalence_dispersion=x)[0]])
        for x in (0.0, 1.0)
    ]
    assert spread[1] > spread[0]
