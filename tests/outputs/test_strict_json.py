"""Every JSON the twin writes is JSON: a strict parser (no NaN or Infinity, RFC 8259: JSON.parse) reads it.

The worst case is a run where nothing is scanned (every rate is 0/0): it once wrote ``"tpir": NaN`` into
summary.json. Here such a run, with its record, a comparison of it and the audit log's entry details,
are parsed strictly, found by content (every file that starts like JSON), not by name.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import yaml
from typer.testing import CliRunner

from conftest import governance_doc, tiny_scenario_doc
from twin.cli.main import app
from twin.files import dumps_json

runner = CliRunner()


def _strict(text: str, where: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{where}: {name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _json_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file():
            head = p.read_bytes()[:1].lstrip()
            if head in (b"{", b"["):
                out.append(p)
    return out


def test_a_run_where_nothing_is_scanned_writes_strict_json(tmp_path: Path, square_site: Path) -> None:
    doc = tiny_scenario_doc(square_site, governance=governance_doc(), replications=2)
    doc["capture"] = {"min_ied_px": 1000}  # no face is ever large enough: nothing scanned, every rate 0/0
    doc["watchlist"] = {"size": 1000, "prevalence": 0.01, "threshold": 0.6}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    r = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "runs"), "--no-map"])
    assert r.exit_code == 0, r.output
    (folder,) = (tmp_path / "runs").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["totals"]["faces_scanned"]["mean"] == 0  # the case: nothing scanned
    assert all(g["tpir"] is None for g in summary["equitability"]["groups"])  # 0/0: NaN before, null now
    r = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "s.yaml"),
            "--set",
            "watchlist.threshold=0.64",
            "-r",
            "2",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert r.exit_code == 0, r.output
    files = _json_files(folder) + _json_files(tmp_path / "c")
    names = {p.name for p in files}
    assert {"summary.json", "run.json", "record.json", "comparison.json"} <= names, names
    nulls = 0
    for p in files:
        text = p.read_text()
        _strict(text, str(p))
        nulls += text.count("null")
    assert nulls > 0  # the undefined rates are there, as null
    con = sqlite3.connect(folder / "audit.sqlite")
    for seq, detail in con.execute("SELECT seq, detail FROM entries"):
        _strict(detail, f"audit entry {seq}")
    con.close()


def test_dumps_json_never_writes_a_non_finite_number() -> None:
    doc = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": {"d": float("nan")}}
    assert _strict(dumps_json(doc), "dumps_json") == {"a": None, "b": [None, None, 1.5], "c": {"d": None}}
