"""Pipeline: the real face engine on an image (detections, ied_px, scores) and on a synthetic probe."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from twin.app import ui, workbench
from twin.app.ui import TwinError
from twin.app.workbench import GATE_TEXT

plan = ui.current_plan()
ui.plan_sidebar_caption(plan)

st.title("Recognition pipeline")
st.caption(
    "The real engine — detect → quality gate → embed → 1:N search → alert — on one image or on a "
    "synthetic probe. "
    "Images are decoded in memory; nothing uploaded is written to disk, and a face that raises no alert "
    "has its "
    "template zeroed after the search."
)

with st.sidebar:
    st.subheader("Engine")
    kind = st.selectbox(
        "Face engine",
        ["dlib", "insightface"],
        key="pl_engine",
        format_func={"dlib": "dlib (embedded, default)", "insightface": "insightface (your model pack)"}.get,
        help="dlib ships with the twin. insightface runs a model pack you already have; none is "
        "downloaded (their packs are licensed for non-commercial research only).",
    )
    model_dir = None
    if kind == "insightface":
        model_dir = (
            st.text_input(
                "Model pack folder",
                key="pl_model_dir",
                placeholder="/models/buffalo_l",
                help="A folder with a detector and a recognizer .onnx (checked before use).",
            )
            or None
        )
        if not model_dir:
            st.info("Give the model pack folder to use insightface.")
            st.stop()

engine = ui.guarded(ui.get_engine, kind, model_dir)
bank, watchlist = ui.guarded(ui.sample_setup, kind, model_dir)

lo, hi = engine.score_range
d = float(engine.default_threshold)
with st.sidebar:
    threshold = st.slider(
        f"Alert threshold ({engine.model_id})",
        max(lo, round(d - 0.2, 2)),
        min(hi, round(d + 0.06, 2)),
        d,
        0.005,
        format="%.3f",
        key=f"pl_thr_{engine.model_id}",
        help=f"On this engine's scale: {engine.score_name}. Calibrated default {d:g}. Scores of "
        "different engines are not comparable.",
    )
    min_ied = st.number_input(
        "Quality gate: smallest ied, px",
        5.0,
        200.0,
        30.0,
        1.0,
        format="%.0f",
        key="pl_min_ied",
        help="Faces with fewer pixels between the eyes are not searched (DESIGN.md default 30 px).",
    )
    max_yaw = st.number_input(
        "Quality gate: largest head yaw, °",
        5.0,
        90.0,
        30.0,
        5.0,
        format="%.0f",
        key="pl_max_yaw",
        help="Faces turned further from the camera (estimated from the landmarks) are not searched "
        "(DESIGN.md default 30°, as the Plan page's capture gate).",
    )
    st.caption(
        f"Watchlist: {watchlist.size} sample identities, one enrolment photo each: "
        f"{', '.join(i.replace('_', ' ') for i in watchlist.identities)}. The six people of t1.jpg are "
        "not on it."
    )
gate = workbench.quality_gate(min_ied, max_yaw)

tab_img, tab_probe = st.tabs(["Image", "Synthetic probe"])

with tab_img:
    samples = workbench.sample_images(bank, watchlist)
    src = st.radio("Image", ["A sample image", "Upload an image"], horizontal=True, key="pl_src")
    image = None
    name = ""
    if src == "A sample image":
        label = st.selectbox("Sample", list(samples), key="pl_sample")
        try:
            image = workbench.decode(samples[label].read_bytes(), samples[label].name)
            name = samples[label].name
        except (TwinError, OSError) as exc:
            ui.show_error(exc)
    else:
        up = st.file_uploader(
            "Photo or CCTV still (JPEG, PNG, WebP, BMP; up to 10 MB)",
            type=["jpg", "jpeg", "png", "webp", "bmp"],
            key="pl_upload",
        )
        if up is not None:
            try:
                image = workbench.decode(up.getvalue(), up.name)
                name = up.name
            except TwinError as exc:
                ui.show_error(exc)
        else:
            st.caption("Held in memory only; the file is not saved.")
    if image is not None:
        with st.spinner("Detecting and searching…"):
            reports = ui.guarded(
                workbench.analyse_image, engine, watchlist, image, threshold=threshold, gate=gate
            )
        c1, c2 = st.columns([2, 3], gap="medium")
        c1.image(
            workbench.annotate(image, reports),
            caption=f"{name}: {image.shape[1]}×{image.shape[0]} px. "
            "Red: alert; green: searched, no alert; amber: not searched (quality gate).",
            width="stretch",
        )
        with c2:
            alerts = sum(r.alert for r in reports)
            searched = sum(r.gate is None for r in reports)
            m1, m2, m3 = st.columns(3)
            m1.metric("Faces detected", len(reports))
            m2.metric("Searched", searched, help="Passed the quality gate.")
            m3.metric("Alerts", alerts, help=f"Top score ≥ {threshold:.3f}.")
            if reports:
                rows = []
                for r in reports:
                    who, score = r.top
                    rows.append(
                        {
                            "#": r.index,
                            "ied, px": round(r.ied_px, 1),
                            "yaw, °": round(r.yaw_deg),
                            "detector score": round(r.det_score, 2),
                            "quality gate": GATE_TEXT.get(r.gate, r.gate),
                            "top candidate": (who or "").replace("_", " ") or "—",
                            "score": "—" if score is None else f"{score:.3f}",
                            "alert": "ALERT" if r.alert else "",
                        }
                    )
                st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
                with st.expander("Candidate lists (top 3)"):
                    for r in reports:
                        if r.candidates is None:
                            st.caption(f"#{r.index}: not searched ({GATE_TEXT.get(r.gate, r.gate)}).")
                            continue
                        st.caption(
                            f"#{r.index}: "
                            + "; ".join(
                                f"{i.replace('_', ' ')} {s:.3f}"
                                for i, s in zip(r.candidates.identities, r.candidates.scores, strict=True)
                            )
                        )
            else:
                st.info(
                    "No face found. The detector needs roughly 15 px or more between the eyes; try a "
                    "closer photo."
                )

with tab_probe:
    st.caption(
        "A recorded face rendered as a camera of the plan would record it: scaled to the pinhole ied_px at "
        "that distance, turned by the yaw, smeared by motion blur, with sensor noise and JPEG, then detected "
        "and searched."
    )
    people = list(bank.identities)
    default = people.index("barack_obama") if "barack_obama" in people else 0
    c1, c2 = st.columns([1, 2], gap="medium")
    with c1:
        ident = st.selectbox(
            "Person",
            people,
            index=default,
            key="pl_ident",
            format_func=lambda i: (
                i.replace("_", " ") + ("" if i in watchlist.identities else " (not on the watchlist)")
            ),
        )
        cams = plan.doc.get("cameras") or []
        cam_ids = [c["id"] for c in cams]
        cam_id = st.selectbox(
            "Camera lens (from the plan)",
            cam_ids,
            key="pl_cam",
            help="Its sensor width, field of view and mounting height set the pixels per metre.",
        )
        camera = ui.guarded(workbench.lens_camera, cams, cam_id)
        distance = st.slider(
            "Distance from the camera, m (on the ground)", 2.0, 40.0, 8.0, 0.5, key="pl_dist"
        )
        yaw = st.slider("Head yaw, °", -60, 60, 0, 5, key="pl_yaw", help="0: facing the camera.")
        geo = workbench.probe_geometry(distance, camera)
        walk_blur = workbench.walking_blur_px(camera, float(geo["px_per_m"]))
        blur = st.slider(
            "Motion blur, px",
            0.0,
            20.0,
            float(round(min(walk_blur, 20.0), 1)),
            0.5,
            key=f"pl_blur_{cam_id}",
            help=f"Default: a walker at {workbench.WALKING_SPEED_M_S:g} m/s with a "
            f"{camera.exposure_s * 1000:.0f} ms shutter at this "
            f"distance smears {walk_blur:.1f} px.",
        )
        seed = st.number_input("Noise seed", 0, 10_000, 0, 1, key="pl_seed")
    with c2:
        rep = ui.guarded(
            workbench.synthetic_probe,
            engine,
            watchlist,
            bank,
            ident,
            distance_m=distance,
            yaw_deg=float(yaw),
            blur_px=float(blur),
            camera=camera,
            threshold=threshold,
            rng=np.random.default_rng(int(seed)),
            gate=gate,
        )
        patch = rep.probe.patch
        zoom = max(1, round(240 / max(patch.shape[:2])))
        big = cv2.resize(
            patch, (patch.shape[1] * zoom, patch.shape[0] * zoom), interpolation=cv2.INTER_NEAREST
        )
        p1, p2 = st.columns([1, 1])
        p1.image(
            big,
            width=big.shape[1],
            caption=f"Probe as captured: {patch.shape[1]}×{patch.shape[0]} px"
            + (f", shown ×{zoom}" if zoom > 1 else ""),
        )
        with p2:
            st.metric(
                "Between the eyes (ied)",
                f"{geo['ied_px']:.0f} px",
                help="0.063 m × px/m, frontal; a turned head shows less.",
            )
            st.caption(
                f"{geo['px_per_m']:.0f} px/m at {geo['slant_m']:.1f} m from the lens: DORI {geo['dori']}."
            )
            mated = "not on the watchlist" if rep.mated_score is None else f"{rep.mated_score:.3f}"
            st.metric(
                "Score against own entry",
                mated,
                help=f"Alert threshold {threshold:.3f} on {engine.model_id}'s scale.",
            )
            who = (rep.candidates.top_identity or "—").replace("_", " ")
            found = (
                "The detector found the face."
                if rep.detected
                else "The detector did not find the face; it was searched at the rendered landmarks, as "
                "a tracker would."
            )
            score_txt, thr_txt = workbench.score_and_threshold(rep.candidates.top_score, threshold)
            if rep.gate is not None:
                verdict = (
                    f"**No alert in a deployment**: the quality gate drops this face "
                    f"({workbench.gate_text(rep.gate, gate)}), so it is never searched. "
                    f"Its score if it were: {who} {score_txt}."
                )
            else:
                relation = "≥" if rep.candidates.top_score >= threshold else "<"
                verdict = (
                    f"Top candidate {who} {score_txt} {relation} threshold {thr_txt} → "
                    f"**{'ALERT' if rep.alert else 'no alert'}**."
                )
            st.caption(f"{found} {verdict}")
        if rep.from_enrolment and ident in watchlist.identities:
            st.warning(
                "Rendered from the enrolment photo itself (this person has no other photo): the score "
                "overstates a real mated search."
            )
        st.dataframe(
            pd.DataFrame(
                {
                    "rank": rep.candidates.ranks,
                    "candidate": [i.replace("_", " ") for i in rep.candidates.identities],
                    "score": np.round(rep.candidates.scores, 3),
                }
            ),
            hide_index=True,
            width="stretch",
        )
