"""Plan: pick a site, place cameras on the map, set the window and watchlist, read the expected alerts.

Long on purpose (~440 lines of code): a Streamlit script draws top to bottom, so the sidebar, the map
and the results stay in page order; most lines are widgets with their help texts. What the page
computes comes from :mod:`twin.app` (plan, cameras, views, intervals, ui).

The loop a planner lives in, and how the page keeps it quick and safe:

* one plan state, ``st.session_state["plan"]`` (a scenario document): every camera edit (a click on
  the map, the camera form) goes through it by the camera's id; the camera form's widgets are keyed
  by id and the camera's revision (:func:`twin.app.cameras.camera_revision`) and start from the
  document, so no widget state left from an earlier camera can be written back;
* a map click is handled in the map's callback, before the page draws (one rerun per click);
* the map draws the site once and swaps its camera and heat layers (it keeps its centre and zoom);
  when a new crowd must be simulated the map is drawn first and the figures fill in beside it with
  a progress bar, then the page reruns once to add the capture heat;
* a camera edit keeps the crowd (:func:`twin.app.ui.result_job`): about a second, no progress wait.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from twin.app import cameras, maplayers, ui, views
from twin.app import plan as plans
from twin.app.ui import MAX_SEED, MAX_WATCHLIST_SIZE, TwinError

W = "w_"  # prefix of the control widgets' keys
CLICK_MODES = ("Nothing (look around)", "Add a camera", "Move the selected camera")

# The sidebar's controls are driven by session state: their values are written there from the plan
# (_sync_widgets) and the widgets are created without a default, so loading another plan updates
# what the browser shows (deleting a key would leave the browser's old value on screen). The camera
# form is not: its widgets are keyed by camera id and revision and start from the plan document.


def _widget_values(plan: ui.Plan) -> dict[str, Any]:
    s = plan.settings
    vals: dict[str, Any] = {
        f"{W}start": s.start,
        f"{W}duration": int(s.duration_h),
        f"{W}scale": float(s.footfall_scale),
        f"{W}size": int(s.watchlist_size),
        f"{W}prev": round(float(s.prevalence) * 1e5, 6),
        f"{W}threshold": float(s.threshold),
        f"{W}seed": int(s.seed),
        f"{W}reps": int(s.replications),
    }
    ops = dict(s.operations)
    for name, (_typ, default, _desc) in plans.operations_fields().items():
        vals[f"{W}ops_{name}"] = int(ops.get(name, default))
    ids = cameras.camera_ids(plan.doc)
    vals[f"{W}camera"] = ids[0] if ids else None
    return vals


def _sync_widgets(plan: ui.Plan, *, force: bool) -> None:
    """Write the plan's values into the widgets' keys (all of them, or only the missing ones)."""
    for key, value in _widget_values(plan).items():
        if force or key not in st.session_state:
            st.session_state[key] = value


# -- callbacks (run before the page, so they may set widget values) ---------------------------------


def _plan_loaded(plan: ui.Plan) -> None:
    st.session_state.pop("upload_error", None)
    st.session_state.pop("camera_msg", None)
    _sync_widgets(plan, force=True)


def _load_site() -> None:
    name = st.session_state.get("site_choice")
    path = ui.paths().scenarios / str(name)
    if not path.is_file():
        return
    try:
        _plan_loaded(ui.set_plan(plans.load_plan(path), path.name))
    except TwinError as exc:
        st.session_state["upload_error"] = str(exc)


def _load_upload() -> None:
    up = st.session_state.get("upload_plan")
    if up is None:  # the file was removed from the uploader: its message goes too
        st.session_state.pop("upload_error", None)
        return
    try:
        doc = plans.plan_from_upload(
            up.getvalue(), up.name, scenarios_dir=ui.paths().scenarios, maps_dir=ui.paths().maps
        )
    except TwinError as exc:
        st.session_state["upload_error"] = str(exc)
        return
    st.session_state["site_choice"] = up.name
    _plan_loaded(ui.set_plan(doc, up.name, keep_window=True, keep_replications=True))


def _edit_plan(fn, *args, ok: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    plan = ui.current_plan()
    try:
        plan.doc = fn(plan.doc, *args, **kwargs)
        st.session_state["camera_msg"] = ("success", ok)
    except TwinError as exc:
        st.session_state["camera_msg"] = ("error", str(exc))


def _form_key(cam_id: str, rev: str, field: str) -> str:
    return f"cam_{cam_id}_{rev}_{field}"


def _current_revision(cam_id: str, rev: str) -> bool:
    """The camera is still as the form showed it (else nothing is applied: the form was out of date)."""
    doc = ui.current_plan().doc
    if (
        cam_id in cameras.camera_ids(doc)
        and cameras.camera_revision(cameras.camera_by_id(doc, cam_id)) == rev
    ):
        return True
    st.session_state["camera_msg"] = (
        "error",
        f"Camera {cam_id} changed since its form was drawn; nothing was applied. Check its values and "
        "apply again.",
    )
    return False


def _apply_camera(cam_id: str, rev: str) -> None:
    ss = st.session_state
    keys = {f.key: _form_key(cam_id, rev, f.key) for f in cameras.CAMERA_FORM_FIELDS}
    if not _current_revision(cam_id, rev) or any(k not in ss for k in keys.values()):
        return
    _edit_plan(
        cameras.update_camera,
        cam_id,
        **{f: float(ss[k]) for f, k in keys.items()},
        ok=f"Camera {cam_id} updated.",
    )


def _delete_camera(cam_id: str, rev: str) -> None:
    if _current_revision(cam_id, rev):
        _edit_plan(cameras.delete_camera, cam_id, ok=f"Camera {cam_id} deleted.")


def _map_clicked() -> None:
    """A click on the map (stored under "plan_map" by the map, or by a test), handled once: add a
    camera, move the selected one, or say where the planner clicked."""
    ss = st.session_state
    clicked = (ss.get("plan_map") or {}).get("last_clicked")
    if not clicked or clicked == ss.get("last_click_done"):
        return
    ss["last_click_done"] = clicked
    lat, lon = float(clicked["lat"]), float(clicked["lng"])
    mode = ss.get("click_mode", CLICK_MODES[0])
    plan = ui.current_plan()
    if mode == CLICK_MODES[0]:
        ss["camera_msg"] = (
            "info",
            f"You clicked {lat:.6f}, {lon:.6f}. Choose 'Add a camera' to place one there.",
        )
        return
    try:
        scenario = plan.scenario()
        site = ui.site_of(scenario)
        if mode == CLICK_MODES[1]:
            cam = cameras.camera_at(site, lat, lon, existing_ids=cameras.camera_ids(plan.doc))
            plan.doc = cameras.add_camera(plan.doc, cam)
            ss[f"{W}camera"] = cam["id"]
            note = cameras.placement_note(site, cam, min_ied_px=scenario.capture.min_ied_px)
            ss["camera_msg"] = ("success", f"Camera {cam['id']} added, {note}.")
            return
        sel = ss.get(f"{W}camera")
        if sel in cameras.camera_ids(plan.doc):
            _edit_plan(cameras.move_camera, sel, lat, lon, site, ok=f"Camera {sel} moved.")
    except TwinError as exc:
        ss["camera_msg"] = ("error", str(exc))


# -- page -----------------------------------------------------------------------------------------


def _suggest_section(plan: ui.Plan, scenario: Any) -> None:
    """ "Suggest placement" (issue 10): run the optimiser for this site, show its vans beside the plan's
    own, and apply them only when asked. Self-contained: it reads the plan and writes only ``plan.doc``."""
    from twin.app import suggest

    with st.expander("Suggest placement", expanded="suggestion" in st.session_state):
        n = suggest.vans_in(scenario)
        st.caption(
            "Scores candidate van positions every 5 m along the footways on one simulated crowd of this "
            f"plan's window and chooses {n} van(s) (two cameras each) for the most expected true alerts, "
            "with every route passing a notice sign before a recognition zone. Nothing changes until you "
            "apply it."
        )
        if st.button("Suggest placement", key="suggest_run"):
            with st.spinner("Optimising the placement…"):
                try:
                    st.session_state["suggestion"] = (
                        suggest.suggest_placement(scenario, vans=n),
                        plan.source,
                    )
                except TwinError as exc:
                    ui.show_error(exc)
        got = st.session_state.get("suggestion")
        if not got or got[1] != plan.source:
            return
        sug = got[0]
        a, b = st.columns(2)
        a.metric("Current plan", f"{sug.own_true_alerts_per_h:.2f} true alerts/h")
        a.caption(
            f"{len(plan.doc.get('cameras', []))} cameras; {sug.own_false_alerts_per_h:.2f} false alerts/h"
        )
        b.metric("Suggested", f"{sug.true_alerts_per_h:.2f} true alerts/h", f"x{sug.gain:.2f}")
        b.caption(f"{len(sug.cameras)} cameras; {sug.false_alerts_per_h:.2f} false alerts/h")
        st.dataframe(sug.vans, hide_index=True, width="stretch")
        st.caption(
            f"{sug.note}; {sug.elapsed_s:.0f} s. Expected figures of the optimiser's model, one crowd."
        )
        if st.button("Apply suggestion", key="suggest_apply", type="primary"):
            plan.doc = suggest.apply_suggestion(plan.doc, sug)
            st.session_state.pop("suggestion", None)
            msg = f"Suggested placement applied: {len(sug.cameras)} cameras."
            st.session_state["camera_msg"] = ("success", msg)
            st.rerun()


plan = ui.current_plan()
_map_clicked()  # a click not handled by the map's callback yet (a test's): before any widget is drawn
plan = ui.current_plan()
_sync_widgets(plan, force=False)
ids = cameras.camera_ids(plan.doc)
if st.session_state.get(f"{W}camera") not in ids:
    st.session_state[f"{W}camera"] = ids[0] if ids else None
files = ui.scenario_files(str(ui.paths().scenarios))
labels = {f.path.name: f.label for f in files}
if plan.source not in labels:
    labels = {plan.source: f"Uploaded: {plan.source}", **labels}
if st.session_state.get("site_choice") not in labels:
    st.session_state["site_choice"] = plan.source

with st.sidebar:
    st.subheader("Site and plan")
    st.selectbox(
        "Start from a site",
        list(labels),
        format_func=labels.get,
        key="site_choice",
        on_change=_load_site,
        help="Each site is a scenario file in scenarios/ (real OpenStreetMap geometry; Croydon approximate). "
        "Loading one replaces the current plan.",
    )
    st.file_uploader(
        "Load a saved plan (.yaml)",
        type=["yaml", "yml"],
        key="upload_plan",
        on_change=_load_upload,
        help="A scenario YAML saved with 'Save this plan' or from scenarios/; checked before it is used.",
    )
    if st.session_state.get("upload_error"):
        st.error(st.session_state["upload_error"], icon=":material/error:")
    save_slot = st.container()  # filled once the plan is validated (below)

    st.subheader("Time and crowd")
    c1, c2 = st.columns(2)
    start = c1.selectbox(
        "Window starts",
        plans.time_options(st.session_state[f"{W}start"]),
        key=f"{W}start",
        help="Local clock time the deployment starts.",
    )
    duration = c2.number_input(
        "Hours",
        *(int(v) for v in plans.control_range("duration_h", st.session_state[f"{W}duration"])),
        step=1,
        key=f"{W}duration",
        help="Length of the window. One hour is immediate; each extra hour adds "
        "about 1.5 s per replication to simulate.",
    )
    scale = st.slider(
        "Footfall, × the site's usual",
        *plans.control_range("footfall_scale", st.session_state[f"{W}scale"]),
        step=0.05,
        key=f"{W}scale",
        help="Multiplies the site's hourly footfall (the map's daily count spread by a London "
        "high-street profile). 0.5 for a quiet day, 1.5 for an event.",
    )

    st.subheader("Watchlist and alerts")
    size = st.number_input(
        "Watchlist size, entries",
        1,
        MAX_WATCHLIST_SIZE,
        step=500,
        key=f"{W}size",
        help="People on the watchlist. More entries: more chances of a false match (FPIR = 1 − (1 − FMR)^N).",
    )
    per100k = st.number_input(
        "Watchlisted passers-by per 100,000",
        0.0,
        100_000.0,
        step=1.0,
        format="%.1f",
        key=f"{W}prev",
        help="How many passers-by are on the watchlist (an assumption). The Met's Oxford "
        "Circus record of Feb 2020 suggests about 13 per 100,000.",
    )
    threshold = st.slider(
        "Alert threshold (score)",
        *plans.control_range("threshold", st.session_state[f"{W}threshold"]),
        step=0.005,
        format="%.3f",
        key=f"{W}threshold",
        help="An alert is raised when the top candidate scores at or above this. Higher: fewer "
        "false alerts and fewer true alerts. NPL 2023 tested 0.60 and 0.64 (NeoFace-like scale).",
    )
    ops_fields = plans.operations_fields()
    ops_values: dict[str, float] = {}
    st.subheader("Operations")
    if ops_fields:
        for name, (_typ, _default, desc) in ops_fields.items():
            label, lo = plans.OPS_LABELS.get(name, (name.replace("_", " ").capitalize(), 0))
            ops_values[name] = float(
                st.number_input(
                    label,
                    lo,
                    200,
                    step=1,
                    key=f"{W}ops_{name}",
                    help=(desc[:1].upper() + desc[1:]) if desc else None,
                )
            )
        st.caption(
            "Other operations settings (review time, dispatch, stop durations) are in the scenario YAML."
        )
    else:
        st.caption("This scenario has no operations settings; officers and operator review are not modelled.")

    with st.expander("Simulation settings"):
        seed = st.number_input(
            "Seed",
            0,
            MAX_SEED,
            step=1,
            key=f"{W}seed",
            help="Root seed: the same seed and plan give the same numbers, here and with `twin run`.",
        )
        reps = st.slider(
            "Replications",
            *(int(v) for v in plans.control_range("replications", st.session_state[f"{W}reps"])),
            step=1,
            key=f"{W}reps",
            help="Independent runs of the crowd. More: steadier 95% predictive intervals, slower.",
        )
        tile_url = st.text_input(
            "Tile server URL (optional)",
            key="tile_url",
            placeholder="http://localhost:8080/{z}/{x}/{y}.png",
            help="An XYZ tile server on your network. Blank: the site's OpenStreetMap streets are "
            "drawn instead (works with no network).",
        )

plan.settings = plans.PlanSettings(
    start=start,
    duration_h=int(duration),
    footfall_scale=float(scale),
    watchlist_size=int(size),
    prevalence=float(per100k) / 1e5,
    prevalence_dispersion=plan.settings.prevalence_dispersion,  # the spread across deployments is kept
    threshold=float(threshold),
    seed=int(seed),
    replications=int(reps),
    operations=tuple(ops_values.items()),
)

st.title("Plan an LFR deployment")
scenario = ui.guarded(plan.scenario)
st.caption(
    f"**{scenario.name}** · window {scenario.time.start} for {plan.settings.duration_h} h · "
    f"{len(scenario.cameras)} cameras · watchlist {plan.settings.watchlist_size:,} · threshold "
    f"{plan.settings.threshold:.3f}. "
    "Figures are means over replications with their 95% predictive interval (PI): the range one deployment's "
    "count should fall in."
)
site = ui.guarded(ui.site_of, scenario)
plan_cameras = ui.guarded(ui.plan_cameras, scenario, site)

with save_slot:
    plan_file = plans.plan_file_name(plan.doc)
    st.download_button(
        "Save this plan (.yaml)",
        plans.plan_yaml(plan.full_doc(), file_name=plan_file),
        file_name=plan_file,
        mime="application/x-yaml",
        icon=":material/download:",
        help="The plan as a scenario file, with seed and replications: `twin run` on it reproduces "
        "every number on this page.",
        width="stretch",
    )

col_map, col_res = st.columns([3, 2], gap="medium")
result: Any = None
result_error: TwinError | None = None
try:
    job = ui.result_job(scenario)
except TwinError as exc:
    job, result_error = None, exc
if job is not None and job.quick:  # cached, or the kept crowd in front of the edited cameras: ~1 s
    with col_res:
        try:
            result = job.run()
        except TwinError as exc:
            result_error = exc

with col_map:
    tiles = None
    try:
        tiles = plans.check_tile_url(st.session_state.get("tile_url"))
    except TwinError as exc:
        ui.show_error(exc)
    if tiles:
        problem = ui.tile_problem(tiles, site)
        if problem:
            st.warning(
                f"Map tiles: {problem}. The site's OpenStreetMap streets are drawn without them; check the "
                "tile server or clear the URL under Simulation settings.",
                icon=":material/cloud_off:",
            )
    heat_drawn = result is not None
    ui.guarded(
        ui.draw_map,
        key="plan_map",
        site=site,
        cameras=plan_cameras,
        min_ied_px=scenario.capture.min_ied_px,
        heat_xy=maplayers.heat_points(result.tracks) if result is not None else None,
        tile_url=tiles,
        on_click=_map_clicked,
    )
    st.caption(
        "Camera views are coloured by DORI level (IEC 62676-4: identify ≥ 250 px/m … detect ≥ 25 px/m); "
        f"the blue outline is where faces reach {scenario.capture.min_ied_px:g} px between the eyes; a "
        "dashed outline continues a view beyond the top of the image. The heat layer shows where usable "
        "faces were captured (replication 1). Purple lines: walking routes; yellow squares: LFR notice signs."
    )

    st.markdown("**Cameras**")
    c1, c2 = st.columns([3, 2])
    mode = c1.radio(
        "When I click the map",
        CLICK_MODES,
        key="click_mode",
        horizontal=True,
        help="Add: a new camera where you click, facing the walkers on the nearest route. "
        "Move: the selected camera goes where you click, keeping its direction.",
    )
    sel = c2.selectbox("Selected camera", ids, key=f"{W}camera")

    msg = st.session_state.get("camera_msg")
    if msg:
        {"success": st.success, "error": st.error, "info": st.info}[msg[0]](msg[1])

    if sel:
        cam_doc = cameras.camera_by_id(plan.doc, sel)
        rev = cameras.camera_revision(cam_doc)
        values = cameras.camera_form_values(cam_doc)
        with st.form(f"cam_form_{sel}_{rev}", border=True):
            fields = cameras.CAMERA_FORM_FIELDS
            for col, f in zip(st.columns(len(fields)), fields, strict=True):
                col.number_input(
                    f.label,
                    *f.range_for(values[f.key]),
                    value=values[f.key],
                    step=f.step,
                    format=f.fmt,
                    key=_form_key(sel, rev, f.key),
                    help=f.help,
                )
            b1, b2 = st.columns([1, 1])
            b1.form_submit_button(
                f"Apply to {sel}", on_click=_apply_camera, args=(sel, rev), type="primary", width="stretch"
            )
            b2.form_submit_button(f"Delete {sel}", on_click=_delete_camera, args=(sel, rev), width="stretch")
    with st.expander(f"All {len(ids)} cameras"):
        st.dataframe(pd.DataFrame(plan.doc["cameras"]), hide_index=True, width="stretch")
    _suggest_section(plan, scenario)

with col_res:
    st.subheader("Expected per hour")
    if result is None and result_error is None and job is not None:
        try:
            result = job.run()  # a new crowd: the progress bar stands where the figures will be
        except TwinError as exc:
            result_error = exc
    if result_error is not None:
        ui.show_error(result_error)
        st.stop()
    summary = ui.guarded(ui.scored_summary, result, scenario)
    breaches = views.deployment_breaches(scenario, summary, result.context)
    if breaches:
        st.error(
            f"**This plan breaches {len(breaches)} of the deployment's own limits** (the deployment record "
            "lists them first):\n" + "\n".join(f"- {views.breach_text(b)}" for b in breaches),
            icon=":material/gpp_bad:",
        )
    elif scenario.governance is None:
        st.caption("No governance block: the deployment record's policy checks need one (see `twin schema`).")
    figures = views.headline_figures(summary)
    r1, r2, r3 = st.columns(2), st.columns(2), st.columns(2)
    for col, figure in zip([*r1, *r2, r3[0]], figures, strict=True):
        ui.headline(col, figure)
    ops = views.operations_rows(summary)
    if ops is None:
        r3[1].metric("Officers needed", "n/a", help="Needs the operations model (twin/sim/operations.py).")
        r3[1].caption("no operations figures in this run")
    else:
        target = f"{ops.target_share:.0%} of true alerts engaged" if ops.target_share else "the target share"
        r3[1].metric(
            "Officers needed",
            ops.officers_short,
            help=f"Smallest number of intercept officers that engages {target} (operations model). "
            + (ops.note or ""),
        )
        r3[1].caption(
            f"for {target}" if ops.officers_needed is not None else (ops.note or "target not reached")
        )

    st.caption(
        views.fpir_caption(
            summary, threshold=plan.settings.threshold, watchlist_size=plan.settings.watchlist_size
        )
    )
    for w in views.run_warnings(summary):
        st.warning(w)

    st.markdown("**Alerts per hour** (mean; bars show the 95% PI)")
    hf = views.hourly_frame(summary, plan.settings.start_hour)
    colours = alt.Scale(domain=["True alerts", "False alerts"], range=["#2e7d32", "#c62828"])
    base = alt.Chart(hf).encode(
        x=alt.X("hour:N", title="Hour starting", sort=alt.SortField("order"), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("series:N", sort=["True alerts", "False alerts"]),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("mean:Q", title="Alerts in the hour"),
        color=alt.Color("series:N", scale=colours, legend=alt.Legend(title=None, orient="top")),
        tooltip=[
            alt.Tooltip("hour:N", title="Hour"),
            alt.Tooltip("series:N", title="What"),
            alt.Tooltip("mean:Q", title="Mean", format=".2f"),
            alt.Tooltip("lo:Q", title="95% PI from", format=".1f"),
            alt.Tooltip("hi:Q", title="95% PI to", format=".1f"),
        ],
    )
    rules = base.mark_rule(color="#424242").encode(y="lo:Q", y2="hi:Q")
    st.altair_chart((bars + rules).properties(height=210), width="stretch")

    with st.expander("All figures", expanded=False):
        st.dataframe(
            views.result_table(summary),
            hide_index=True,
            width="stretch",
            column_config={"Metric": st.column_config.TextColumn(width="medium")},
        )
        if ops and ops.rows:
            st.dataframe(
                pd.DataFrame(ops.rows, columns=["Operations", "Expected (95% PI)"]),
                hide_index=True,
                width="stretch",
                column_config={"Operations": st.column_config.TextColumn(width="medium")},
            )
    how = (
        "placed the kept crowd in front of the edited cameras"
        if result.timings.get("recaptured")
        else "simulated"
    )
    st.caption(
        f"For this plan: {len(scenario.cameras)} cameras, threshold {plan.settings.threshold:.3f}, footfall "
        f"×{plan.settings.footfall_scale:.2f}, {plan.settings.replications} replications of "
        f"{plan.settings.duration_h} h. Reproduce: save this plan and run `twin run {plan_file}` (seed "
        f"{plan.settings.seed}): the same numbers. {how.capitalize()} in "
        f"{result.timings.get('simulate_s', 0):.1f} s; threshold, watchlist size and prevalence re-score the "
        f"stored captures, and camera edits keep the crowd. Engine {views.engine_id(summary)}."
    )

if not heat_drawn:  # the map was drawn before the run: once more, now with the capture heat
    st.rerun()
