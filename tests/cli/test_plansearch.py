"""``twin sweep`` and ``twin optimise`` as a user meets them: bad input is one line with exit code 2 and
nothing written; an optimised placement is a scenario ``twin run`` takes; ``--rank`` ranks sites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import fork_scenario_doc, tiny_scenario_doc
from twin.cli.main import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def tiny_file(tmp_path: Path, square_site: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(tiny_scenario_doc(square_site)))
    return p


@pytest.fixture
def fork_file(tmp_path: Path) -> Path:
    p = tmp_path / "fork.yaml"
    p.write_text(yaml.safe_dump(fork_scenario_doc(tmp_path)))
    return p


def one_line_exit_2(r, needle: str, out: Path) -> None:
    assert r.exit_code == 2, r.output
    assert needle in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ("watchlist.thresold=0.6,0.62", "not a scenario key"),
        ("watchlist.threshold=", "empty value list"),
        ("watchlist.size=many,few", "watchlist.size"),
    ],
)
def test_sweep_bad_grid(tiny_file: Path, tmp_path: Path, grid: str, needle: str) -> None:
    out = tmp_path / "out"
    one_line_exit_2(
        invoke("sweep", str(tiny_file), "--grid", grid, "-r", "2", "--out", str(out)), needle, out
    )


def test_sweep_unreachable_scheduler(tiny_file: Path, tmp_path: Path, monkeypatch) -> None:
    import twin.sim.sweep as sweep_mod

    monkeypatch.setattr(sweep_mod, "SCHEDULER_TIMEOUT_S", 1)
    out = tmp_path / "out"
    r = invoke(
        "sweep", str(tiny_file), "--grid", "watchlist.threshold=0.6,0.62", "--scheduler", "tcp://127.0.0.1:9",
        "--out", str(out),
    )  # fmt: skip
    one_line_exit_2(r, "cannot reach the Dask scheduler", out)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--vans", "0"], "at least 1 van"),
        (["--vans", "100000"], "more than the"),
        (["--vans", "2", "--max-false-alerts-per-h", "0.000001"], "lowest found is"),
        (["--objective", "arrests"], "--objective 'arrests'"),
    ],
)
def test_optimise_bad_input(fork_file: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    one_line_exit_2(
        invoke("optimise", str(fork_file), *args, "--verify", "0", "--out", str(out)), needle, out
    )


def test_optimise_writes_a_scenario_twin_run_takes(fork_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = invoke("optimise", str(fork_file), "--vans", "1", "--verify", "1", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "Recommended placement" in r.output and "gain x" in r.output and "Full runs" in r.output
    (folder,) = out.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "map.html",
        "placement.json",
        "scenario.yaml",
        "site.geojson",
    ]
    doc = json.loads((folder / "placement.json").read_text())
    assert len(doc["vans"]) == 1 and doc["gain_over_own_placement"] > 1 and "verified" in doc
    runs = tmp_path / "runs"
    r2 = invoke("run", str(folder / "scenario.yaml"), "-r", "1", "--no-map", "--out", str(runs))
    assert r2.exit_code == 0, r2.output
    summary = json.loads(next(runs.iterdir()).joinpath("summary.json").read_text())
    assert summary["run"]["cameras"] == ["opt_van1_cam1", "opt_van1_cam2"]


def test_rank_sites(fork_file: Path, tiny_file: Path) -> None:
    r = invoke("optimise", "--rank", str(fork_file), str(tiny_file), "-r", "2")
    assert r.exit_code == 0, r.output
    assert "Sites ranked" in r.output and "fork" in r.output and "tiny" in r.output


@pytest.mark.slow
def test_sweep_runs_then_does_nothing_the_second_time(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = (
        "sweep",
        str(tiny_file),
        "--grid",
        "watchlist.threshold=0.6,0.64",
        "-r",
        "2",
        "-w",
        "1",
        "--out",
        str(out),
    )
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    assert "4 cells run (2 crowd simulations); 4 in all." in r.output and "Sweep summary" in r.output
    (folder,) = out.iterdir()
    assert {"sweep.json", "rows", "summary.csv", "sweep.html"} <= {p.name for p in folder.iterdir()}
    r = invoke(*args)
    assert r.exit_code == 0 and "Nothing to do: all 4 cells" in r.output
    assert len(list(out.iterdir())) == 1
