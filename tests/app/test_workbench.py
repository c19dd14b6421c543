"""Pipeline page logic with the fake engine: gate, search, alerts, annotation, synthetic probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from fixtures_engines import FakeEngine, paint_faces
from twin.app import workbench
from twin.errors import ImageError, WatchlistError
from twin.recognition.faces.bank import FaceBank, FaceSource
from twin.recognition.pipeline import QualityGate
from twin.recognition.watchlist import Watchlist
from twin.world.camera import Camera


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def bank(tmp_path: Path) -> FaceBank:
    """ann (code 5) with an enrolment and a probe photo, bo (code 9) with one, t1_person_0 (code 30) off the
    list."""

    def save(name: str, code: int) -> Path:
        p = tmp_path / f"{name}.png"
        cv2.imwrite(str(p), cv2.cvtColor(paint_faces([code], side=100), cv2.COLOR_RGB2BGR))
        return p

    return FaceBank(
        {
            "ann": [
                FaceSource("ann", "a0", path=save("ann0", 5)),
                FaceSource("ann", "a1", path=save("ann1", 5)),
            ],
            "bo": [FaceSource("bo", "b0", path=save("bo0", 9))],
            "t1_person_0": [FaceSource("t1_person_0", "t", path=save("t1", 30))],
        }
    )


def test_sample_watchlist_leaves_the_group_photo_people_off(engine: FakeEngine, bank: FaceBank) -> None:
    wl = workbench.sample_watchlist(engine, bank)
    assert wl.identities == ("ann", "bo") and wl.model_id == engine.model_id
    labels = list(workbench.sample_images(bank, wl))
    assert labels[0] == "ann1.png: Ann, another photo (on the watchlist)"
    assert "t1.png: six people, none on the watchlist" in labels
    assert "bo0.png: Bo, the enrolment photo itself (scores near 1)" in labels


def test_analyse_image_gates_searches_and_alerts(engine: FakeEngine, bank: FaceBank) -> None:
    wl = workbench.sample_watchlist(engine, bank)
    frame = paint_faces([5, 77, 9], size=(400, 200), side=80, positions=[(10, 10), (120, 10), (240, 10)])
    frame[150:170, 10:30] = (9, 255, 0)  # a 20-px face: ied 8 px, gated out
    reps = workbench.analyse_image(
        engine, wl, frame, threshold=engine.default_threshold, gate=QualityGate(min_ied_px=20)
    )
    assert [r.index for r in reps] == [1, 2, 3, 4]
    big = [r for r in reps if r.gate is None]
    assert len(big) == 3 and next(r for r in reps if r.gate == "ied_px").candidates is None
    by_code = {round(r.box[0]): r for r in big}
    assert (
        by_code[10].alert
        and by_code[10].top[0] == "ann"
        and by_code[10].top[1] == pytest.approx(1.0, abs=1e-5)
    )
    assert by_code[240].alert and by_code[240].top[0] == "bo"
    assert not by_code[120].alert  # code 77 is on no list
    out = workbench.annotate(frame, reps)
    assert (
        out.shape == frame.shape and not np.array_equal(out, frame) and frame[10, 10, 1] == 255
    )  # input untouched


def test_analyse_image_refuses_a_foreign_watchlist(engine: FakeEngine) -> None:
    wl = Watchlist(dim=engine.dim, model_id="other")
    with pytest.raises(WatchlistError, match="enrol it with this engine"):
        workbench.analyse_image(engine, wl, paint_faces([1]), threshold=0.8)
    with pytest.raises(ImageError):
        workbench.analyse_image(
            engine, Watchlist.for_engine(engine), np.zeros((4, 4), np.uint8), threshold=0.8
        )


def test_probe_geometry_is_the_pinhole_model() -> None:
    cam = Camera(id="c", x=0, y=0, mount_height_m=1.6, hfov_deg=60.0, width_px=1000)
    g = workbench.probe_geometry(10.0, cam)  # face at lens height: slant = ground distance
    ppm = 1000 / (2 * 10.0 * np.tan(np.radians(30.0)))
    assert (
        g["slant_m"] == pytest.approx(10.0)
        and g["px_per_m"] == pytest.approx(ppm)
        and g["ied_px"] == pytest.approx(0.063 * ppm)
    )
    with pytest.raises(ImageError):
        workbench.probe_geometry(0.0, cam)


def _probe(
    engine: FakeEngine, wl: Watchlist, bank: FaceBank, identity: str, *, distance_m: float, **kw: Any
) -> workbench.ProbeReport:
    """A frontal (unless ``yaw_deg``), sharp, noise-free probe of ``identity`` at ``distance_m`` (seed 0, no
    JPEG)."""
    opts: dict[str, Any] = {"yaw_deg": 0.0, "blur_px": 0.0, **kw}
    return workbench.synthetic_probe(
        engine,
        wl,
        bank,
        identity,
        distance_m=distance_m,
        threshold=engine.default_threshold,
        rng=np.random.default_rng(0),
        noise_sd=0.0,
        jpeg_quality=None,
        **opts,
    )


def test_synthetic_probe_renders_at_the_distance_and_searches(engine: FakeEngine, bank: FaceBank) -> None:
    wl = workbench.sample_watchlist(engine, bank)
    rep = _probe(engine, wl, bank, "ann", distance_m=5.0)
    assert rep.probe.ied_px == pytest.approx(rep.geometry["ied_px"], rel=0.05)
    assert (
        rep.detected
        and rep.mated_score == pytest.approx(1.0, abs=1e-5)
        and rep.alert
        and not rep.from_enrolment
    )
    off = _probe(engine, wl, bank, "t1_person_0", distance_m=5.0)
    assert off.mated_score is None and not off.alert
    solo = _probe(engine, wl, bank, "bo", distance_m=5.0)
    assert solo.from_enrolment


def test_synthetic_probe_below_the_gate_is_not_an_alert(engine: FakeEngine, bank: FaceBank) -> None:
    wl = workbench.sample_watchlist(engine, bank)
    far = _probe(engine, wl, bank, "ann", distance_m=12.0)
    assert far.geometry["ied_px"] < 30 and far.gate == "ied_px"
    assert far.mated_score == pytest.approx(1.0, abs=1e-5) and not far.alert  # scored, but the gate drops it
    near = _probe(engine, wl, bank, "ann", distance_m=12.0, gate=QualityGate(min_ied_px=10))
    assert near.gate is None and near.alert


@pytest.mark.parametrize("yaw", [40.0, -60.0])
def test_synthetic_probe_turned_past_the_yaw_gate_is_not_an_alert(
    engine: FakeEngine, bank: FaceBank, yaw: float
) -> None:
    """A head turned 40° or 60° fails the 30° yaw gate (issue 13: it alerted), although the render's
    landmarks, a squeeze of a frontal photo, still look frontal."""
    wl = workbench.sample_watchlist(engine, bank)
    gate = QualityGate(min_ied_px=10, max_abs_yaw_deg=30)
    turned = _probe(engine, wl, bank, "ann", distance_m=5.0, yaw_deg=yaw, gate=gate)
    assert turned.gate == "yaw_deg" and not turned.alert
    assert _probe(engine, wl, bank, "ann", distance_m=5.0, yaw_deg=20.0, gate=gate).gate is None


def test_a_score_just_below_the_threshold_never_prints_as_equal_to_it() -> None:
    """0.9297 against 0.93 printed "0.930 → no alert (threshold 0.930)"."""
    score, thr = workbench.score_and_threshold(0.92997, 0.93)
    assert score != thr and float(score) < float(thr)
    assert workbench.score_and_threshold(0.7123, 0.6) == ("0.712", "0.600")
