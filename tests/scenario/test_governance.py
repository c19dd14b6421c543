"""The governance block: what a deployment record needs, validated; the plan's window against the
authorisation."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from conftest import governance_doc
from twin.scenario.governance import APP_CATEGORIES, Governance, plan_window, window_breach

BLOCK = governance_doc()


def test_a_valid_block_and_its_totals() -> None:
    g = Governance.model_validate(BLOCK)
    assert g.watchlist_total == 1000 and g.authorised_hours == 6.0
    assert g.retention.non_match == "immediate" and g.retention.alert_days == 31
    assert set(APP_CATEGORIES) == {"wanted", "suspect", "missing", "vulnerable", "risk_of_harm"}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"end": "2026-12-05T11:00:00+00:00"}, "must be after governance.start"),
        (
            {"watchlist_composition": [{"category": "wanted", "count": 1, "image_source": "x"}] * 2},
            "each APP category once",
        ),
        (
            {"watchlist_composition": [{"category": "shoplifters", "count": 1, "image_source": "x"}]},
            "category",
        ),
        ({"purpose": ""}, "purpose"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_bad_blocks_name_the_problem(change: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Governance.model_validate({**BLOCK, **change})


def test_the_plan_window_is_read_in_london_time() -> None:
    g = Governance.model_validate(BLOCK)
    a, b = plan_window(g, "13:00", 3600)
    assert (a.hour, b.hour, str(a.tzinfo)) == (13, 14, "Europe/London")
    assert window_breach(g, "12:00", 6 * 3600) is None
    assert "starts before the authorised start" in window_breach(g, "11:30", 3600)
    summer = Governance.model_validate(
        {
            **BLOCK,
            "start": dt.datetime(2026, 7, 1, 11, 0, tzinfo=dt.timezone.utc),
            "end": dt.datetime(2026, 7, 1, 17, 0, tzinfo=dt.timezone.utc),
        }
    )
    assert window_breach(summer, "12:00", 3600) is None  # 11:00 UTC is 12:00 BST
