"""Record: a preview of the deployment record for the current plan (what the plan already determines)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from twin.app import ui, views

plan = ui.current_plan()
ui.plan_sidebar_caption(plan)

st.title("Deployment record — preview")
st.info(
    "This preview shows what the current plan already determines. The full deployment record ("
    "authorisation, legal tests, bias checks, signage coverage, the audit log) is "
    "written from a run folder by `twin record RUN_FOLDER`: save the plan on the Plan page, run `twin run` "
    "on it, then `twin record` on the run folder. The app itself writes no run folders.",
    icon=":material/info:",
)

scenario = ui.guarded(plan.scenario)
result = ui.guarded(ui.get_result, scenario)
summary = ui.guarded(ui.scored_summary, result, scenario)
prev = views.record_preview(scenario, summary, result.context.site)

breaches = [c for c in prev.checks if c[1] == "breach"]
if breaches:
    st.error(
        "**Breaches of the force's own limits**\n\n" + "\n".join(f"- {r}: {d}" for r, _, d in breaches),
        icon=":material/gpp_bad:",
    )

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("The plan and what it is expected to do")
    st.table(pd.DataFrame(prev.rows, columns=["Field", "Value"]).set_index("Field"))
    st.caption(
        "Expected figures: mean over replications (95% predictive interval), same seed as the Plan page."
    )
with right:
    st.subheader("Governance")
    if prev.governance:
        st.table(pd.DataFrame(prev.governance, columns=["Field", "Value"]).set_index("Field"))
    else:
        st.warning(
            "This plan has no governance block. A deployment record needs one: operation, purpose, "
            "intelligence case, less intrusive means, authorising officer role, authorised start and end, "
            "watchlist composition, signage plan, DPIA reference (see `twin schema`)."
        )
    if prev.checks:
        st.subheader("Checks against the force's limits")
        marks = {"ok": "OK", "breach": "BREACH", "n/a": "no limit"}
        checks = pd.DataFrame(
            [(r, marks[s], d) for r, s, d in prev.checks], columns=["Rule", "Result", "Detail"]
        )
        st.table(
            checks.set_index("Rule").style.map(
                lambda v: (
                    "color:#b71c1c;font-weight:600"
                    if v == "BREACH"
                    else ("color:#1b5e20" if v == "OK" else "")
                ),
                subset=["Result"],
            )
        )

md = "\n".join(
    [
        f"# Deployment record preview: {scenario.name}",
        "",
        "Preview from the twin app; the full record is written by `twin record RUN_FOLDER`.",
        "",
        "| Field | Value |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in prev.rows + prev.governance],
        "",
        *(
            [
                "| Rule | Result | Detail |",
                "|---|---|---|",
                *[f"| {a} | {b} | {c} |" for a, b, c in prev.checks],
            ]
            if prev.checks
            else []
        ),
    ]
)
st.download_button(
    "Download this preview (.md)",
    md,
    file_name="record_preview.md",
    mime="text/markdown",
    icon=":material/download:",
)
