"""`twin compare`: variants, the comparison folder (CSV, JSON, offline HTML with SVG plots), errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import IN_CI, SCENARIOS
from twin.cli.main import app
from twin.errors import ScenarioError
from twin.outputs.compare import build_variants, split_overrides

runner = CliRunner()
#: Short windows keep the real scenarios quick; the folder and plots are what is checked here.
SHORT = ("--set-all", "time.duration_s=1800", "-r", "2")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def only_folder(out: Path) -> Path:
    (folder,) = list(out.iterdir())
    return folder


def test_split_overrides_and_variants() -> None:
    assert split_overrides("watchlist.threshold=0.64 operations.officers=6") == [
        "watchlist.threshold=0.64",
        "operations.officers=6",
    ]
    v = build_variants(["a.yaml", "b.yaml"], ["watchlist.threshold=0.64"], ["time.duration_s=600"])
    assert [(x.path.name, x.overrides) for x in v] == [
        ("a.yaml", ()),
        ("a.yaml", ("watchlist.threshold=0.64",)),
        ("b.yaml", ()),
        ("b.yaml", ("watchlist.threshold=0.64",)),
    ]
    assert all(x.common == ("time.duration_s=600",) for x in v)
    with pytest.raises(ScenarioError, match="nothing to compare"):
        build_variants(["a.yaml"])
    with pytest.raises(ScenarioError, match=r"must look like key\.path=value"):
        split_overrides("threshold")


def test_compare_two_real_scenarios_writes_table_and_html(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = invoke(
        "compare",
        str(SCENARIOS / "leicester_square.yaml"),
        str(SCENARIOS / "stratford.yaml"),
        *SHORT,
        "--out",
        str(out),
    )
    assert r.exit_code == 0, r.output
    assert "Leicester Square" in r.output and "Stratford" in r.output and "Officers needed" in r.output
    folder = only_folder(out)
    assert {p.name for p in folder.iterdir()} == {"comparison.csv", "comparison.json", "comparison.html"}
    table = pd.read_csv(folder / "comparison.csv")
    assert set(table["variant"]) == {"Leicester Square LFR van deployment", "Stratford LFR van deployment"}
    for metric in (
        "totals.alerts",
        "totals.true_alerts",
        "totals.false_alerts",
        "per_hour_rate.alerts",
        "operations.totals.false_engaged",
        "operations.rates.officer_utilisation",
        "operations.times_s.review_wait_s",
        "operations.officers_needed",
    ):
        assert (table["metric"] == metric).sum() == 2, metric
    assert {"mean", "p2_5", "p97_5"} <= set(table.columns)
    doc = json.loads((folder / "comparison.json").read_text())
    assert [v["scenario"] for v in doc["variants"]] == [
        "Leicester Square LFR van deployment",
        "Stratford LFR van deployment",
    ]
    assert all(v["replications"] == 2 and v["window"]["duration_s"] == 1800 for v in doc["variants"])
    page = (folder / "comparison.html").read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?https?://""", page)
    assert page.count("<svg") >= 4
    for title in (
        "alerts per hour over the day",
        "officers needed",
        "true vs false alerts per hour",
        "stops and arrests per hour",
    ):
        assert f'aria-label="{title}"' in page
    assert "<polyline" in page and "<rect" in page


def test_a_variant_reuses_the_crowd_and_is_deterministic(tmp_path: Path) -> None:
    args = (
        "compare",
        str(SCENARIOS / "stratford.yaml"),
        "--set",
        "watchlist.threshold=0.64 operations.officers=1",
        *SHORT,
    )
    r1 = invoke(*args, "--out", str(tmp_path / "a"))
    r2 = invoke(*args, "--out", str(tmp_path / "b"))
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a, b = only_folder(tmp_path / "a"), only_folder(tmp_path / "b")
    assert (a / "comparison.json").read_bytes() == (b / "comparison.json").read_bytes()
    doc = json.loads((a / "comparison.json").read_text())
    base, variant = doc["variants"]
    assert variant["overrides"] == ["watchlist.threshold=0.64", "operations.officers=1"]
    assert variant["crowd_from"] == base["label"]  # re-scored, not re-simulated
    s0, s1 = (x["summary"] for x in doc["summaries"])
    assert s0["totals"]["passers_by"] == s1["totals"]["passers_by"]
    assert s1["totals"]["false_alerts"]["mean"] <= s0["totals"]["false_alerts"]["mean"]
    assert s1["operations"]["settings"]["officers"] == 1 and s0["operations"]["settings"]["officers"] == 4


def test_never_overwrites(tmp_path: Path) -> None:
    args = (
        "compare",
        str(SCENARIOS / "croydon_north_end.yaml"),
        "--set",
        "watchlist.threshold=0.64",
        "--set-all",
        "time.duration_s=300",
        "-r",
        "1",
        "--out",
        str(tmp_path / "c"),
    )
    assert invoke(*args).exit_code == 0
    assert invoke(*args).exit_code == 0
    names = [p.name for p in (tmp_path / "c").iterdir()]
    assert len(names) == 2 and not any(n.startswith(".tmp") for n in names)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--set", "operations.officers=-1"), "officers -1 must be >= 0"),
        (("--set", "operations.review_time.mean_s=0"), "review_time.mean_s 0.0 must be > 0"),
        (
            ("--set", "operations.arrest_probability=1.2"),
            "arrest_probability 1.2 must be a probability in [0, 1]",
        ),
        (("--set", "watchlist.threshold=1.5"), "score range"),
        (("--set", "threshold"), "must look like key.path=value"),
        (("--set", "operations.officers=2", "-r", "0"), "replications 0 must be between 1 and 10000"),
        (("-r", "100000"), "replications 100000 must be between 1 and 10000"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "cmp"
    r = invoke("compare", str(SCENARIOS / "stratford.yaml"), *extra, "--out", str(out))
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert not out.exists()  # not even an empty folder


def test_one_scenario_without_variant_is_an_error(tmp_path: Path) -> None:
    r = invoke("compare", str(SCENARIOS / "stratford.yaml"), "--out", str(tmp_path))
    assert r.exit_code == 2 and "nothing to compare" in r.output


@pytest.mark.browser
@pytest.mark.slow
def test_comparison_plots_render_in_a_browser(tmp_path: Path) -> None:
    """Open comparison.html in Debian's chromium with no network and check every chart has a drawn size."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        if IN_CI:
            pytest.fail("chromium missing (CI=true: .ci/run installs Debian's chromium)")
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    r = invoke(
        "compare",
        str(SCENARIOS / "stratford.yaml"),
        "--set",
        "operations.officers=1",
        *SHORT,
        "--set-all",
        "watchlist.prevalence=0.005",
        "--out",
        str(tmp_path / "cmp"),
    )
    assert r.exit_code == 0, r.output
    page_path = only_folder(tmp_path / "cmp") / "comparison.html"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.route(
            "**/*",
            lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_(),
        )
        page.goto(page_path.as_uri())
        boxes = page.eval_on_selector_all(
            "svg",
            "els => els.map(e => [e.getBoundingClientRect().width, "
            "e.getBoundingClientRect().height, e.querySelectorAll('polyline,rect,circle').length])",
        )
        browser.close()
    assert len(boxes) >= 4
    for w, h, marks in boxes:
        assert w > 300 and h > 150 and marks > 0


def test_cli_default_replications_is_the_library_default() -> None:
    import inspect

    import twin.cli.main as cli
    from twin.outputs.compare import DEFAULT_REPLICATIONS

    assert inspect.signature(cli.compare).parameters["replications"].default.default == DEFAULT_REPLICATIONS
    r = invoke("compare", "--help")
    assert r.exit_code == 0 and "--set-all" in r.output and "watchlist.threshold=0.64" in r.output
