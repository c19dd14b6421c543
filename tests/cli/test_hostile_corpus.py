"""The hostile-input corpus of issue 12: every file and option a user can hand the twin, wrong in every way
that once slipped past the schema, through every entry point (run, compare, sites, calibrate).

Each case must end with exit code 2, exactly one line naming the value and the fix, no traceback, and
nothing written or left behind: no output folder, no temporary, nothing new in the working folder.
The root causes are numbered as in the issue; the Plan page's uploads are in tests/app/test_pages.py,
model packs in tests/cli/test_engines.py, images in tests/recognition/test_bank.py, signed records in
tests/outputs/test_seal.py, real-engine thresholds in tests/sim/test_realpass.py.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conftest import MAPS, SCENARIOS, square_site_doc, tiny_scenario_doc
from twin.cli.main import app

runner = CliRunner()
Doc = dict[str, Any]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def refused(tmp_path: Path, args: list[str], needle: str) -> str:
    """Run ``twin *args`` in ``tmp_path``; assert exit 2, one line holding ``needle``, nothing written."""
    before = _tree(tmp_path)
    r = runner.invoke(app, args)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1, r.output
    assert needle in lines[0], lines[0]
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert _tree(tmp_path) == before, sorted(_tree(tmp_path) - before)  # no out folder, no temporaries
    return lines[0]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # default outputs (runs/, comparisons/) would land here
    return tmp_path


def _scenario(folder: Path, edit: Callable[[Doc], Any] | None = None, *, site: Doc | None = None) -> Path:
    map_path = folder / "site.geojson"
    map_path.write_text(json.dumps(site if site is not None else square_site_doc(), allow_nan=True))
    doc = tiny_scenario_doc(map_path)
    if edit is not None:
        edit(doc)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _site(edit: Callable[[Doc], Any]) -> Doc:
    doc = copy.deepcopy(square_site_doc())
    edit(doc)
    return doc


def _route(d: Doc) -> Doc:
    return d["features"][1]["properties"]


# 1. script injection: ids reach HTML and JavaScript, so they are restricted at validation
# 2. the site GeoJSON is validated by a schema: one line naming the feature, the property and the fix
# 13. weak messages: an empty geofence, a negative footfall, BNG coordinates, a crs member
SITE_CASES: dict[str, tuple[Callable[[Doc], Any], str]] = {
    "route id with script": (lambda d: _route(d).update(id="e${document.title=1}"), "route id 'e${document"),
    "site name with markup": (
        lambda d: d["site"].update(name="<b>x</b>"),
        "site name '<b>x</b>' may hold only",
    ),
    "site id with a slash": (lambda d: d["site"].update(id="../x"), "site id '../x' may hold only"),
    "weight as text": (
        lambda d: _route(d).update(weight="abc"),
        "properties.weight: Input should be a valid number",
    ),
    "weight null": (lambda d: _route(d).update(weight=None), "feature 1 ('route' 'east'): properties.weight"),
    "weight negative": (lambda d: _route(d).update(weight=-1), "greater than or equal to 0"),
    "width as bool": (lambda d: _route(d).update(width_m=True), "properties.width_m"),
    "misspelt key": (lambda d: _route(d).update(wieght=2), "properties.wieght: unknown key; valid keys here"),
    "string coordinates": (
        lambda d: d["features"][1]["geometry"].update(coordinates=[["-0.14", "51.5"], [-0.14, 51.5]]),
        "geometry.LineString.coordinates.0.0: Input should be a valid number",
    ),
    "mixed 2-D and 3-D ring": (
        lambda d: d["features"][0]["geometry"]["coordinates"][0][1].append(10.0),
        "positions mix 2-D and 3-D coordinates",
    ),
    "NaN footfall": (
        lambda d: d["site"]["footfall"].update(daily_passers_by=float("nan")),
        "NaN is not a JSON",
    ),
    "Infinity footfall": (
        lambda d: d["site"]["footfall"].update(daily_passers_by=float("inf")),
        "Infinity is not a JSON number",
    ),
    "negative footfall": (
        lambda d: d["site"]["footfall"].update(daily_passers_by=-5),
        "site.footfall.daily_passers_by: Input should be greater than or equal to 0 (got -5)",
    ),
    "footfall as text": (lambda d: d["site"]["footfall"].update(daily_passers_by="many"), "daily_passers_by"),
    "features a number": (
        lambda d: d.update(features=5),
        "'features' must be a list of GeoJSON Features, got int",
    ),
    "site a string": (lambda d: d.update(site="Oxford"), "'site' must be an object"),
    "empty geofence": (
        lambda d: d["features"][0]["geometry"].update(coordinates=[]),
        "the Polygon has no coordinates; give its outer ring",
    ),
    "geofence a point": (
        lambda d: d["features"][0].update(geometry={"type": "Point", "coordinates": [-0.14, 51.51]}),
        "geometry must be a GeoJSON Polygon for role 'geofence', got 'Point'",
    ),
    "no geometry": (lambda d: d["features"][1].update(geometry=None), "feature 1 ('route' 'east'): geometry"),
    "unknown role": (
        lambda d: d["features"][6]["properties"].update(role="bench"),
        "properties.role must be one of",
    ),
    "not a feature": (lambda d: d["features"].append([1, 2]), "feature 7 must be a GeoJSON Feature object"),
    "BNG eastings": (
        lambda d: d["features"][1]["geometry"].update(coordinates=[[529000, 181200], [529100, 181200]]),
        "look like British National Grid (EPSG:27700) eastings/northings",
    ),
    "crs member": (
        lambda d: d.update(crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}),
        "the 'crs' member names 'urn:ogc:def:crs:EPSG::27700'",
    ),
    "geometry collection": (
        lambda d: d["features"][1].update(geometry={"type": "GeometryCollection", "geometries": []}),
        "geometry must be a GeoJSON LineString for role 'route', got 'GeometryCollection'",
    ),
    "van heading 1e9": (
        lambda d: d["features"][3]["properties"].update(headings_deg=[1e9]),
        "properties.headings_deg: headings_deg [1000000000.0] must be compass bearings",
    ),
    "headings as text": (
        lambda d: d["features"][3]["properties"].update(headings_deg="90"),
        "properties.headings_deg: Input should be a valid list",
    ),
}


@pytest.mark.parametrize("case", list(SITE_CASES))
def test_broken_site_file_through_run(work: Path, case: str) -> None:
    edit, needle = SITE_CASES[case]
    sc = _scenario(work, site=_site(edit))
    refused(work, ["run", str(sc), "--out", str(work / "out")], needle)


@pytest.mark.parametrize("case", ["weight as text", "features a number", "mixed 2-D and 3-D ring"])
def test_broken_site_file_through_compare(work: Path, case: str) -> None:
    edit, needle = SITE_CASES[case]
    sc = _scenario(work, site=_site(edit))
    refused(work, ["compare", str(sc), "--set", "watchlist.threshold=0.64", "--out", str(work / "c")], needle)


def test_a_key_given_twice_in_a_site_file(work: Path) -> None:
    """JSON readers keep the last of two equal keys, as YAML did: a second "site" would replace the first."""
    text = json.dumps(square_site_doc())
    sc = _scenario(work)
    (work / "site.geojson").write_text(text[:-1] + ', "site": {"id": "x"}}')
    refused(work, ["run", str(sc), "--out", str(work / "out")], "key 'site' is given twice in one object")


def test_a_5000_digit_number_in_a_site_file(work: Path) -> None:
    """Python parses up to 4,300 digits and then fails with its own advice (set_int_max_str_digits)."""
    sc = _scenario(work)
    text = json.dumps(square_site_doc()).replace("100000", "1" + "0" * 4999)
    (work / "site.geojson").write_text(text)
    refused(work, ["run", str(sc)], "has 5000 characters, more than the 40 any value here needs")


def test_one_broken_map_does_not_hide_the_others(work: Path) -> None:
    maps = work / "maps"
    maps.mkdir()
    for f in MAPS.glob("*.geojson"):
        (maps / f.name).write_text(f.read_text())
    (maps / "zz_broken.geojson").write_text(json.dumps(_site(lambda d: d.update(features=5))))
    (maps / "aa_deep.geojson").write_text("[" * 100_000 + "]" * 100_000)
    r = runner.invoke(app, ["sites", str(maps)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "Oxford Circus" in r.output and "Leicester Square" in r.output and "Stratford" in r.output
    assert "zz_broken.geojson: zz_broken.geojson: 'features' must be a list" in " ".join(r.output.split())
    assert "nested 100000 levels deep" in r.output


def _set(path: str, value: Any) -> Callable[[Doc], Any]:
    def edit(doc: Doc) -> None:
        node = doc
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {}) if not p.isdigit() else node[int(p)]
        node[last] = value

    return edit


# 1. camera ids; 3. silent misreadings; 4. upper limits
SCENARIO_CASES: dict[str, tuple[Callable[[Doc], Any], str]] = {
    "camera id with script": (
        _set("cameras.0.id", "x${document.title=1}"),
        "camera id 'x${document.title=1}' may",
    ),
    "camera id with markup": (_set("cameras.0.id", "<img src=x>"), "camera id '<img src=x>' may hold only"),
    "camera id with a space": (_set("cameras.0.id", "cam 1"), "camera id 'cam 1' may hold only"),
    "heading 1e308": (_set("cameras.0.heading_deg", 1e308), "heading_deg 1e+308 is not a compass bearing"),
    "start as a plain int": (_set("time.start", 1200), "start 1200 is a number, not a clock time"),
    "start as a bool": (_set("time.start", True), "start True is not text"),
    "footfall scale 1e6": (_set("footfall.scale", 1e6), "scale 1e+06 is above its limit 100"),
    "rate per hour 1e9": (_set("footfall.rate_per_h", [1e9] * 24), "rate_per_h above 500,000 people/h"),
    "daily passers-by 1e12": (_set("footfall.daily_passers_by", 1e12), "daily_passers_by 1e+12 is above"),
    "watchlist 1e30": (
        _set("watchlist.size", 1e30),
        "watchlist size 1e+30 is larger than the Police National Database",
    ),
    "watchlist 0": (_set("watchlist.size", 0), "an empty watchlist can raise no alert"),
    "watchlist NaN": (_set("watchlist.size", float("nan")), "watchlist size nan is not a count"),
    "watchlist true": (_set("watchlist.size", True), "watchlist size True is not a count"),
    "negative watchlist with a fitted prevalence": (
        lambda d: d["watchlist"].update(size=-5, prevalence={"fitted": "oxford_circus"}),
        "watchlist size -5: an empty watchlist",
    ),
    "fitted prevalence of an unknown site": (
        _set("watchlist.prevalence", {"fitted": "<b>nowhere</b>"}),
        "no fitted prevalence for '<b>nowhere</b>'; fitted sites: croydon_north_end",
    ),
    "prevalence as a list": (_set("watchlist.prevalence", [0.1]), "watchlist.prevalence"),
    "prevalence dispersion NaN": (
        _set("watchlist.prevalence", {"mean": 1e-3, "dispersion": float("nan")}),
        "prevalence dispersion nan must be a finite number",
    ),
    "100 cameras": (lambda d: d.update(cameras=d["cameras"] * 100), "cameras: List should have at most 64"),
    "replications 100000": (
        _set("replications", 100_000),
        "replications: Input should be less than or equal",
    ),
    "seed too large": (_set("seed", 2**60), "seed: Input should be less than or equal to 9007199254740991"),
    "officers 10000": (_set("operations.officers", 10_000), "officers 10000 is above the limit of 200"),
    "review time a day": (_set("operations.review_time.mean_s", 86_400), "review_time.mean_s 86400.0"),
    "more memory than the limit": (
        lambda d: d.update(
            footfall={"rate_per_h": [400_000.0] * 24}, time={"start": "00:00", "duration_s": 604_800}
        ),
        "GiB of memory",
    ),
}


@pytest.mark.parametrize("case", list(SCENARIO_CASES))
def test_wrong_scenario_value(work: Path, case: str) -> None:
    edit, needle = SCENARIO_CASES[case]
    sc = _scenario(work, edit)
    refused(work, ["run", str(sc), "--out", str(work / "out")], needle)


RAW_YAML_CASES: dict[str, tuple[str, str]] = {
    "threshold given twice": (
        "watchlist:\n  threshold: 0.4\n  threshold: 0.9\n",
        "key 'threshold' is given twice, at lines 2 and 3",
    ),
    "unquoted clock time": ("time:\n  start: 12:00\n", "YAML 1.1 reads an unquoted 12:00 as 720"),
    "python tag": (
        "x: !!python/object/apply:os.system ['true']\n",
        "the tag !!python/object/apply:os.system",
    ),
    "deep list": ("x: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than 32 levels deep"),
    "deep block list": (
        "x:\n" + "".join("  " * i + "-\n" for i in range(1, 60)),
        "nested more than 32 levels",
    ),
    "not a mapping": ("- just\n- a list\n", "a scenario must be a YAML mapping of keys"),
    # YAML 1.1 reads NO (Norway) as False: shown as written, never as False
    "NO as a value": (
        "engine:\n  kind: NO\n",
        "engine.kind: Input should be 'statistical', 'dlib' or 'insightface' (got 'NO')",
    ),
    "tab indentation": ("name: x\n\tsite: y\n", "malformed YAML at line 2"),
    "5,000-digit seed": ("seed: " + "9" * 5000 + "\n", "the number at line 1 (999999999999...) has 5000"),
    "not UTF-8": ("name: \udcff\n", "not a UTF-8 text file"),
}


@pytest.mark.parametrize("case", list(RAW_YAML_CASES))
def test_malformed_yaml(work: Path, case: str) -> None:
    text, needle = RAW_YAML_CASES[case]
    path = work / "raw.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    refused(work, ["run", str(path), "--out", str(work / "out")], needle)


def test_large_yaml_is_refused_before_it_is_parsed(work: Path) -> None:
    path = work / "big.yaml"
    path.write_text("name: x\n" + "# padding\n" * 5_000_000)  # 50 MB: parsed for 100-170 s before
    t0 = time.perf_counter()
    refused(work, ["run", str(path)], "over the 256 kB limit")
    assert time.perf_counter() - t0 < 5
    path.unlink()


# 4. limits of the options themselves; 8. output paths checked before any work; 13. folders given as files
OPTION_CASES: dict[str, tuple[list[str], str]] = {
    "-r 100000": (["-r", "100000"], "replications 100000 must be between 1 and 10000"),
    "--set replications": (["--set", "replications=100000"], "replications: Input should be less than"),
    "--seed -1": (["--seed", "-1"], "seed -1 must be between 0 and 9007199254740991"),
    "--workers 0": (["--workers", "0"], "workers 0 must be between 1 and 64"),
    "--workers 1000": (["--workers", "1000"], "workers 1000 must be between 1 and 64"),
    "--set without =": (["--set", "watchlist.threshold"], "must look like key.path=value"),
    "--set unknown key": (["--set", "watchlist.treshold=0.6"], "unknown key 'treshold'"),
    "--set hostile id": (["--set", "cameras.0.id=a`b"], "camera id 'a`b' may hold only"),
    "--set clock as int": (["--set", "time.start=1200"], "start 1200 is a number, not a clock time"),
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_wrong_option(work: Path, case: str) -> None:
    extra, needle = OPTION_CASES[case]
    sc = _scenario(work)
    refused(work, ["run", str(sc), "--out", str(work / "out"), *extra], needle)


def test_a_comparison_has_at_most_16_columns(work: Path) -> None:
    sc = _scenario(work)
    refused(work, ["compare", *[str(sc)] * 17], "17 columns (17 scenario file(s) x 1) is more than the 16")
    sets = [x for i in range(8) for x in ("--set", f"watchlist.threshold=0.{50 + i}")]
    refused(work, ["compare", str(sc), str(sc), *sets], "18 columns (2 scenario file(s) x 9)")


def test_a_name_is_never_a_formula_in_comparison_csv(work: Path) -> None:
    """comparison.csv opened in a spreadsheet: a scenario named "=1+2" is text (a leading ')."""
    import csv

    a = _scenario(work, _set("name", "=1+2"))
    r = runner.invoke(app, ["compare", str(a), "--set", "watchlist.threshold=0.7", "-r", "1", "--out", "c"])
    assert r.exit_code == 0, r.output
    (folder,) = (work / "c").iterdir()
    rows = list(csv.DictReader((folder / "comparison.csv").open()))
    assert rows and all(row["variant"].startswith("'=1+2") for row in rows), rows[0]


def test_output_paths_are_checked_before_any_work(work: Path) -> None:
    sc = _scenario(work)
    (work / "a_file").write_text("x")
    refused(work, ["run", str(sc), "--out", str(work / "a_file")], "is a file, not a folder")
    refused(work, ["run", str(sc), "--out", str(work / "a_file" / "sub")], "is a file, not a folder")
    run_folder = work / "runs" / "done"
    run_folder.mkdir(parents=True)
    (run_folder / "run.json").write_text("{}")
    refused(
        work, ["run", str(sc), "--out", str(run_folder)], "is itself a run folder; give the folder that holds"
    )
    refused(work, ["compare", str(sc), str(sc), "--out", str(work / "a_file")], "is a file, not a folder")
    refused(work, ["calibrate", "--out", str(work)], "is a folder; give a file name")
    refused(work, ["calibrate", "--out", str(work / "a_file")], "exists; give a new file name")
    refused(work, ["calibrate", "--out", str(work / "a_file" / "m.json")], "is a file, not a folder")


def test_folders_and_links_given_as_files(work: Path) -> None:
    (work / "maps.geojson").mkdir()
    sc = _scenario(work, _set("site.map", str(work / "maps.geojson")))
    refused(work, ["run", str(sc)], "site map '" + str(work / "maps.geojson") + "' is a folder, not a file")
    (work / "folder.yaml").mkdir()
    refused(work, ["run", str(work / "folder.yaml")], "is a folder, not a file")
    (work / "dangling.yaml").symlink_to(work / "nowhere.yaml")
    refused(work, ["run", str(work / "dangling.yaml")], "is a link to nothing")
    refused(work, ["run", str(work / "missing.yaml")], "not found")


def test_real_scenarios_still_load(work: Path) -> None:
    """The corpus refuses what is wrong, not what is right: every shipped scenario and map passes."""
    from twin.scenario.load import load_scenario
    from twin.world.site import load_site

    for f in SCENARIOS.glob("*.yaml"):
        sc = load_scenario(f)
        assert load_site(sc.site.map).routes


def test_help_names_no_python_types_and_points_to_the_schema() -> None:
    r = runner.invoke(app, ["run", "--help"], terminal_width=120)
    assert r.exit_code == 0
    assert "<bool>" not in r.output and "list[" not in r.output and "twin schema" in r.output


def test_console_markup_in_names_is_shown_as_text(work: Path) -> None:
    """A scenario name, a file or a model id is the user's text: rich must not read "[/]" as markup (it
    raised MarkupError before)."""
    name = "x[/] [bold red]y[link=file:///etc/passwd]z"
    sc = _scenario(work, _set("name", name))
    r = runner.invoke(
        app, ["compare", str(sc), "--set", "watchlist.threshold=0.64", "-r", "2"], terminal_width=200
    )
    assert r.exit_code == 0, r.output
    assert "x[/]" in r.output  # the name as written
    r = runner.invoke(app, ["run", str(sc), "-r", "2", "--no-map"], terminal_width=200)
    assert r.exit_code == 0 and "x[/] [bold red]y" in r.output, r.output


def test_validate_output_paths_are_checked_before_any_work(work: Path) -> None:
    """`twin validate --out` (main's issue-15 command) is checked before the records are even read."""
    records = str(SCENARIOS.parent / "data" / "records" / "met_deployments_2020-02_2024-09.csv")
    (work / "a_file").write_text("x")
    args = ["validate", records, "--split", "2024-01-01", "--no-faces", "--out"]
    refused(work, [*args, str(work / "a_file")], "is a file, not a folder")
    done = work / "validations" / "v1"
    done.mkdir(parents=True)
    (done / "validation.json").write_text("{}")
    refused(work, [*args, str(done)], "is itself a run folder")


# the `twin` command itself (its entry point, not the Typer app the other cases invoke): click's usage
# errors were a boxed block of five lines
USAGE_CASES: dict[str, tuple[list[str], str]] = {
    "-r as text": (["run", "s.yaml", "-r", "x"], "error: Invalid value for '--replications' / '-r'"),
    "missing argument": (["run"], "error: Missing argument 'scenario'; see `twin run --help`"),
    "misspelt command": (["runn"], "No such command 'runn'. Did you mean 'run'?; see `twin --help`"),
    "unknown option": (["run", "s.yaml", "--bogus"], "No such option: --bogus"),
    "--ied without a value": (["calibrate", "--ied"], "Option '--ied' requires an argument"),
}


@pytest.mark.parametrize("case", list(USAGE_CASES))
def test_usage_mistakes_are_one_line(
    work: Path, case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import twin.cli.main as cli

    argv, needle = USAGE_CASES[case]
    monkeypatch.setattr(cli, "install_signal_handlers", lambda: None)
    monkeypatch.setattr("sys.argv", ["twin", *argv])
    before = _tree(work)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out = capsys.readouterr()
    lines = [ln for ln in (out.out + out.err).splitlines() if ln.strip()]
    assert exit_.value.code == 2 and len(lines) == 1, lines
    assert needle in lines[0] and "Traceback" not in lines[0], lines[0]
    assert _tree(work) == before


# 4. upper limits of `twin stress` (i9's command, merged from main): each option bounded before any
# model is loaded or process started (--workers 100000 started processes until killed)
STRESS_CASES: dict[str, tuple[list[str], str]] = {
    "--workers 100000": (["--workers", "100000"], "--workers 100000 must be between 1 and 64"),
    "--batch 1000000": (["--batch", "1000000"], "--batch 1000000 must be between 1 and 256"),
    "--queue 1e8": (["--queue", "100000000"], "--queue 100000000 must be between 1 and 10000"),
    "--footfall-scale 1e9": (
        ["--footfall-scale", "1e9"],
        "--footfall-scale 1e+09 must be > 0 and at most 100",
    ),
    "--seed -5": (["--seed", "-5"], "--seed -5 must be between 0 and 9007199254740991"),
    "--max-wall-s -1": (["--max-wall-s", "-1"], "--max-wall-s -1 must be > 0 seconds"),
    "--out a file": (["--out", "a_file"], "'a_file' is a file, not a folder"),
}


@pytest.mark.parametrize("case", list(STRESS_CASES))
def test_wrong_stress_option(work: Path, case: str) -> None:
    extra, needle = STRESS_CASES[case]
    (work / "a_file").write_text("x")
    sc = _scenario(work)
    refused(work, ["stress", str(sc), *extra], needle)
