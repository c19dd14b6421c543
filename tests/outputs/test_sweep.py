"""Sweeps (twin/outputs/sweep.py over twin/sim/sweep.py and twin/scenario/grid.py): rows equal one-by-one
runs with the same seeds, an interrupted sweep resumes with only its missing cells, bad grids fail before
anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import tiny_scenario_doc
from twin.errors import ClusterError, RunFolderError, ScenarioError
from twin.outputs.sweep import resume_sweep, start_sweep
from twin.outputs.sweepstore import SweepStore
from twin.scenario.grid import parse_grid, split_values
from twin.scoring.metrics import COUNT_METRICS
from twin.sim.operations import OUTCOMES
from twin.sim.run import run


@pytest.fixture(scope="module")
def client():
    """One in-process Dask cluster for the module (the code path is the same as with processes)."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def tiny_file(tmp_path: Path, square_site: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario_doc(square_site)))
    return path


GRID = ["watchlist.threshold=0.58,0.62", "operations.officers=1,4"]


def test_rows_equal_one_by_one_runs(tiny_file: Path, tmp_path: Path, client) -> None:
    res = start_sweep(tiny_file, GRID, replications=3, out_dir=tmp_path / "out", client=client)
    assert res.complete and res.cells_total == 12 and res.cells_run == 12
    assert res.tasks_run == 3  # one crowd per replication: the four points differ only in what re-scores
    rows = SweepStore(res.folder, []).frame()
    assert len(rows) == 12
    for point, (t, off) in enumerate([(0.58, 1), (0.58, 4), (0.62, 1), (0.62, 4)]):
        one = run(
            tiny_file, replications=3, overrides=[f"watchlist.threshold={t}", f"operations.officers={off}"]
        )
        mine = rows[rows["point"] == point].sort_values("rep")
        assert list(mine["grid.watchlist.threshold"]) == [str(t)] * 3
        for r, out in enumerate(one.outcomes):
            got = mine.iloc[r]
            assert {k: int(got[k]) for k in COUNT_METRICS} == {k: out.totals[k] for k in COUNT_METRICS}
            ops = np.bincount(one.operations[r].outcome.astype(int), minlength=len(OUTCOMES))
            assert [int(got[k]) for k in OUTCOMES] == ops.tolist()
    # a higher threshold never adds an alert (same crowd, same draws)
    lo, hi = rows[rows["point"] == 0], rows[rows["point"] == 2]
    assert (hi["alerts"].to_numpy() <= lo["alerts"].to_numpy()).all()
    assert (res.folder / "sweep.html").is_file() and (res.folder / "summary.csv").is_file()
    page = (res.folder / "sweep.html").read_text()
    assert "<svg" in page and "http" not in page.replace("http://www.w3.org", "")


def test_resume_runs_only_missing_cells(tiny_file: Path, tmp_path: Path, client) -> None:
    grid = ["crowd.group_share=0.0,0.5"]  # two crowds: 2 points x 2 reps = 4 tasks
    first = start_sweep(tiny_file, grid, replications=2, out_dir=tmp_path / "out", client=client, limit=1)
    assert not first.complete and first.tasks_run == 1 and first.cells_run == 1
    assert not (first.folder / "summary.csv").exists()
    done_before = SweepStore(first.folder, []).done_cells()
    second = resume_sweep(first.folder, client=client)
    assert second.complete and second.tasks_run == 3 and second.cells_run == 3
    rows = SweepStore(first.folder, []).frame()
    assert len(rows) == 4 and rows["cell"].is_unique and done_before < set(rows["cell"])
    # the resumed rows equal a sweep that was never interrupted
    whole = start_sweep(tiny_file, grid, replications=2, out_dir=tmp_path / "other", client=client)
    again = SweepStore(whole.folder, []).frame()
    cols = ["cell", *COUNT_METRICS]
    assert rows[cols].equals(again[cols])
    third = resume_sweep(first.folder, client=client)  # finished: nothing to do
    assert third.cells_run == 0 and third.tasks_run == 0 and third.files == {}
    # the same command again finds the finished sweep and does nothing
    again_cmd = start_sweep(tiny_file, grid, replications=2, out_dir=tmp_path / "out", client=client)
    assert again_cmd.folder == first.folder and again_cmd.cells_run == 0 and again_cmd.complete
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_camera_files_sweep_placements(tiny_file: Path, tmp_path: Path, client) -> None:
    doc = yaml.safe_load(tiny_file.read_text())
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(doc["cameras"]))
    b = tmp_path / "b.yaml"
    b.write_text(yaml.safe_dump({"cameras": [{**doc["cameras"][0], "heading_deg": 110.0}]}))  # backs of heads
    res = start_sweep(
        tiny_file, [f"cameras={a},{b}"], replications=2, out_dir=tmp_path / "out", client=client
    )
    s = res.summary
    assert list(s["cameras"]) == ["a", "b"]
    assert (
        s.loc[0, "faces_scanned_per_h"] > 0
        and s.loc[1, "faces_scanned_per_h"] < s.loc[0, "faces_scanned_per_h"]
    )


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        (["watchlist.thresold=0.6,0.62"], "not a scenario key"),
        (["watchlist.threshold="], "empty value list"),
        (["watchlist.threshold=0.6,,0.62"], "empty value"),
        (["watchlist.size=big,small"], "watchlist.size"),
        (["nosuch=1,2"], "not a scenario key"),
        (["threshold"], "must look like key.path=v1,v2"),
        (["cameras=missing.yaml"], "not a YAML file"),
    ],
)
def test_bad_grid_fails_before_writing(tiny_file: Path, tmp_path: Path, grid: list[str], needle: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(ScenarioError, match=needle):
        start_sweep(tiny_file, grid, replications=2, out_dir=out)
    assert not out.exists() or not any(out.iterdir())


def test_unreachable_scheduler(tiny_file: Path, tmp_path: Path, monkeypatch) -> None:
    import twin.sim.sweep as sweep_mod

    monkeypatch.setattr(sweep_mod, "SCHEDULER_TIMEOUT_S", 1)
    out = tmp_path / "out"
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        start_sweep(tiny_file, GRID, replications=2, out_dir=out, scheduler="tcp://127.0.0.1:9")
    assert not any(out.iterdir())


def test_resume_of_a_non_sweep_folder(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="not a sweep folder"):
        resume_sweep(tmp_path)


def test_grid_parsing() -> None:
    assert split_values("a, 'b,c' ,[1, 2]") == ["a", "'b,c'", "[1, 2]"]
    (axis,) = parse_grid(["operations.officers=2,4,6"])
    assert axis.numeric and axis.values == (2, 4, 6)
    with pytest.raises(ScenarioError, match="twice"):
        parse_grid(["a.b=1", "a.b=2"])
    with pytest.raises(ScenarioError, match="at least one --grid"):
        parse_grid([])
