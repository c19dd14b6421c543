"""Compare: 2–4 plans or variants side by side, with 95% predictive intervals."""

from __future__ import annotations

import altair as alt
import streamlit as st

from twin.app import plan as planning
from twin.app import ui
from twin.errors import TwinError

CURRENT = "Current plan"

plan = ui.current_plan()
ui.plan_sidebar_caption(plan)
s = plan.settings

st.title("Compare plans")
st.caption(
    f"Each variant runs in the current plan's window ({s.start} for {s.duration_h} h) with seed {s.seed} and "
    f"{s.replications} replications, so differences come from the plans, not the window. Variants of the same plan "
    "that differ only in threshold or watchlist size re-score the same simulated crowd."
)

files = planning.list_scenarios(ui.SCENARIOS)
labels = {CURRENT: f"{CURRENT} ({plan.doc.get('name', plan.source)})", **{f.path.name: f.label for f in files}}
n = st.radio("How many variants", [2, 3, 4], horizontal=True, key="cmp_n")

variants = []
cols = st.columns(n)
for i, col in enumerate(cols):
    letter = chr(ord("A") + i)
    with col.container(border=True):
        src = st.selectbox(f"Variant {letter}", list(labels), format_func=labels.get, key=f"cmp_src_{i}",
                           help="The current plan (with your cameras and settings) or a site's scenario file.")
        if src == CURRENT:
            doc = plan.doc
            d_threshold, d_size = s.threshold, s.watchlist_size
            scale, prevalence = s.footfall_scale, s.prevalence
            ops = s.operations
        else:
            try:
                doc = planning.load_plan(ui.SCENARIOS / src)
            except TwinError as exc:
                ui.show_error(exc)
                continue
            fs = planning.settings_from_doc(doc)
            d_threshold, d_size, scale, prevalence, ops = (fs.threshold, fs.watchlist_size, fs.footfall_scale,
                                                           fs.prevalence, fs.operations)
        if i == 1 and src == CURRENT:
            d_threshold = min(0.8, round(s.threshold + 0.04, 3))  # a first useful comparison: a stricter threshold
        thr = st.number_input("Alert threshold", 0.5, 0.8, float(d_threshold), 0.005, format="%.3f", key=f"cmp_thr_{i}_{src}",
                              help="NeoFace-like score; NPL 2023 tested 0.60 and 0.64.")
        size = st.number_input("Watchlist size, entries", 1, 10_000_000, int(d_size), 500, key=f"cmp_size_{i}_{src}")
        settings = planning.PlanSettings(start=s.start, duration_h=s.duration_h, footfall_scale=scale,
                                         watchlist_size=int(size), prevalence=prevalence, threshold=float(thr),
                                         seed=s.seed, replications=s.replications, operations=ops)
        name = doc.get("name", src) if src != CURRENT else "current plan"
        variants.append((f"{letter}: {name}, t={thr:.3f}, N={int(size):,}", doc, settings, src))

plan_file = planning.plan_file_name(plan.doc)

columns = []
for label, doc, settings, src in variants:
    try:
        sc = planning.to_scenario(planning.apply_settings(doc, settings), ui.SCENARIOS, source=src)
        res = ui.get_result(sc, what=label.split(":")[0])
        columns.append((label, ui.scored_summary(res, sc)))
    except TwinError as exc:
        ui.show_error(exc)

if len(columns) >= 2:
    st.subheader("Expected figures, mean (95% PI lo–hi)")
    table = planning.compare_table(columns)
    st.dataframe(table, width="stretch", height=35 * (len(table) + 1) + 3)

    st.subheader("Per hour, with 95% predictive intervals")
    df = planning.compare_frame(columns, metrics=(
        ("Faces scanned /h", "per_hour_rate", "faces_scanned"),
        ("True alerts /h", "per_hour_rate", "true_alerts"),
        ("False alerts /h", "per_hour_rate", "false_alerts"),
    ))
    df["letter"] = df["variant"].str.split(":").str[0]
    bars = alt.Chart().mark_bar().encode(
        x=alt.X("letter:N", title="Variant", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("mean:Q", title="Mean"),
        color=alt.Color("letter:N", legend=None, scale=alt.Scale(scheme="tableau10")),
        tooltip=[alt.Tooltip("variant:N", title="Variant"), alt.Tooltip("mean:Q", title="Mean", format=",.2f"),
                 alt.Tooltip("lo:Q", title="95% PI from", format=",.2f"), alt.Tooltip("hi:Q", title="95% PI to", format=",.2f")],
    )
    rules = alt.Chart().mark_rule(color="#424242").encode(x="letter:N", y="lo:Q", y2="hi:Q")
    chart = (alt.layer(bars, rules, data=df).properties(width=220, height=220)
             .facet(column=alt.Column("metric:N", title=None, sort=["Faces scanned /h", "True alerts /h", "False alerts /h"]))
             .resolve_scale(y="independent"))
    st.altair_chart(chart)
    st.caption("Bars: mean over replications; lines: 95% predictive interval. " + " · ".join(c[0] for c in columns))

    with st.expander("Reproduce these numbers with the CLI"):
        lines = []
        for label, doc, settings, src in variants:
            wanted = planning.apply_settings(doc, settings)
            if src == CURRENT:
                cmd = planning.run_command(plan_file, plan.full_doc(), wanted)
            else:
                cmd = planning.run_command(f"scenarios/{src}", doc, wanted)
            lines.append(f"# {label}\n{cmd}")
        st.code("\n".join(lines), language="bash")
        st.caption(f"The current plan is the file 'Save this plan' writes on the Plan page ({plan_file}, kept in scenarios/). "
                   "Each command prints the same means and 95% PIs as its column.")
