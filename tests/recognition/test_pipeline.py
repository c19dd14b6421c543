"""Recognition pipeline with a fake engine: alert logic, gate, batching, and deletion of non-matches."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from fixtures_engines import FakeEngine, paint_faces
from twin.errors import EngineError, ImageError, WatchlistError
from twin.recognition.engines.base import Face
from twin.recognition.pipeline import Alert, FrameInput, QualityGate, RecognitionPipeline, estimate_yaw_deg
from twin.recognition.watchlist import Watchlist, WatchlistEntry

WATCHLISTED = (1, 2, 3)


class RecordingEngine(FakeEngine):
    """FakeEngine that keeps a reference to every embedding array it hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_out: list[np.ndarray] = []

    def embed_batch(self, images: Sequence[np.ndarray], faces: Sequence[Sequence[Face]]) -> list[np.ndarray]:
        out = super().embed_batch(images, faces)
        self.handed_out.extend(out)
        return out


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture
def watchlist(engine: FakeEngine) -> Watchlist:
    wl = Watchlist.for_engine(engine)
    wl.add(engine.table[list(WATCHLISTED)], [WatchlistEntry(f"person{c}") for c in WATCHLISTED])
    return wl


def test_alert_only_for_watchlisted_faces(engine: FakeEngine, watchlist: Watchlist) -> None:
    pipe = RecognitionPipeline(engine, watchlist)
    frame = paint_faces([2, 77], size=(320, 240), side=80)
    alerts = pipe.process(frame, t_s=12.5, camera_id="cam_w")
    assert len(alerts) == 1
    (a,) = alerts
    assert isinstance(a, Alert)
    assert (a.identity, a.t_s, a.camera_id) == ("person2", 12.5, "cam_w")
    assert a.score == pytest.approx(1.0, abs=1e-5) and a.threshold == engine.default_threshold
    assert a.candidates.identities[0] == "person2" and len(a.candidates.indices) == 3
    assert a.box == (10.0, 10.0, 90.0, 90.0) and a.ied_px == pytest.approx(32.0)
    # the crop is the face with a 25% margin (clipped at the frame edge), a read-only copy
    assert a.probe_crop.shape == (110, 110, 3) and not a.probe_crop.flags.writeable
    assert (a.probe_crop[20:60, 20:60, 1] == 255).all()
    c = pipe.counters
    assert (c.frames, c.faces_detected, c.probes_searched, c.alerts, c.probes_deleted) == (1, 2, 2, 1, 1)


def test_threshold_decides(engine: FakeEngine, watchlist: Watchlist) -> None:
    frame = paint_faces([77])
    best = max(float(engine.table[77] @ engine.table[c]) for c in WATCHLISTED)  # best non-mated score
    assert RecognitionPipeline(engine, watchlist, threshold=best + 1e-3).process(frame, 0.0, "c") == []
    low = RecognitionPipeline(engine, watchlist, threshold=best - 1e-3).process(frame, 0.0, "c")
    assert len(low) == 1 and low[0].score == pytest.approx(best, abs=1e-5)
    with pytest.raises(EngineError, match="score range"):
        RecognitionPipeline(engine, watchlist, threshold=1.5)


def test_quality_gate_drops_small_faces(engine: FakeEngine, watchlist: Watchlist) -> None:
    pipe = RecognitionPipeline(engine, watchlist, gate=QualityGate(min_ied_px=30.0))
    small = paint_faces([1], side=40)  # ied 16 px
    assert pipe.process(small, 1.0, "c") == []
    c = pipe.counters
    assert c.gated_out == (("ied_px", 1),) and c.probes_searched == 0 and c.probes_deleted == 1
    assert engine.embedded_faces == 0  # never embedded
    lenient = RecognitionPipeline(engine, watchlist, gate=QualityGate(min_ied_px=10.0))
    assert len(lenient.process(small, 1.0, "c")) == 1


def test_batch_equals_one_by_one_and_embeds_once(engine: FakeEngine, watchlist: Watchlist) -> None:
    frames = [
        FrameInput(image=paint_faces([1, 50]), t_s=0.0, camera_id="a"),
        FrameInput(image=paint_faces([]), t_s=0.1, camera_id="a"),
        FrameInput(image=paint_faces([3]), t_s=0.2, camera_id="b"),
        (paint_faces([60, 2, 3]), 0.3, "b"),
    ]
    pipe = RecognitionPipeline(engine, watchlist, detect_workers=2)
    calls_before = engine.embed_calls
    batched = pipe.process_batch(frames)
    assert engine.embed_calls - calls_before == 1  # one embedding call for the whole batch
    pipe.close()
    single = RecognitionPipeline(FakeEngine(), watchlist)
    one_by_one = [
        single.process(*(f if isinstance(f, tuple) else (f.image, f.t_s, f.camera_id))) for f in frames
    ]
    assert [[(a.identity, a.t_s, a.camera_id, a.box) for a in r] for r in batched] == [
        [(a.identity, a.t_s, a.camera_id, a.box) for a in r] for r in one_by_one
    ]
    assert [len(r) for r in batched] == [1, 0, 1, 2]
    assert pipe.counters.probes_searched == 6 and pipe.counters.probes_deleted == 2


def test_non_matches_leave_nothing_behind(
    engine: RecordingEngine, watchlist: Watchlist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, tmp = tmp_path / "run", tmp_path / "tmp"
    run.mkdir()
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.chdir(run)
    stranger = 99
    frames = [(paint_faces([stranger, 1]), float(i), "cam") for i in range(3)]
    pipe = RecognitionPipeline(engine, watchlist)
    alerts = [a for r in pipe.process_batch(frames) for a in r]
    assert {a.identity for a in alerts} == {"person1"}
    # 1. nothing was written: no file anywhere under the run or temp folders
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    # 2. the embeddings handed out by the engine were zeroed in place after the search
    assert engine.handed_out and all(not arr.any() for arr in engine.handed_out)
    # 3. what the pipeline keeps (alerts) shows nothing of the stranger, though the 25% crop margin
    #    reaches into the stranger's square 10 px away: other faces are blanked in review crops
    for a in alerts:
        assert not (a.probe_crop[..., 0] == stranger).any()
        assert (a.probe_crop[..., 1] == 255).sum() == 80 * 80
    c = pipe.counters
    assert c.probes_deleted == 3 and c.alerts == 3
    # 4. no attribute of the pipeline holds the stranger's embedding
    needle = engine.table[stranger].tobytes()
    for value in vars(pipe).values():
        if isinstance(value, np.ndarray):
            assert needle not in value.tobytes()


def test_pipeline_checks_its_inputs(engine: FakeEngine, watchlist: Watchlist) -> None:
    other = Watchlist(dim=engine.dim, model_id="dlib-resnet-v1")
    other.add(engine.table[[1]], [WatchlistEntry("x")])
    with pytest.raises(WatchlistError, match="enrol the watchlist with this engine"):
        RecognitionPipeline(engine, other)
    pipe = RecognitionPipeline(engine, watchlist)
    with pytest.raises(ImageError, match="cam9"):
        pipe.process(np.zeros((10, 10), np.uint8), 0.0, "cam9")
    watchlist.destroy()
    with pytest.raises(WatchlistError, match="destroyed"):
        pipe.process(paint_faces([1]), 0.0, "c")
    with pytest.raises(WatchlistError, match="destroyed"):
        RecognitionPipeline(engine, watchlist)


def test_yaw_estimate_and_gate() -> None:
    frontal = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], np.float32)
    assert estimate_yaw_deg(frontal) == 0.0
    turned = frontal.copy()
    turned[2, 0] += 6.0  # nose 6 px right of the eye midpoint, IED 20
    assert 20 < estimate_yaw_deg(turned) < 45
    mirrored = frontal.copy()
    mirrored[2, 0] -= 6.0
    assert estimate_yaw_deg(mirrored) == pytest.approx(-estimate_yaw_deg(turned))
    with pytest.raises(EngineError):
        QualityGate(max_abs_yaw_deg=120)
