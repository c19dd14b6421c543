"""Nothing a user hands the twin runs as script in the HTML it writes: map, report, record, comparison,
validation.

Ids are refused at validation (camera ids by the scenario, route ids and site names by the site file);
the templating must hold anyway, so the map is also drawn from objects built directly with every
hostile id of :data:`browser.PAYLOADS`. Free text (scenario name and description, governance text,
population groups, route labels, the map's attribution) goes through `twin run` and `twin compare`.
Each page is opened in Chromium and ``window.__pwned`` must stay undefined, with no script error (an
injected fragment that broke the map's script would show there) and the hostile text shown as text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from browser import OPEN_TOOLTIPS, PAYLOADS, chromium, open_file
from conftest import REPO, X0, Y0, governance_doc, square_site_doc, tiny_scenario_doc
from twin.cli.main import app
from twin.outputs.mapview import build_map, save_map
from twin.world.camera import Camera
from twin.world.site import load_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]
runner = CliRunner()
#: Every payload at once, for pages with no script of their own (report, record, comparison): any
#: unescaped part runs there.
ALL = " ".join(PAYLOADS.values())


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with chromium() as b:
        yield b


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_map_shows_hostile_ids_as_text(browser, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Ids built directly (past validation) reach the tooltips' script as data, never as code."""
    bad = PAYLOADS[kind]
    path = tmp_path / "square.geojson"
    path.write_text(json.dumps(square_site_doc()))
    site = load_site(path)
    routes = tuple(dataclasses.replace(r, id=f"{r.id}{bad}", street=bad) for r in site.routes)
    site = dataclasses.replace(site, name=f"site{bad}", routes=routes)
    cam = Camera(id=f"cam{bad}", x=X0 + 70, y=Y0 - 3, heading_deg=290.0)
    save_map(build_map(site, [cam], captures_xy=None), tmp_path / "map.html")
    page = open_file(browser, tmp_path / "map.html", then=OPEN_TOOLTIPS)
    assert page.pwned is None, f"the {kind} payload ran"
    assert not page.errors, page.errors
    tips = page.result
    assert len(tips) >= 8, (
        tips
    )  # geofence, 2 routes (+ arrows have none), 4 DORI bands, outline, camera, signs
    assert any(f"camera cam{bad}: heading" in t for t in tips), tips  # the id shown as typed
    assert any(f"site{bad}: geofenced target area" in t for t in tips), tips


def _hostile_site(folder: Path) -> Path:
    doc = square_site_doc()
    doc["attribution"] = {"text": f"data {ALL}"}
    for f in doc["features"]:
        p = f["properties"]
        if p["role"] == "route":
            p.update(entry=f"in {ALL}", exit=f"out {ALL}", street=f"street {ALL}")
        elif p["role"] == "signage":
            p["text"] = ALL
        elif p["role"] == "geofence":
            p["name"] = ALL
    path = folder / "hostile.geojson"
    path.write_text(json.dumps(doc))
    return path


def _hostile_scenario(folder: Path, name: str, file_name: str) -> Path:
    gov = governance_doc(
        operation=f"Op {ALL}",
        purpose=ALL,
        intelligence_case=ALL,
        signage_plan=ALL,
        dpia_reference=f"D-{ALL}",
        watchlist_composition=[
            {"category": "wanted", "count": 9000, "image_source": ALL, "justification": ALL},
            {"category": "missing", "count": 1000, "image_source": ALL},
        ],
    )
    doc = tiny_scenario_doc(_hostile_site(folder), name=name, description=ALL, governance=gov, replications=2)
    doc["population"] = {f"group {ALL}": 0.5, "other": 0.5}
    path = folder / file_name
    path.write_text(yaml.safe_dump(doc))
    return path


def test_run_and_compare_pages_show_hostile_text_as_text(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """map.html, report.html and record.html of a run, and comparison.html, with hostile free text."""
    a = _hostile_scenario(tmp_path, f"A {ALL}", "a.yaml")
    b = _hostile_scenario(tmp_path, f"B {ALL}", f"b{PAYLOADS['html']}.yaml")
    r = runner.invoke(app, ["run", str(a), "--out", str(tmp_path / "runs")])
    assert r.exit_code == 0, r.output
    (folder,) = (tmp_path / "runs").iterdir()
    r = runner.invoke(app, ["compare", str(a), str(b), "-r", "2", "--out", str(tmp_path / "cmp")])
    assert r.exit_code == 0, r.output
    (cmp,) = (tmp_path / "cmp").iterdir()
    pages = {
        "map.html": open_file(browser, folder / "map.html", then=OPEN_TOOLTIPS),
        "report.html": open_file(browser, folder / "report.html"),
        "record.html": open_file(browser, folder / "record.html"),
        "comparison.html": open_file(browser, cmp / "comparison.html"),
    }
    for name, page in pages.items():
        assert page.pwned is None, f"script from input ran in {name}"
        assert not page.errors, (name, page.errors)
        assert not page.blocked, (name, page.blocked)
    assert any(f"street {ALL}" in t for t in pages["map.html"].result)  # the route's label, as text
    assert f"A {ALL}" in pages["report.html"].text
    assert f"Op {ALL}" in pages["record.html"].text and f"group {ALL}" in pages["record.html"].text
    assert f"B {ALL}" in pages["comparison.html"].text


def test_validation_page_shows_hostile_locations_as_text(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """validation.html (`twin validate`): a records file's location is free text; every payload, each in
    its own deployment far outside its interval (900 true alerts), is listed as text and none runs."""
    records = REPO / "data" / "records" / "met_deployments_2020-02_2024-09.csv"
    header, *rows = records.read_text().splitlines()
    full = [r for r in rows if r.startswith("2024-") and all(next(csv.reader([r]))[2:10])]
    hostile = full[: len(PAYLOADS)]
    assert len(hostile) == len(PAYLOADS)
    swap = {}
    for i, (row, bad) in enumerate(zip(hostile, PAYLOADS.values(), strict=True)):
        date, _location, *rest = next(csv.reader([row]))
        rest[4:7] = ["900", "900", "0"]  # alerts, true, false alerts: far outside the 95% interval
        out = io.StringIO()
        loc = f"Loc {bad}" if i else f'=HYPERLINK("http://x","Loc {bad}")'  # a spreadsheet formula
        csv.writer(out, lineterminator="").writerow([date, loc, *rest])
        swap[row] = out.getvalue()
    f = tmp_path / "hostile.csv"
    f.write_text("\n".join([header, *(swap.get(r, r) for r in rows)]) + "\n")
    r = runner.invoke(
        app, ["validate", str(f), "--split", "2024-01-01", "--no-faces", "--out", str(tmp_path / "v")]
    )
    assert r.exit_code == 0, r.output
    (folder,) = (tmp_path / "v").iterdir()
    page = open_file(browser, folder / "validation.html")
    assert page.pwned is None, "script from a records file ran in validation.html"
    assert not page.errors and not page.blocked, (page.errors, page.blocked)
    shown = [bad for bad in PAYLOADS.values() if f"Loc {bad}" in page.text]
    assert shown, page.text[:2000]  # at least the listed ones are shown as typed, as text
    # and validation.csv, opened in a spreadsheet, runs no formula from a location
    table = list(csv.DictReader(io.StringIO((folder / "validation.csv").read_text())))
    formula = [r["location"] for r in table if r["location"].lstrip("'").startswith("=")]
    assert formula and all(loc.startswith("'=") for loc in formula), formula
