"""Cached runs: the crowd key ignores exactly what rescore changes; a re-scored plan equals a fresh run."""

from __future__ import annotations

from pathlib import Path

import twin
from twin.app import cache, cameras
from twin.app import plan as plans
from twin.sim.run import crowd_key


def test_crowd_key_ignores_only_what_rescore_changes(tiny_doc: dict, square_site: Path) -> None:
    base = plans.to_scenario(tiny_doc, square_site.parent)

    def key(**wl: object) -> str:
        d = {**tiny_doc, "watchlist": {**tiny_doc["watchlist"], **wl}}
        return crowd_key(plans.to_scenario(d, square_site.parent))

    k = crowd_key(base)
    assert key(threshold=0.64) == k and key(size=99) == k and key(prevalence=0.5) == k
    assert crowd_key(plans.to_scenario({**tiny_doc, "name": "renamed"}, square_site.parent)) == k
    for change in (
        {"seed": 8},
        {"replications": 4},
        {"time": {"start": "13:00", "duration_s": 600}},
        {"footfall": {"rate_per_h": [1800.0] * 24}},
    ):
        assert crowd_key(plans.to_scenario({**tiny_doc, **change}, square_site.parent)) != k
    moved = cameras.update_camera(tiny_doc, "cam_w", heading_deg=280.0)
    assert crowd_key(plans.to_scenario(moved, square_site.parent)) != k


def test_run_cache_drops_the_least_recently_used() -> None:
    c = cache.RunCache(max_entries=2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3 and len(c) == 2
    c.clear()
    assert len(c) == 0 and c.get("a") is None


def test_rescored_numbers_equal_a_fresh_run_of_the_saved_plan(tiny_doc: dict, square_site: Path) -> None:
    """What the app shows after a threshold change (rescore) is what `twin run` gives on the saved plan."""
    sc = plans.to_scenario(tiny_doc, square_site.parent)
    res = twin.run(sc)
    _, shown = res.rescore(threshold=0.58, watchlist_size=500)
    saved = plans.apply_settings(
        tiny_doc,
        plans.PlanSettings(
            start=sc.time.start,
            duration_h=1,
            watchlist_size=500,
            prevalence=sc.watchlist.prevalence,
            threshold=0.58,
            seed=sc.seed,
            replications=sc.replications,
        ),
    )
    saved["time"]["duration_s"] = sc.time.duration_s
    fresh = twin.run(plans.to_scenario(saved, square_site.parent)).summary
    for section in ("totals", "per_hour_rate", "rates", "hourly"):
        assert shown[section] == fresh[section]


def test_rescoring_with_the_runs_own_settings_changes_nothing(tiny_doc: dict, square_site: Path) -> None:
    """The page shows a run's own summary when its watchlist and operations settings are the plan's
    (twin.app.ui.scored_summary skips the re-scoring): that is what re-scoring would give."""
    sc = plans.to_scenario(tiny_doc, square_site.parent)
    res = twin.run(sc)
    assert res.rescore_as(sc).filled_from(res.summary).to_json() == res.summary.to_json()


def test_run_cache_finds_a_family_and_lru_dict_forgets() -> None:
    c = cache.RunCache(max_entries=3)
    c.put("a", 1, family="oxford")
    c.put("b", 2, family="oxford")
    c.put("c", 3, family="croydon")
    assert c.latest("oxford") == 2 and c.latest("croydon") == 3 and c.latest("stratford") is None
    assert c.get("a") == 1 and c.latest("oxford") == 1  # the most recently used of the family
    d = cache.LruDict(max_entries=2)
    d["x"], d["y"] = 1, 2
    _ = d["x"]
    d["z"] = 3
    assert sorted(d) == ["x", "z"] and len(d) == 2
