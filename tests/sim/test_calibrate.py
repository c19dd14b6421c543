"""Calibration: `twin calibrate --engine` on the samples writes a model a statistical run loads; the NPL
fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SCENARIOS
from real_runs import need_samples, write_scenario
from twin.cli.main import app
from twin.sim.calibrate import per_pass_tpir
from twin.sim.run import run

runner = CliRunner()


@pytest.mark.model
@pytest.mark.slow
def test_calibrate_on_the_samples_writes_a_model_a_statistical_run_loads(tmp_path: Path) -> None:
    need_samples()
    from twin.scenario.load import load_scenario
    from twin.scoring.score_model import load_score_model
    from twin.sim.context import prepare
    from twin.sim.run import run

    out = tmp_path / "dlib_model.json"
    r = runner.invoke(
        app,
        [
            "calibrate",
            "--engine",
            "dlib",
            "--out",
            str(out),
            "--ied",
            "20,40",
            "--yaw",
            "0,30",
            "--blur",
            "0,3",
            "--min-mated-identities",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "d'" in r.output and "FMR at the threshold" in r.output and "mated_person_corr kept" in r.output
    m = load_score_model(out)
    assert (
        m.model_id == "calibrated-dlib-resnet-v1"
        and m.score_map is not None
        and m.score_map.engine_kind == "dlib"
    )
    assert float(m.score_map.to_unit(0.93)) == pytest.approx(0.6)  # the engine's default is the model's 0.6
    assert m.mated_mean_max > 0.6 > float(m.mated_mean(20, 30, 0, 3)) - 0.3
    assert m.ied_coef >= 0 and m.yaw_coef >= 0 and m.blur_coef >= 0
    # a statistical run with it
    sc = write_scenario(tmp_path, engine={"kind": "statistical", "score_model": str(out)})
    res = run(load_scenario(sc))
    assert (
        res.summary["model"]["model_id"] == "calibrated-dlib-resnet-v1"
        and res.summary["totals"]["faces_scanned"]["mean"] > 0
    )
    # a dlib run with it translates its threshold onto the model's scale (no engine is loaded by prepare)
    sc2 = write_scenario(
        tmp_path,
        engine={"kind": "dlib", "score_model": str(out)},
        watchlist={"size": 300, "prevalence": 0.05, "threshold": 0.95},
    )
    assert prepare(load_scenario(sc2)).stat_threshold == pytest.approx(float(m.score_map.to_unit(0.95)))


@pytest.mark.model
def test_calibrate_needs_two_identities_with_two_images(tmp_path: Path) -> None:
    need_samples()
    r = runner.invoke(app, ["calibrate", "--engine", "dlib", "--out", str(tmp_path / "m.json")])
    assert r.exit_code == 2, r.output
    assert "1 identity with 2 or more images (barack_obama)" in " ".join(r.output.split())
    assert "--min-mated-identities 1" in " ".join(r.output.split())
    assert not (tmp_path / "m.json").exists()


def test_calibrate_npl_replaces_fit_npl() -> None:
    r = runner.invoke(app, ["calibrate", "--help"])
    assert r.exit_code == 0 and "--npl" in r.output
    assert runner.invoke(app, ["fit-npl", "--help"]).exit_code == 0  # kept as a hidden alias


@pytest.mark.slow
def test_npl_tpir_per_pass_on_the_reference_van_deployment() -> None:
    """NPL 2023: TPIR 0.89 per pass at threshold 0.6 for the default van deployment.

    The model was fitted on seed 20260101 at 12:00; this checks another seed and hour. With ~30,000
    passes the binomial sd is ~0.002, so +/- 0.007 is about 3.5 sd.
    """
    res = run(
        SCENARIOS / "oxford_circus.yaml",
        seed=99,
        replications=1,
        overrides=("time.start=15:00", "time.duration_s=3600"),
    )
    tpir = per_pass_tpir(res)
    assert tpir == pytest.approx(0.89, abs=0.007)


def test_a_bad_groups_file_is_one_calibration_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from twin.errors import CalibrationError
    from twin.sim.calibrate import read_groups

    p = tmp_path / "groups.csv"
    p.write_bytes(b"identity,group\nann,\xff\xfe\n")
    with pytest.raises(CalibrationError, match="is not a UTF-8 CSV"):
        read_groups(p)
    p.write_text("x," + "y" * 2_000_000)
    with pytest.raises(CalibrationError, match="over the 1,024 kB limit"):
        read_groups(p)
    p.write_text("identity,group\nann,white\nbob\n")
    with pytest.raises(CalibrationError, match="line 3: expected identity,group"):
        read_groups(p)
