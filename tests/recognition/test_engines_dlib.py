"""The dlib engine on real photos: detection counts, same vs different people, degraded probes.

Photos: insightface's t1.jpg (6 faces) and scikit-image's astronaut ship inside installed packages;
the Obama/Biden photos are the face_recognition 1.3.0 test images fetched by ``twin samples``
(reference/face_engine.md §4). Expected values are the measurements recorded there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import IN_CI
from twin.errors import EngineError, ImageError
from twin.recognition.engines.base import Face, FaceEngine, check_threshold
from twin.recognition.engines.dlib import DlibEngine, dlib5_to_kps, upsample_for_ied
from twin.recognition.faces.io import load_image
from twin.recognition.faces.render import render_probe
from twin.recognition.faces.samples import (
    default_samples_dir,
    packaged_samples,
    sample_identities,
    samples_present,
)

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def engine() -> DlibEngine:
    return DlibEngine(upsample=0)


@pytest.fixture(scope="module")
def fr_samples() -> dict[str, list[Path]]:
    """The face_recognition test images; FAIL under CI=true when absent, skip otherwise."""
    if not samples_present():
        msg = f"face_recognition sample images not in {default_samples_dir()}; run `twin samples` first"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return sample_identities()


@pytest.fixture(scope="module")
def obama_gallery(engine: DlibEngine, fr_samples: dict[str, list[Path]]) -> np.ndarray:
    img = load_image(fr_samples["barack_obama"][0])
    (face,) = engine.detect(img)
    return engine.embed(img, [face])[0]


def _embed_largest(engine: DlibEngine, path: Path) -> np.ndarray:
    img = load_image(path)
    faces = engine.detect(img)
    assert faces, f"no face in {path}"
    return engine.embed(img, faces[:1])[0]


def test_protocol_and_declared_score(engine: DlibEngine) -> None:
    assert isinstance(engine, FaceEngine)
    assert engine.dim == 128 and engine.score_range == (-1.0, 1.0)
    assert check_threshold(engine, engine.default_threshold) == pytest.approx(0.93)
    with pytest.raises(EngineError, match="score range"):
        check_threshold(engine, 1.5)


def test_upsample_choice() -> None:
    assert [upsample_for_ied(x) for x in (60, 30, 29.9, 15, 14.9)] == [0, 0, 1, 1, 2]
    assert DlibEngine(expected_ied_px=12).upsample == 2
    assert DlibEngine(expected_ied_px=12, upsample=0).upsample == 0
    assert DlibEngine().upsample == 1
    with pytest.raises(EngineError, match="expected_ied_px"):
        DlibEngine(expected_ied_px=-3)
    with pytest.raises(EngineError, match="upsample"):
        DlibEngine(upsample=7)


def test_t1_has_six_faces_largest_first(engine: DlibEngine) -> None:
    img = load_image(packaged_samples()["t1"])
    faces = engine.detect(img)
    assert len(faces) == 6
    areas = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in faces]
    assert areas == sorted(areas, reverse=True)
    for f in faces:
        assert f.kps.shape == (5, 2) and f.kps.dtype == np.float32
        assert 25 <= f.ied_px <= 55  # face_engine.md §4: IED 28-50 px
        assert f.kps[0, 0] < f.kps[1, 0]  # subject's right eye is on the image left
        assert f.kps[0, 1] < f.kps[3, 1] and f.kps[2, 1] < f.kps[3, 1]  # eyes, nose above the mouth
        x0, y0, x1, y1 = f.box
        assert x0 <= f.kps[:, 0].min() and f.kps[:, 0].max() <= x1
        assert y0 <= f.kps[:2, 1].min() and f.kps[:3, 1].max() <= y1
    emb = engine.embed(img, faces)
    assert emb.shape == (6, 128) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # six different people: every pair below the threshold
    sims = emb @ emb.T
    assert sims[np.triu_indices(6, 1)].max() < engine.default_threshold


def test_astronaut_has_one_face(engine: DlibEngine) -> None:
    assert len(engine.detect(load_image(packaged_samples()["astronaut"]))) == 1


def test_embed_of_no_faces_and_bad_input(engine: DlibEngine) -> None:
    img = load_image(packaged_samples()["astronaut"])
    assert engine.embed(img, []).shape == (0, 128)
    with pytest.raises(ImageError, match="dtype"):
        engine.detect(img.astype(np.float32))
    with pytest.raises(EngineError, match="one list per image"):
        engine.embed_batch([img, img], [[]])


def test_dlib5_conversion_places_mouth_below_nose() -> None:
    # dlib order: left eye outer, inner (image right), right eye outer, inner (image left), nose base
    pts = np.array([[70, 40], [60, 40], [30, 40], [40, 40], [50, 60]], float)
    kps = dlib5_to_kps(pts)
    np.testing.assert_allclose(kps[:3], [[35, 40], [65, 40], [50, 60]])
    assert kps[3, 0] < 50 < kps[4, 0] and kps[3, 1] > 60 and kps[4, 1] > 60


def test_obama_matches_obama_and_not_others(
    engine: DlibEngine, fr_samples: dict[str, list[Path]], obama_gallery: np.ndarray
) -> None:
    thr = engine.default_threshold
    for p in fr_samples["barack_obama"][1:3]:  # obama2, obama3
        s = float(_embed_largest(engine, p) @ obama_gallery)
        assert s >= thr, f"{p.name}: {s:.3f}"  # face_engine.md: genuine cosine 0.952-0.986
    others = [fr_samples["joe_biden"][0], packaged_samples()["astronaut"]]
    for p in others:
        s = float(_embed_largest(engine, p) @ obama_gallery)
        assert s < thr, f"{p.name}: {s:.3f}"  # impostors <= 0.906


def _mated_margin(
    engine: DlibEngine, fr_samples: dict[str, list[Path]], gallery: np.ndarray, **render: object
) -> tuple[float, dict[str, float]]:
    """Lowest mated score minus highest non-mated score against the obama.jpg gallery."""
    rng = np.random.default_rng(7)
    scores = {}
    for key, path in (
        ("obama2", fr_samples["barack_obama"][1]),
        ("obama3", fr_samples["barack_obama"][2]),
        ("biden", fr_samples["joe_biden"][0]),
    ):
        img = load_image(path)
        face = engine.detect(img)[0]
        probe = render_probe(img, face, rng=rng, **render)  # type: ignore[arg-type]
        # oracle alignment: the rendered face's own box (face_engine.md §4 did the same)
        f = Face(box=probe.box, kps=probe.kps, det_score=0.0)
        scores[key] = float(engine.embed(probe.patch, [f])[0] @ gallery)
    return min(scores["obama2"], scores["obama3"]) - scores["biden"], scores


def test_rendered_probe_at_40px_still_matches(
    engine: DlibEngine, fr_samples: dict[str, list[Path]], obama_gallery: np.ndarray
) -> None:
    img = load_image(fr_samples["barack_obama"][1])
    probe = render_probe(img, engine.detect(img)[0], ied_px=40, rng=np.random.default_rng(0))
    found = DlibEngine(expected_ied_px=40).detect(probe.patch)  # the detector finds it, not only the oracle
    assert len(found) == 1 and abs(found[0].ied_px - 40) < 3
    s = float(engine.embed(probe.patch, found)[0] @ obama_gallery)
    assert s >= engine.default_threshold


def test_degradation_shrinks_the_margin(
    engine: DlibEngine, fr_samples: dict[str, list[Path]], obama_gallery: np.ndarray
) -> None:
    clean, s_clean = _mated_margin(engine, fr_samples, obama_gallery, ied_px=40)
    bad, s_bad = _mated_margin(
        engine, fr_samples, obama_gallery, ied_px=15, blur_px=3.0, jpeg_quality=30, yaw_deg=30.0, noise_sd=3.0
    )
    assert clean > 0.1, s_clean  # clean: same and different people well apart
    assert bad < clean - 0.05, (s_clean, s_bad)  # face_engine.md §4: blur+JPEG+yaw at <=20 px closes the gap
    assert min(s_bad["obama2"], s_bad["obama3"]) < min(s_clean["obama2"], s_clean["obama3"])


def test_worker_processes_give_identical_embeddings() -> None:
    img = load_image(packaged_samples()["t1"])
    with DlibEngine(upsample=0, embed_workers=2) as eng:
        faces = eng.detect(img)
        par = eng.embed_batch([img, img], [faces, faces[:2]])
    ser = DlibEngine(upsample=0).embed_batch([img, img], [faces, faces[:2]])
    for a, b in zip(par, ser, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sample_face_bank_with_the_group_photo(engine: DlibEngine, fr_samples: dict[str, list[Path]]) -> None:
    from twin.recognition.faces.bank import FaceBank

    bank = FaceBank.from_samples(engine)
    assert {f"t1_person_{i}" for i in range(6)} <= set(bank.identities)
    assert bank.has_distinct_probe("barack_obama") and not bank.has_distinct_probe("joe_biden")
    assert bank.enrolment_image("barack_obama").path == fr_samples["barack_obama"][0]
    src = bank.enrolment_image("t1_person_0")
    face = bank.face(src, engine)
    assert face.box[0] == min(
        bank.face(bank.enrolment_image(f"t1_person_{i}"), engine).box[0] for i in range(6)
    )


def test_detect_from_threads_equals_serial(engine: DlibEngine) -> None:
    """A shared dlib HOG detector corrupts the heap under threads; the engine keeps one per thread."""
    from concurrent.futures import ThreadPoolExecutor

    imgs = [load_image(packaged_samples()["t1"]), load_image(packaged_samples()["astronaut"])] * 2
    serial = [[(f.box, f.kps.tobytes()) for f in engine.detect(i)] for i in imgs]
    with ThreadPoolExecutor(2) as pool:
        for _ in range(2):
            threaded = [[(f.box, f.kps.tobytes()) for f in fs] for fs in pool.map(engine.detect, imgs)]
            assert threaded == serial


def test_unscored_detection_finds_the_same_faces(engine: DlibEngine) -> None:
    img = load_image(packaged_samples()["t1"])
    fast = DlibEngine(upsample=0, det_scores=False).detect(img)
    assert [f.box for f in fast] == [f.box for f in engine.detect(img)]
    assert all(np.isnan(f.det_score) for f in fast)
    with pytest.raises(EngineError, match="det_adjust needs det_scores"):
        DlibEngine(det_scores=False, det_adjust=0.3)


def test_engines_built_in_two_threads_detect_in_parallel(engine: DlibEngine) -> None:
    """Two engines, each built in its own thread (as twin stress's thread pool does), share the process's
    cached models; before the cache owned its detector, both scanned with it and the process crashed
    (segfault in bench/bench_stress.py's thread run). Same faces as the serial engine, twice over."""
    import threading

    img = load_image(packaged_samples()["t1"])
    serial = [f.box for f in DlibEngine(upsample=1, det_scores=False).detect(img)]
    found: list[list[tuple[float, float, float, float]]] = []
    scanners: list[object] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        eng = DlibEngine(upsample=1, det_scores=False)
        scanners.append(eng._thread_models()[0])
        barrier.wait()
        for _ in range(3):
            found.append([f.box for f in eng.detect(img)])
        eng.embed(img, eng.detect(img)[:2])

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert scanners[0] is not scanners[1]  # each thread scans with its own HOG detector
    assert found == [serial] * 6
