"""`twin validate` as a user meets it: a validation folder, a report, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO
from twin.cli.main import app

runner = CliRunner()
RECORDS = REPO / "data" / "records" / "met_deployments_2020-02_2024-09.csv"
HEADER = RECORDS.read_text().splitlines()[0]
ROWS = RECORDS.read_text().splitlines()[1:]


def _strict(path: Path) -> dict:
    def no_constants(name: str) -> None:
        raise ValueError(f"{path.name} holds {name}")

    return json.loads(path.read_text(), parse_constant=no_constants)


def test_split_writes_the_three_files_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "val"
    res = runner.invoke(
        app, ["validate", str(RECORDS), "--split", "2024-07-01", "--no-faces", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    (folder,) = out.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "validation.csv",
        "validation.html",
        "validation.json",
    ]
    doc = _strict(folder / "validation.json")
    for q in ("alerts", "true_alerts", "false_alerts"):
        assert 0 <= doc["coverage"][q] <= 1
        assert set(doc["pooled"][q]) == {"observed", "mean", "lo", "hi"}
        assert q in doc["log_score"]["model"] and q in doc["log_score"]["baseline"]
    assert doc["rows"] == 35 and doc["faces_ratio"] == {**doc["faces_ratio"], "median": None, "n": 0}
    assert "Forecasts against 35 published deployments" in res.output
    html = (folder / "validation.html").read_text()
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "Outside their 95% interval" in html
    assert html.count("<svg") >= 4  # three strips and the PIT histogram


def test_fit_and_predict_files(tmp_path: Path) -> None:
    fit, pred = tmp_path / "fit.csv", tmp_path / "pred.csv"
    fit.write_text("\n".join([HEADER, *ROWS[:120]]) + "\n")
    pred.write_text("\n".join([HEADER, *ROWS[120:]]) + "\n")
    res = runner.invoke(
        app,
        ["validate", "--fit", str(fit), "--predict", str(pred), "--no-faces", "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / "o").iterdir()
    assert _strict(folder / "validation.json")["rows"] == len(ROWS) - 120


def _file(tmp_path: Path, text: str, name: str = "r.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


BAD = {
    "missing column": (lambda t: _file(t, HEADER.replace("faces_seen,", "") + "\n" + ROWS[0] + "\n"),
                       "missing column(s) faces_seen"),
    "text in faces_seen": (lambda t: _file(t, HEADER + "\n" + ROWS[9].replace(",5460,", ",lots,") + "\n"),
                           "line 2, column faces_seen: 'lots' is not a whole number"),
    "negative faces": (lambda t: _file(t, HEADER + "\n" + ROWS[9].replace(",5460,", ",-5460,") + "\n"),
                       "line 2, column faces_seen: -5460 is outside"),
    "threshold 1.7": (lambda t: _file(t, HEADER + "\n" + ROWS[9].replace(",0.6,", ",1.7,") + "\n"),
                      "column threshold: 1.7 is outside [0, 1]"),
    "empty file": (lambda t: _file(t, ""), "the file is empty"),
    "header only": (lambda t: _file(t, HEADER + "\n"), "header only"),
    "header mid-file": (lambda t: _file(t, "\n".join([HEADER, *ROWS[:3], HEADER, *ROWS[3:6]]) + "\n"),
                        "line 5 repeats the header"),
    "a date not ISO": (lambda t: _file(t, HEADER + "\n" + ROWS[10].replace("2023-04-14", "14/04/23") + "\n"),
                       "not a date written YYYY-MM-DD"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_bad_records_exit_2_with_one_line_and_write_nothing(tmp_path: Path, case: str) -> None:
    make, words = BAD[case]
    path = make(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["validate", str(path), "--split", "2024-01-01", "--no-faces", "--out", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert words in res.output and res.output.strip().startswith("error:"), res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) <= 3
    assert not out.exists()


def test_a_50_mb_file_a_predict_file_without_usable_rows_and_a_split_outside(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(50_000_000)
    res = runner.invoke(app, ["validate", str(big), "--split", "2024-01-01", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "50.0 MB; records files are capped at 5 MB" in res.output
    nothing = _file(
        tmp_path, HEADER + "\n" + ROWS[1] + "\n", "nothing.csv"
    )  # the technical-fault row: no faces
    res = runner.invoke(
        app, ["validate", "--fit", str(RECORDS), "--predict", str(nothing), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "no usable row to predict" in res.output
    res = runner.invoke(
        app, ["validate", str(RECORDS), "--split", "2031-01-01", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "the records run from 2020-02-11 to 2024-09-10" in res.output
    res = runner.invoke(app, ["validate", str(RECORDS), "--split", "July", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not a date written YYYY-MM-DD" in res.output
    res = runner.invoke(app, ["validate", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "nothing to validate" in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_faces_at_the_modelled_sites(tmp_path: Path) -> None:
    """With one-van runs of the modelled sites (the twin's own faces against the published ones)."""
    res = runner.invoke(app, ["validate", str(RECORDS), "--split", "2024-01-01", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (folder,) = tmp_path.iterdir()
    doc = _strict(folder / "validation.json")
    assert doc["faces_ratio"]["n"] >= 10  # Croydon North End and Oxford Circus rows of 2024
    assert 0.67 <= doc["faces_ratio"]["median"] <= 1.5
    assert set(doc["faces_ratio"]["sites"]) >= {"croydon_north_end", "oxford_circus"}


def test_hostile_text_in_a_records_file_is_escaped_in_the_page(tmp_path: Path) -> None:
    """A location is free text: in validation.html (here: the table of deployments outside their
    interval, 900 true alerts being far outside) it is text, never markup."""
    evil = '"<script>window.__pwned=1</script> Oxford Circus"'
    bad = "2024-03-05," + evil + ",395,12483,0.6,4810,900,900,0,0,5,MPS grid 2023-2024,"
    rows = [bad if r.startswith("2024-03-05,Oxford") else r for r in ROWS]
    f = tmp_path / "evil.csv"
    f.write_text("\n".join([HEADER, *rows]) + "\n")
    res = runner.invoke(
        app, ["validate", str(f), "--split", "2024-01-01", "--no-faces", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / "o").iterdir()
    html = (folder / "validation.html").read_text()
    assert "<script" not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt; Oxford Circus" in html
    rows_out = (folder / "validation.csv").read_text()
    assert "<script>window.__pwned=1</script> Oxford Circus" in rows_out  # kept as data
