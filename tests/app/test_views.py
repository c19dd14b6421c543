"""What the pages show: figures through the one formatter, tables, frames, operations, the record preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SCENARIOS
from twin.app import comparison, maplayers, views
from twin.app import plan as plans
from twin.scoring.metric_table import metric


def test_band_text_shows_mean_unit_and_predictive_interval() -> None:
    """One formatter for every output (twin.scoring.metric_table.fmt_value): the app prints what the report
    prints."""
    assert (
        views.band_text(
            {"mean": 32530.2, "p2_5": 32213.0, "p97_5": 32733.0},
            metric("per_hour_rate.passers_by"),
            unit="/h",
        )
        == "32,530 /h (95% PI 32,213–32,733)"
    )
    zero = {"mean": 0.0, "p2_5": 0.0, "p97_5": 0.0}
    assert views.band_text(zero, metric("per_hour_rate.false_alerts")) == "0.0 (95% PI 0.0–0.0)"
    sci = {"mean": 1.41e-4, "p2_5": 1e-4, "p97_5": 2e-4}
    assert views.band_text(sci, metric("rates.fpir")) == "1.41e-04 (95% PI 1.00e-04–2.00e-04)"
    assert views.band_text(None, metric("totals.alerts")) == "–"
    empty = {"mean": None, "p2_5": None, "p97_5": None}
    assert (
        views.band_text(empty, metric("rates.tpir"))
        == "– (no watchlisted passer-by in a zone in any replication)"
    )


def _summary() -> dict:
    def band(m: float) -> dict:
        return {"mean": m, "p2_5": m / 2, "p97_5": m * 2}

    return {
        "totals": {
            "passers_by": band(1000.0),
            "faces_scanned": band(500.0),
            "alerts": band(3.0),
            "true_alerts": band(1.0),
            "false_alerts": band(2.0),
        },
        "per_hour_rate": {
            "passers_by": band(1000.0),
            "faces_scanned": band(500.0),
            "true_alerts": band(1.0),
            "false_alerts": band(2.0),
        },
        "rates": {"precision": band(0.33), "tpir": band(0.9), "fpir": band(4e-3)},
        "hourly": {"true_alerts": [band(1.0), band(0.5)], "false_alerts": [band(2.0), band(1.0)]},
        "model": {"model_id": "m", "fpir_at_threshold": 1.7e-4},
    }


def test_result_table_and_frames() -> None:
    t = views.result_table(_summary())
    assert list(t.columns) == ["Metric", "Expected (95% PI)", "Unit"]
    row = t.set_index("Metric").loc["False alerts"]
    assert row["Expected (95% PI)"] == "2.0 (95% PI 1.0–4.0)" and row["Unit"] == "alerts/h"
    h = views.hourly_frame(_summary(), 23)
    assert list(h["hour"].unique()) == ["23:00", "00:00"] and len(h) == 4
    c = comparison.compare_table([("A", _summary()), ("B", _summary())])
    assert list(c.columns) == ["A", "B"] and c.loc["False alerts (alerts/h)", "B"] == "2.0 (95% PI 1.0–4.0)"
    f = comparison.compare_frame([("A", _summary())])
    assert set(f["metric"]) == {"True alerts /h", "False alerts /h"} and f["hi"].max() == 4.0


def test_heat_points_keep_usable_captures_only() -> None:
    tracks = pd.DataFrame({"x_m": [1.0, 2.0, np.nan], "y_m": [3.0, 4.0, 5.0], "usable_captures": [2, 0, 1]})
    assert maplayers.heat_points(tracks).tolist() == [[1.0, 3.0]]
    assert maplayers.heat_points(None).shape == (0, 2)


def test_operations_view_reads_the_operations_section_or_says_none() -> None:
    assert views.operations_rows(_summary()) is None
    s = _summary()
    s["operations"] = {
        "per_hour_rate": {"stops": {"mean": 1.5, "p2_5": 0.0, "p97_5": 3.0}},
        "rates": {"engaged_true_share": {"mean": 0.8, "p2_5": 0.5, "p97_5": 1.0}},
        "officers_needed": {
            "officers_needed": 3,
            "target_engaged_share": 0.8,
            "note": "3 officer(s) engage >= 80%",
        },
    }
    v = views.operations_rows(s)
    assert (
        v is not None and v.officers_needed == 3 and v.target_share == 0.8 and v.note.startswith("3 officer")
    )
    assert ("Stops by officers", "1.5 /h (95% PI 0.0–3.0)") in v.rows
    table = comparison.compare_table([("A", s), ("B", _summary())])
    assert table.loc["Officers needed (for 80% of true alerts engaged)"].tolist() == ["3", "–"]
    assert table.loc["Stops by officers (/h)", "A"] == "1.5 (95% PI 0.0–3.0)"
    s["operations"]["officers_needed"] = {"officers_needed": None, "true_alerts": 0, "note": "no true alert"}
    assert views.operations_rows(s).officers_text == "n/a"
    s["operations"]["officers_needed"]["true_alerts"] = 4
    assert views.operations_rows(s).officers_text == "not reached"


def test_record_preview_states_what_the_plan_determines(
    tiny_doc: dict, square_site: Path, square_site_loaded
) -> None:
    sc = plans.to_scenario(tiny_doc, square_site.parent)
    prev = views.record_preview(sc, _summary(), square_site_loaded)
    rows = dict(prev.rows)
    assert rows["Time window"] == "12:00–12:10 local (0.166667 h)"
    assert rows["LFR notice signs"] == "2 on the map"
    assert rows["Model FPIR"].startswith("1.70e-04 per face scanned")
    assert "deleted at once" in rows["Retention"] and "destroyed" in rows["Retention"]
    assert prev.governance == () and prev.checks == ()  # no governance block in the tiny plan


def test_record_preview_checks_the_forces_limits() -> None:
    from twin.sim.context import prepare

    sc = plans.to_scenario(plans.load_plan(SCENARIOS / "oxford_circus.yaml"), SCENARIOS)
    if getattr(sc, "governance", None) is None:
        pytest.skip("this scenario model has no governance block")
    site = prepare(sc).site
    over = sc.model_copy(update={"watchlist": sc.watchlist.model_copy(update={"size": 10**6})})
    prev = views.record_preview(over, _summary(), site)
    status = {r: s for r, s, _ in prev.checks}
    assert status["Watchlist size within the force's limit"] == "breach"
    assert status["Plan window inside the authorised period"] == "ok"
    assert dict(prev.governance)["DPIA"]


def test_headline_alerts_show_the_models_expected_count_beside_a_zero_sample() -> None:
    """Four replications that sampled no false alert read "0.0–0.0", but the model expects 1.2 in a 6-hour
    window: the figure is the model's 1.2 / 6 = 0.2 /h, the caption gives the model's interval in the window
    and says how many replications sampled none (issues 13 and 15: never a bare 0–0)."""
    s = _summary()
    s["per_hour_rate"]["false_alerts"] = {"mean": 0.0, "p2_5": 0.0, "p97_5": 0.0}
    s["model"].update(expected_false_alerts=1.2, false_alerts_interval=[0.3, 4.8])
    s["model"]["expected_false_alerts_definition"] = "faces x FPIR"
    s["run"] = {"replications": 4, "window": {"duration_s": 6 * 3600.0}}
    fa = {h.label: h for h in views.headline_figures(s)}["False alerts"]
    assert fa.value == "0.2 /h (model)"
    assert fa.caption == (
        "expected by the score model (95% PI 0.3–4.8 in the 6 h window); "
        "none simulated in 4 replications of 6 h"
    )
    assert "0.0–0.0" not in fa.caption
    # no model figure for true alerts in this run: the sampled interval, and what it rests on
    ta = {h.label: h for h in views.headline_figures(s)}["True alerts"]
    assert ta.caption == "95% PI 0.5–2.0 /h over 4 replications of 6 h"
