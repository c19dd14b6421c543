"""Honest rare-event figures (twin.app.intervals): never a 0–0 interval for a count the model expects
above zero, and every interval says how many replications and hours it rests on (issue 13, defect 4).

The summaries are written by hand: 5 replications of a 1 h window, false alerts 0 in every replication
(band 0–0) while the score model expects 0.06 in the window: the case seen at Oxford Circus at
threshold 0.64.
"""

from __future__ import annotations

import re
from typing import Any

from twin.app import comparison, intervals, views
from twin.scoring.metric_table import metric


def _summary(
    fa: dict[str, float], *, expected_fa: float | None = 0.06, reps: int = 5, hours: float = 1.0
) -> dict:
    model: dict[str, Any] = {"fpir_at_threshold": 1e-5}
    if expected_fa is not None:
        model["expected_false_alerts"] = expected_fa
        model["expected_false_alerts_definition"] = "faces scanned of people not on the watchlist x FPIR"
    return {
        "replications": reps,
        "run": {"replications": reps, "window": {"start": "12:00", "duration_s": hours * 3600}},
        "totals": {"false_alerts": {k: v * hours for k, v in fa.items()}},
        "per_hour_rate": {"false_alerts": fa},
        "rates": {
            "precision": {"mean": 0.0, "p2_5": 0.0, "p97_5": 0.0},
            "tpir": {"mean": 1.0, "p2_5": 1.0, "p97_5": 1.0},
        },
        "model": model,
    }


ZERO = {"mean": 0.0, "p2_5": 0.0, "p97_5": 0.0}


def test_a_degenerate_count_shows_the_models_expectation_not_0_0() -> None:
    value, caption = intervals.alert_headline(_summary(ZERO), "per_hour_rate.false_alerts", "/h")
    assert value == "0.06 /h (model)"
    assert "0–0" not in caption and "none simulated in 5 replications of 1 h" in caption
    # in the window's unit, over a 2 h window: 0.06 expected in the window is 0.03 /h
    value, _ = intervals.alert_headline(_summary(ZERO, hours=2.0), "per_hour_rate.false_alerts", "/h")
    assert value == "0.03 /h (model)"
    text = intervals.figure_text(_summary(ZERO), metric("totals.false_alerts"))
    assert text.startswith("0.06 expected by the model") and "0–0" not in text


def test_a_count_without_a_positive_model_figure_reads_as_sampled_never_0_0() -> None:
    for expected in (0.0, None):  # the model expects none, or the summary has no model figure
        value, caption = intervals.alert_headline(
            _summary(ZERO, expected_fa=expected), "per_hour_rate.false_alerts", "/h"
        )
        assert value == "0.0 /h"  # the sampled mean, no model figure beside it
        assert caption == "none in any of 5 replications of 1 h: too few for an interval"


def test_few_replications_say_so_and_give_the_model_beside_the_interval() -> None:
    fa = {"mean": 2.2, "p2_5": 0.0, "p97_5": 5.0}
    value, caption = intervals.alert_headline(
        _summary(fa, expected_fa=2.0), "per_hour_rate.false_alerts", "/h"
    )
    assert value == "2.2 /h"
    assert caption == "95% PI 0.0–5.0 /h over 5 replications of 1 h · model expects 2.0 /h"
    # 40 replications are not "few": the sampled interval stands alone
    value, caption = intervals.alert_headline(
        _summary(fa, expected_fa=2.0, reps=40), "per_hour_rate.false_alerts", "/h"
    )
    assert caption == "95% PI 0.0–5.0 /h over 40 replications of 1 h"


def test_degenerate_ratios_are_not_printed_as_intervals() -> None:
    s = _summary(ZERO)
    for metric_id, mean in (("rates.precision", "0.00"), ("rates.tpir", "1.00")):
        text = intervals.figure_text(s, metric(metric_id))
        assert text.startswith(mean) and f"({mean}–{mean})" not in text, text
        assert "5 replications of 1 h" in text
    # the Plan page's headline figures and the Compare table say the same
    for h in views.headline_figures(s):
        assert "0–0" not in h.caption and "0.00–0.00" not in h.caption, h
    table = comparison.compare_table([("A: Croydon", s), ("B: Croydon", s)])
    cells = table.stack().tolist()
    assert not any(re.search(r"\((\d[\d.,]*)–\1\)", c) for c in cells), table


def test_fmt_rate_keeps_small_rates_visible() -> None:
    assert intervals.fmt_rate(0.0634) == "0.063"  # not "0.1" nor "0"


def test_the_models_interval_is_shown_where_the_summary_has_one() -> None:
    """With main's model section (issue 15: expected true alerts and 95% predictive intervals of the
    window's counts, negative binomial), a degenerate count shows the model's figure and interval."""
    s = _summary(ZERO, expected_fa=0.25, hours=2.0)
    s["model"].update(
        expected_true_alerts=1.0,
        false_alerts_interval=[0.0, 3.0],
        true_alerts_interval=[0.0, 4.0],
        model_interval_definition="negative binomial with the between-deployment spread",
    )
    s["totals"]["true_alerts"] = dict(ZERO)
    s["per_hour_rate"]["true_alerts"] = dict(ZERO)
    value, caption = intervals.alert_headline(s, "per_hour_rate.false_alerts", "/h")
    assert value == "0.12 /h (model)"  # 0.25 in the 2 h window
    assert caption == (
        "expected by the score model (95% PI 0–3.0 in the 2 h window); "
        "none simulated in 5 replications of 2 h"
    )
    value, caption = intervals.alert_headline(s, "per_hour_rate.true_alerts", "/h")
    assert value == "0.5 /h (model)"
    assert "95% PI 0–4.0 in the 2 h window" in caption
