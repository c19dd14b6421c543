"""Real-engine runs (`engine.kind: dlib` / `insightface`), alert retention and `twin calibrate --engine`.

The dlib tests need the face_recognition sample photos (``twin samples``): they fail under CI=true
when absent and skip otherwise, as tests/test_engines_dlib.py does. The insightface test runs the
tiny ONNX stand-ins of tests/fixtures_engines.py on synthetic "faces" (white squares).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from conftest import IN_CI, square_site_doc, tiny_scenario_doc
from fixtures_engines import make_tiny_pack
from twin.cli.main import app
from twin.outputs.audit import AUDIT_FILE, AuditLog, verify
from twin.recognition.faces.samples import default_samples_dir, samples_present

runner = CliRunner()

#: Files that could hold a face image or an embedding.
IMAGE_OR_ARRAY = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".pgm", ".tif", ".tiff", ".npy", ".npz"}


def need_samples() -> None:
    """FAIL under CI=true when the face_recognition sample photos are absent, skip otherwise."""
    if not samples_present():
        msg = f"face_recognition sample images not in {default_samples_dir()}; run `twin samples` first"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def image_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_OR_ARRAY}


def write_scenario(folder: Path, *, engine: dict, watchlist: dict | None = None, **extra: object) -> Path:
    """The square-site scenario, 5 minutes at noon, one replication, with a real engine."""
    site = folder / "square.geojson"
    site.write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(site, time={"start": "12:00", "duration_s": 300}, replications=1, **extra)
    doc["watchlist"] = watchlist or {"size": 300, "prevalence": 0.05, "threshold": 0.6}
    doc["engine"] = engine
    path = folder / "real.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def dlib_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small dlib run through the CLI, with the temp dir redirected to an empty folder and scanned."""
    need_samples()
    work = tmp_path_factory.mktemp("dlibrun")
    scratch = tmp_path_factory.mktemp("scratch-tmp")
    sc = write_scenario(work, engine={"kind": "dlib", "max_real_probes": 20})
    mp = pytest.MonkeyPatch()
    mp.setattr(tempfile, "tempdir", str(scratch))
    mp.setenv("TMPDIR", str(scratch))
    try:
        assert tempfile.gettempdir() == str(scratch)
        before = image_files(Path(tempfile.gettempdir()))
        r = runner.invoke(app, ["run", str(sc), "--out", str(work / "runs"), "--no-map"])
        after = image_files(Path(tempfile.gettempdir()))
    finally:
        mp.undo()
    assert r.exit_code == 0, r.output
    (folder,) = list((work / "runs").iterdir())
    return {"folder": folder, "output": r.output, "tmp_before": before, "tmp_after": after}


@pytest.mark.model
@pytest.mark.slow
def test_dlib_run_writes_alert_crops_only_and_consistent_counts(dlib_run: dict) -> None:
    folder: Path = dlib_run["folder"]
    summary = json.loads((folder / "summary.json").read_text())
    re_ = summary["real_engine"]
    # statistical figures are kept, and labelled as such
    assert summary["totals"]["passers_by"]["mean"] > 0 and "statistical engine" in re_["statistical_figures"]
    assert re_["engine"]["model_id"] == "dlib-resnet-v1"
    assert re_["threshold"] == pytest.approx(0.93) and "left at the statistical engine's default" in re_["threshold_source"]
    samp = re_["sampling"]
    assert samp["probes_run"] == min(20, samp["usable_captures"]) and samp["max_real_probes"] == 20
    assert re_["statement"].startswith(f"real engine: {samp['probes_run']} of {samp['usable_captures']} usable captures run")
    assert re_["extrapolated"] and re_["watchlist"]["fillers"] == 300 - re_["watchlist"]["real_entries"]
    assert re_["watchlist"]["destroyed"]
    # every watchlisted usable track is run first
    assert re_["people"]["watchlisted_run"] >= 1 and samp["watchlisted_usable"] <= samp["probes_run"]
    # the pipeline's books balance
    gated = sum(re_["gated_out"].values())
    assert re_["probes_searched"] + gated == re_["faces_detected"]
    assert re_["probes_deleted"] == gated + re_["probes_searched"] - re_["alerts"]
    assert re_["true_alerts"] + re_["false_alerts"] == re_["alerts"]
    assert re_["true_alerts"] >= 1  # a watchlisted passer-by was found
    tp, fp = re_["rates"]["tpir"], re_["rates"]["fpir"]
    assert tp["n"] == re_["people"]["watchlisted_run"] and fp["n"] == re_["people"]["not_listed_run"]
    assert tp["ci95"][0] <= tp["value"] <= tp["ci95"][1] and fp["ci95"][0] <= fp["value"] <= fp["ci95"][1]
    # alert crops, and only those, are written; each with its candidate list
    pngs = sorted((folder / "alerts").glob("*.png"))
    assert len(pngs) == re_["alerts"] and len(list((folder / "alerts").glob("*.json"))) == re_["alerts"]
    for png in pngs:
        side = json.loads(png.with_suffix(".json").read_text())
        assert side["score"] >= side["threshold"] and side["candidates"][0]["identity"] == side["identity"]
        assert {"identity", "score"} <= set(side["candidates"][0])
        assert cv2.imread(str(png)) is not None
    assert image_files(folder) == set(pngs)  # no other image or array file anywhere in the run folder
    # the report and the CLI show the real-engine section
    assert "Real engine: dlib-resnet-v1" in (folder / "report.html").read_text()
    assert "Real engine on replication 0" in dlib_run["output"]


@pytest.mark.model
@pytest.mark.slow
def test_dlib_run_leaves_no_face_in_the_temp_dir_and_logs_everything(dlib_run: dict) -> None:
    assert dlib_run["tmp_after"] == dlib_run["tmp_before"]  # nothing (no probe, frame, embedding) in tempfile's dir
    folder: Path = dlib_run["folder"]
    re_ = json.loads((folder / "summary.json").read_text())["real_engine"]
    meta = json.loads((folder / "run.json").read_text())
    assert verify(folder / AUDIT_FILE, expected_head=(meta["audit_head"]["seq"], meta["audit_head"]["sha256"])).ok
    with AuditLog(folder / AUDIT_FILE) as log:
        entries = list(log.entries())
    kinds = [e.kind for e in entries]
    assert kinds.count("real_alert") == re_["alerts"]
    assert sum(e.detail["probes_deleted"] for e in entries if e.kind == "real_deletion_batch") == re_["probes_deleted"]
    destroyed = [e for e in entries if e.kind == "watchlist_destroyed" and e.detail.get("real")]
    assert len(destroyed) == 1 and destroyed[0].detail["engine"] == "dlib-resnet-v1"
    assert kinds.index("real_watchlist_enrolled") < kinds.index("watchlist_destroyed") < kinds.index("run_end")
    assert meta["alert_retention"]["alert_days"] == 31 and "no governance" in meta["alert_retention"]["source"]


@pytest.mark.model
@pytest.mark.slow
def test_retention_apply_deletes_old_alert_data_and_logs_it(dlib_run: dict, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(dlib_run["folder"], folder)
    created = dt.datetime.fromisoformat(json.loads((folder / "run.json").read_text())["created_at"])
    n = len(list((folder / "alerts").glob("*.png")))
    assert n >= 1
    early = runner.invoke(app, ["retention", "apply", str(folder), "--as-of", (created + dt.timedelta(days=30)).isoformat()])
    assert early.exit_code == 0, early.output
    assert "nothing due yet" in early.output and "no governance block" in early.output
    assert len(list((folder / "alerts").glob("*"))) == 2 * n
    late = runner.invoke(app, ["retention", "apply", str(folder), "--as-of", (created + dt.timedelta(days=32)).isoformat()])
    assert late.exit_code == 0, late.output
    assert f"deleted {2 * n} files of {n} alerts" in " ".join(late.output.split())
    assert not (folder / "alerts").exists()
    meta = json.loads((folder / "run.json").read_text())
    assert verify(folder / AUDIT_FILE, expected_head=(meta["audit_head"]["seq"], meta["audit_head"]["sha256"])).ok
    with AuditLog(folder / AUDIT_FILE) as log:
        (last,) = [e for e in log.entries() if e.kind == "retention_deletion"]
    assert last.detail["files_deleted"] == 2 * n and last.detail["alerts"] == n and last.detail["alert_days"] == 31
    assert last.detail["measured_from"] == "created_at"
    bad = runner.invoke(app, ["retention", "apply", str(folder), "--as-of", "next tuesday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_retention_uses_the_governance_alert_days(tmp_path: Path) -> None:
    from twin.outputs.retention import apply_retention

    folder = tmp_path / "run"
    (folder / "alerts").mkdir(parents=True)
    site = tmp_path / "square.geojson"
    site.write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(site)
    doc["governance"] = {
        "operation": "Op T", "purpose": "p", "intelligence_case": "i", "less_intrusive_means": "l",
        "authorising_officer_role": "Superintendent", "start": "2026-12-05T12:00:00+00:00",
        "end": "2026-12-05T13:00:00+00:00", "signage_plan": "boards", "dpia_reference": "D-1",
        "watchlist_composition": [{"category": "wanted", "count": 10000, "image_source": "custody"}],
        "retention": {"alert_days": 7},
    }
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc))
    (folder / "run.json").write_text(json.dumps({"created_at": "2026-01-01T00:00:00+00:00"}))
    with AuditLog(folder / AUDIT_FILE) as log:
        log.append("run_start")
    (folder / "alerts" / "alert-0001.png").write_bytes(b"x")
    (folder / "alerts" / "alert-0001.json").write_text("{}")
    r = apply_retention(folder, as_of="2026-01-07T23:00:00")
    assert not r.due and r.files_deleted == 0 and r.policy_source == "governance.retention.alert_days"
    r = apply_retention(folder, as_of="2026-01-08T00:00:00Z")
    assert r.due and r.files_deleted == 2 and r.alerts == 1 and r.audit_seq == 2
    with pytest.raises(Exception, match="not a run folder"):
        apply_retention(tmp_path)


BAD_CONFIG = {
    "insightface without model_dir": ({"kind": "insightface"}, {}, "needs engine.model_dir"),
    "missing model folder": ({"kind": "insightface", "model_dir": "no/such/pack"}, {}, "does not exist"),
    "threshold outside the dlib range": ({"kind": "dlib"}, {"threshold": 1.5}, "outside the dlib engine's score range"),
    "faces not a folder": ({"kind": "dlib", "faces": "no/such/folder"}, {}, "is not a folder"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIG))
def test_bad_real_engine_config_one_line_exit_2(case: str, tmp_path: Path) -> None:
    engine, wl, needle = BAD_CONFIG[case]
    sc = write_scenario(tmp_path, engine=engine, watchlist={"size": 300, "prevalence": 0.05, "threshold": 0.6, **wl})
    out = tmp_path / "runs"
    r = runner.invoke(app, ["run", str(sc), "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert not out.exists() or not any(out.iterdir())


def _square_faces(root: Path) -> Path:
    """Three synthetic identities the tiny detector finds: a white 96-px square centred on a multiple of 32
    in a 1920×1080 frame, each identity with its own grey blocks inside, two images each."""
    rng = np.random.default_rng(3)
    for k, name in enumerate(("ann", "bob", "cat")):
        (root / name).mkdir(parents=True)
        for j in range(2):
            img = np.zeros((1080, 1920, 3), np.uint8)
            img[544 - 48 : 544 + 48, 960 - 48 : 960 + 48] = 255
            img[500 + 20 * k : 512 + 20 * k, 930 : 960 + 20 * k] = 90
            img = np.clip(img.astype(int) + rng.integers(-3, 4, img.shape) * j, 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / name / f"{j}.png"), img)
    return root


@pytest.mark.slow
def test_insightface_run_with_the_tiny_pack(tmp_path: Path) -> None:
    pack = make_tiny_pack(tmp_path)
    faces = _square_faces(tmp_path / "faces")
    sc = write_scenario(tmp_path, engine={"kind": "insightface", "model_dir": str(pack), "faces": str(faces),
                                          "max_real_probes": 6})
    r = runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "runs"), "--no-map"])
    assert r.exit_code == 0, r.output
    (folder,) = list((tmp_path / "runs").iterdir())
    re_ = json.loads((folder / "summary.json").read_text())["real_engine"]
    files = re_["engine"]["model_files"]
    assert files == {f: hashlib.sha256((pack / f).read_bytes()).hexdigest() for f in ("det_tiny.onnx", "w600k_tiny.onnx")}
    assert re_["engine"]["providers"] == ["CPUExecutionProvider"]
    assert re_["threshold"] == pytest.approx(0.4)  # the pack's default, the statistical 0.6 having been left
    assert re_["sampling"]["probes_run"] == min(6, re_["sampling"]["usable_captures"]) > 0
    assert re_["true_alerts"] + re_["false_alerts"] == re_["alerts"]
    assert re_["probes_deleted"] == sum(re_["gated_out"].values()) + re_["probes_searched"] - re_["alerts"]
    assert len(list(folder.glob("alerts/*.png"))) == re_["alerts"]
    assert image_files(folder) == set(folder.glob("alerts/*.png"))


@pytest.mark.model
@pytest.mark.slow
def test_calibrate_on_the_samples_writes_a_model_a_statistical_run_loads(tmp_path: Path) -> None:
    need_samples()
    from twin.scenario.load import load_scenario
    from twin.scoring.score_model import load_score_model
    from twin.sim.context import prepare
    from twin.sim.run import run

    out = tmp_path / "dlib_model.json"
    r = runner.invoke(app, ["calibrate", "--engine", "dlib", "--out", str(out), "--ied", "20,40", "--yaw", "0,30",
                            "--blur", "0,3", "--min-mated-identities", "1"])
    assert r.exit_code == 0, r.output
    assert "d'" in r.output and "FMR at the threshold" in r.output and "mated_person_corr kept" in r.output
    m = load_score_model(out)
    assert m.model_id == "calibrated-dlib-resnet-v1" and m.score_map is not None and m.score_map.engine_kind == "dlib"
    assert float(m.score_map.to_unit(0.93)) == pytest.approx(0.6)  # the engine's default is the model's 0.6
    assert m.mated_mean_max > 0.6 > float(m.mated_mean(20, 30, 0, 3)) - 0.3
    assert m.ied_coef >= 0 and m.yaw_coef >= 0 and m.blur_coef >= 0
    # a statistical run with it
    sc = write_scenario(tmp_path, engine={"kind": "statistical", "score_model": str(out)})
    res = run(load_scenario(sc))
    assert res.summary["model"]["model_id"] == "calibrated-dlib-resnet-v1" and res.summary["totals"]["faces_scanned"]["mean"] > 0
    # a dlib run with it translates its threshold onto the model's scale (no engine is loaded by prepare)
    sc2 = write_scenario(tmp_path, engine={"kind": "dlib", "score_model": str(out)},
                         watchlist={"size": 300, "prevalence": 0.05, "threshold": 0.95})
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
