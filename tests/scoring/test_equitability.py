"""Equitability defaults reproduce NPL 2023's pattern, checked analytically (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest

from twin.scoring.equitability import (
    LONDON_2021_SHARES,
    equitability_table,
    fpir_ratio,
    group_fmr,
    group_fpir,
    threshold_sweep,
)
from twin.scoring.score_model import GroupEffect, ScoreModel


def test_npl_pattern_differential_below_060_none_above() -> None:
    """NPL 2023: significant imbalance at 0.56-0.58 (more Black subjects falsely matched), none at >= 0.6.

    The issue's encoding: FPIR ratio highest/lowest group >= 2 at 0.56-0.58 and <= 1.25 at >= 0.60.
    """
    m = ScoreModel()
    for n in (1_000, 10_000, 16_000):
        assert np.all(fpir_ratio(m, LONDON_2021_SHARES, np.arange(0.56, 0.5801, 0.005), n) >= 2.0)
        assert np.all(fpir_ratio(m, LONDON_2021_SHARES, np.arange(0.60, 0.80, 0.005), n) <= 1.25)
    f = group_fpir(m, LONDON_2021_SHARES, 0.57, 10_000)
    assert max(f, key=lambda k: float(f[k])) == "black"


def test_population_average_stays_calibrated() -> None:
    m = ScoreModel()
    t = np.linspace(0.4, 0.8, 81)
    fm = group_fmr(m, LONDON_2021_SHARES, t)
    avg = sum(LONDON_2021_SHARES[k] * fm[k] for k in fm) / sum(LONDON_2021_SHARES.values())
    assert np.allclose(avg, m.fmr(t), rtol=1e-12)


def test_no_group_effects_means_equal_rates() -> None:
    m = ScoreModel(groups=())
    assert np.allclose(fpir_ratio(m, LONDON_2021_SHARES, [0.56, 0.6], 10_000), 1.0)


def test_multiplier_by_hand() -> None:
    g = GroupEffect("g", fmr_ratio=3.0, centre=0.585, width=0.004)
    # at the centre the extra factor is half gone: 1 + 2/2 = 2; 0.06 above it: 1 + 2/(1 + e^15)
    assert float(g.multiplier(0.585)) == pytest.approx(2.0)
    assert float(g.multiplier(0.645)) == pytest.approx(1 + 2 / (1 + np.exp(15)))


def test_sweep_and_table_shapes() -> None:
    m = ScoreModel()
    s = threshold_sweep(m, LONDON_2021_SHARES, 10_000)
    assert len(s["thresholds"]) == 37 and set(s["fpir"]) == set(LONDON_2021_SHARES)
    rows = equitability_table(
        m, LONDON_2021_SHARES, threshold=0.6, watchlist_size=10_000, tpir_for_shift=lambda d: 0.89 + d
    )
    assert [r["group"] for r in rows] == list(LONDON_2021_SHARES)
    assert all(r["tpir"] == pytest.approx(0.89) for r in rows)  # no mated shift by default (NPL: none at 0.6)
