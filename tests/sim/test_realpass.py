"""Real-engine runs (`engine.kind: dlib` / `insightface`): replication 0 through the real pipeline.

The dlib tests need the face_recognition sample photos (``twin samples``): they fail under CI=true
when absent and skip otherwise, as tests/recognition/test_engines_dlib.py does. The insightface test runs the
tiny ONNX stand-ins of tests/fixtures_engines.py on synthetic "faces" (white squares).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from fixtures_engines import make_tiny_pack
from real_runs import image_files, write_scenario
from twin.cli.main import app
from twin.outputs.audit import AUDIT_FILE, AuditLog, verify

runner = CliRunner()


@pytest.mark.model
@pytest.mark.slow
def test_dlib_run_writes_alert_crops_only_and_consistent_counts(dlib_run: dict) -> None:
    folder: Path = dlib_run["folder"]
    summary = json.loads((folder / "summary.json").read_text())
    re_ = summary["real_engine"]
    # statistical figures are kept, and labelled as such
    assert summary["totals"]["passers_by"]["mean"] > 0 and "statistical engine" in re_["statistical_figures"]
    assert re_["engine"]["model_id"] == "dlib-resnet-v1"
    assert (
        re_["threshold"] == pytest.approx(0.93)
        and "left at the statistical engine's default" in re_["threshold_source"]
    )
    samp = re_["sampling"]
    assert samp["probes_run"] == min(20, samp["usable_captures"]) and samp["max_real_probes"] == 20
    assert re_["statement"].startswith(
        f"real engine: {samp['probes_run']} of {samp['usable_captures']} usable captures run"
    )
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
    assert (
        dlib_run["tmp_after"] == dlib_run["tmp_before"]
    )  # nothing (no probe, frame, embedding) in tempfile's dir
    folder: Path = dlib_run["folder"]
    re_ = json.loads((folder / "summary.json").read_text())["real_engine"]
    meta = json.loads((folder / "run.json").read_text())
    assert verify(
        folder / AUDIT_FILE, expected_head=(meta["audit_head"]["seq"], meta["audit_head"]["sha256"])
    ).ok
    with AuditLog(folder / AUDIT_FILE) as log:
        entries = list(log.entries())
    kinds = [e.kind for e in entries]
    assert kinds.count("real_alert") == re_["alerts"]
    assert (
        sum(e.detail["probes_deleted"] for e in entries if e.kind == "real_deletion_batch")
        == re_["probes_deleted"]
    )
    destroyed = [e for e in entries if e.kind == "watchlist_destroyed" and e.detail.get("real")]
    assert len(destroyed) == 1 and destroyed[0].detail["engine"] == "dlib-resnet-v1"
    assert (
        kinds.index("real_watchlist_enrolled") < kinds.index("watchlist_destroyed") < kinds.index("run_end")
    )
    assert (
        meta["alert_retention"]["alert_days"] == 31 and "no governance" in meta["alert_retention"]["source"]
    )


BAD_CONFIG = {
    "insightface without model_dir": ({"kind": "insightface"}, {}, "needs engine.model_dir"),
    "missing model folder": ({"kind": "insightface", "model_dir": "no/such/pack"}, {}, "does not exist"),
    "threshold outside the dlib range": (
        {"kind": "dlib"},
        {"threshold": 1.5},
        "outside the dlib engine's score range",
    ),
    "faces not a folder": ({"kind": "dlib", "faces": "no/such/folder"}, {}, "is not a folder"),
    # the case: 80% false alerts and review crops of strangers stored, with no warning
    "dlib threshold on the wrong side": (
        {"kind": "dlib"},
        {"threshold": -0.2},
        "below a stranger's typical score: nearly every passer-by would alert",
    ),
    "dlib threshold a little low": ({"kind": "dlib"}, {"threshold": 0.9}, "engine.force_threshold: true"),
}


def test_forced_low_threshold_is_accepted_and_labelled(tmp_path: Path) -> None:
    from twin.scenario.load import load_scenario
    from twin.sim.engine_setup import expected_fpir, resolve_threshold

    sc = write_scenario(
        tmp_path,
        engine={"kind": "dlib", "force_threshold": True},
        watchlist={"size": 300, "prevalence": 0.05, "threshold": 0.9},
    )
    t, source = resolve_threshold(load_scenario(sc))
    assert t == 0.9 and "forced with engine.force_threshold: expected FPIR" in source
    # FPIR = 1 - (1 - FMR)^N with the N(0.831, 0.03) tail: z = 2.3 at 0.9, FMR ~ 0.0107
    assert expected_fpir("dlib", 0.9, 300) == pytest.approx(1 - (1 - 0.01072) ** 300, rel=0.02)


@pytest.mark.parametrize("case", list(BAD_CONFIG))
def test_bad_real_engine_config_one_line_exit_2(case: str, tmp_path: Path) -> None:
    engine, wl, needle = BAD_CONFIG[case]
    sc = write_scenario(
        tmp_path, engine=engine, watchlist={"size": 300, "prevalence": 0.05, "threshold": 0.6, **wl}
    )
    out = tmp_path / "runs"
    r = runner.invoke(app, ["run", str(sc), "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and not out.exists()


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
    sc = write_scenario(
        tmp_path,
        engine={"kind": "insightface", "model_dir": str(pack), "faces": str(faces), "max_real_probes": 6},
    )
    r = runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "runs"), "--no-map"])
    assert r.exit_code == 0, r.output
    (folder,) = list((tmp_path / "runs").iterdir())
    re_ = json.loads((folder / "summary.json").read_text())["real_engine"]
    files = re_["engine"]["model_files"]
    assert files == {
        f: hashlib.sha256((pack / f).read_bytes()).hexdigest() for f in ("det_tiny.onnx", "w600k_tiny.onnx")
    }
    assert re_["engine"]["providers"] == ["CPUExecutionProvider"]
    assert re_["threshold"] == pytest.approx(0.4)  # the pack's default, the statistical 0.6 having been left
    assert re_["sampling"]["probes_run"] == min(6, re_["sampling"]["usable_captures"]) > 0
    assert re_["true_alerts"] + re_["false_alerts"] == re_["alerts"]
    assert re_["probes_deleted"] == sum(re_["gated_out"].values()) + re_["probes_searched"] - re_["alerts"]
    assert len(list(folder.glob("alerts/*.png"))) == re_["alerts"]
    assert image_files(folder) == set(folder.glob("alerts/*.png"))


@pytest.mark.slow
def test_a_watchlist_the_plan_keeps_is_kept_and_every_skipped_photo_is_listed(tmp_path: Path) -> None:
    """The plan says keep: the real pass does not destroy it, and the log says kept once, not both. A corrupt
    first photo and a HEIC photo are listed with their reasons; their identity stays."""
    from conftest import governance_doc

    pack = make_tiny_pack(tmp_path)
    faces = _square_faces(tmp_path / "faces")
    (faces / "ann" / "0.png").rename(faces / "ann" / "2.png")
    (faces / "ann" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # corrupt, and first by name
    (faces / "bob" / "phone.heic").write_bytes(b"....ftypheic")
    gov = governance_doc(
        retention={"watchlist": "keep"},
        watchlist_composition=[{"category": "wanted", "count": 300, "image_source": "custody"}],
    )
    sc = write_scenario(
        tmp_path,
        engine={"kind": "insightface", "model_dir": str(pack), "faces": str(faces), "max_real_probes": 6},
        governance=gov,
    )
    r = runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "runs"), "--no-map"])
    assert r.exit_code == 0, r.output
    (folder,) = list((tmp_path / "runs").iterdir())
    re_ = json.loads((folder / "summary.json").read_text())["real_engine"]
    assert re_["watchlist"]["destroyed"] is False
    skipped = {s["file"]: s["reason"] for s in re_["faces"]["skipped_images"]}
    assert "ann/0.png" in skipped and "bob/phone.heic" in skipped and "HEIC" in skipped["bob/phone.heic"]
    assert re_["faces"]["identities"] == 3  # ann kept, with her other photos
    with AuditLog(folder / AUDIT_FILE) as log:
        kinds = [(e.kind, e.detail.get("real", False)) for e in log.entries()]
    assert ("watchlist_kept", True) in kinds and not any(k == "watchlist_destroyed" for k, _ in kinds)
    record = json.loads((folder / "record.json").read_text())
    assert (
        record["retention"]["watchlist_kept"] is True and record["retention"]["non_match_images_stored"] == 0
    )
    assert record["retention"]["alert_images_stored"] == re_["alerts"]
