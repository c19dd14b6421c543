"""Compare: 2–4 plans or variants side by side, with 95% predictive intervals."""

from __future__ import annotations

import altair as alt
import streamlit as st

from twin.app import comparison, ui
from twin.app import plan as plans
from twin.app.ui import TwinError

CURRENT = "Current plan"

plan = ui.current_plan()
ui.plan_sidebar_caption(plan)
s = plan.settings

st.title("Compare plans")
st.caption(
    f"Each variant runs in the current plan's window ({s.start} for {s.duration_h} h) with seed {s.seed} and "
    f"{s.replications} replications, so differences come from the plans, not the window. Variants of the "
    "same plan "
    "that differ only in threshold or watchlist size re-score the same simulated crowd."
)

scenarios_dir = ui.paths().scenarios
files = plans.list_scenarios(scenarios_dir)
labels = {
    CURRENT: f"{CURRENT} ({plan.doc.get('name', plan.source)})",
    **{f.path.name: f.label for f in files},
}
n = st.radio("How many variants", [2, 3, 4], horizontal=True, key="cmp_n")

variants = []
cols = st.columns(n)
for i, col in enumerate(cols):
    letter = chr(ord("A") + i)
    with col.container(border=True):
        src = st.selectbox(
            f"Variant {letter}",
            list(labels),
            format_func=labels.get,
            key=f"cmp_src_{i}",
            help="The current plan (with your cameras and settings) or a site's scenario file.",
        )
        if src == CURRENT:
            doc = plan.doc
            start = plans.variant_start(s, i)
        else:
            try:
                doc = plans.load_plan(scenarios_dir / src)
            except TwinError as exc:
                ui.show_error(exc)
                continue
            start = plans.variant_start(s, i, plans.settings_from_doc(doc))
        thr = st.number_input(
            "Alert threshold",
            *plans.control_range("threshold", float(start.threshold)),
            float(start.threshold),
            0.005,
            format="%.3f",
            key=f"cmp_thr_{i}_{src}",
            help="NeoFace-like score; NPL 2023 tested 0.60 and 0.64.",
        )
        size = st.number_input(
            "Watchlist size, entries",
            1,
            ui.MAX_WATCHLIST_SIZE,
            int(start.watchlist_size),
            500,
            key=f"cmp_size_{i}_{src}",
        )
        settings = start.with_watchlist(threshold=thr, size=size)
        name = plans.site_label(doc.get("name", src)) if src != CURRENT else "current plan"
        variants.append((f"{letter}: {name}", doc, settings, src))

plan_file = plans.plan_file_name(plan.doc)

columns = []
for label, doc, settings, src in variants:
    try:
        sc = plans.to_scenario(plans.apply_settings(doc, settings), scenarios_dir, source=src)
        res = ui.get_result(sc, what=label.split(":")[0])
        columns.append((label, ui.scored_summary(res, sc)))
    except TwinError as exc:
        ui.show_error(exc)

if len(columns) >= 2:
    st.subheader("Expected figures, mean (95% PI lo–hi)")
    table = comparison.compare_table(columns)
    st.dataframe(
        table,
        width="stretch",
        height=35 * (len(table) + 1) + 3,
        column_config={"_index": st.column_config.TextColumn("Metric", width="large")},
    )

    st.subheader("Per hour, with 95% predictive intervals")
    df = comparison.compare_frame(columns, metrics=comparison.COMPARE_CHART_METRICS)
    df["letter"] = df["variant"].str.split(":").str[0]
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("letter:N", title="Variant", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean:Q", title="Mean"),
            color=alt.Color("letter:N", legend=None, scale=alt.Scale(scheme="tableau10")),
            tooltip=[
                alt.Tooltip("variant:N", title="Variant"),
                alt.Tooltip("mean:Q", title="Mean", format=",.2f"),
                alt.Tooltip("lo:Q", title="95% PI from", format=",.2f"),
                alt.Tooltip("hi:Q", title="95% PI to", format=",.2f"),
            ],
        )
    )
    rules = alt.Chart().mark_rule(color="#424242").encode(x="letter:N", y="lo:Q", y2="hi:Q")
    chart = (
        alt.layer(bars, rules, data=df)
        .properties(width=220, height=220)
        .facet(
            column=alt.Column(
                "metric:N", title=None, sort=[label for label, _ in comparison.COMPARE_CHART_METRICS]
            )
        )
        .resolve_scale(y="independent")
    )
    st.altair_chart(chart)
    st.caption(
        "Bars: mean over replications; lines: 95% predictive interval. " + " · ".join(c[0] for c in columns)
    )

    with st.expander("Reproduce these numbers with the CLI"):
        lines = []
        for label, doc, settings, src in variants:
            wanted = plans.apply_settings(doc, settings)
            if src == CURRENT:
                cmd = plans.run_command(plan_file, plan.full_doc(), wanted)
            else:
                cmd = plans.run_command(f"scenarios/{src}", doc, wanted)
            lines.append(f"# {label}\n{cmd}")
        st.code("\n".join(lines), language="bash")
        st.caption(
            f"The current plan is the file 'Save this plan' writes on the Plan page ({plan_file}, kept "
            "in scenarios/). "
            "Each command prints the same means and 95% PIs as its column."
        )
