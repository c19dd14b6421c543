"""What the Compare page shows, computed without the browser: variants side by side and long-form frames
for its charts, each figure as :mod:`twin.app.views` prints it ("mean (95% PI lo–hi)")."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from twin.app import intervals
from twin.app.views import SummaryLike, operations_rows
from twin.scoring.metric_table import APP_OPERATIONS_ROWS, APP_ROWS, Band
from twin.scoring.summary import RunSummary

__all__ = ["COMPARE_CHART_METRICS", "compare_frame", "compare_table"]


def compare_table(columns: Sequence[tuple[str, SummaryLike]]) -> pd.DataFrame:
    """Metrics (rows) × variants (columns), each cell "mean (95% PI lo–hi)"; units in the row label. The
    first rows say what each variant was scored with (threshold, watchlist size), so the column headers
    can stay short."""
    summaries = [(name, RunSummary.coerce(summ)) for name, summ in columns]
    data: dict[str, list[str]] = {name: [] for name, _ in summaries}
    index = ["Alert threshold (score)", "Watchlist size (entries)"]
    for name, summ in summaries:
        sw = summ.scored_with
        data[name].append(f"{sw.threshold:.3f}" if sw is not None and sw.threshold is not None else "–")
        data[name].append(
            f"{sw.watchlist_size:,}" if sw is not None and sw.watchlist_size is not None else "–"
        )
    for m in APP_ROWS:
        index.append(f"{m.app_label} ({m.unit})")
        for name, summ in summaries:
            data.setdefault(name, []).append(intervals.figure_text(summ, m))
    views = [operations_rows(summ) for _, summ in summaries]
    if any(v is not None for v in views):
        target = next((v.target_share for v in views if v is not None and v.target_share), None)
        index.append(
            f"Officers needed (for {target:.0%} of true alerts engaged)" if target else "Officers needed"
        )
        for (name, _), v in zip(summaries, views, strict=True):
            data[name].append("–" if v is None else v.officers_text)
        for m in APP_OPERATIONS_ROWS[:2]:
            index.append(f"{m.app_label} ({m.unit})")
            for (name, _), v in zip(summaries, views, strict=True):
                data[name].append(
                    dict(v.rows).get(m.app_label, "–").replace(f" {m.unit}", "") if v is not None else "–"
                )
    return pd.DataFrame(data, index=pd.Index(index, name="Metric"))


#: The Compare page's charts: (facet label, metric id).
COMPARE_CHART_METRICS: tuple[tuple[str, str], ...] = (
    ("Faces scanned /h", "per_hour_rate.faces_scanned"),
    ("True alerts /h", "per_hour_rate.true_alerts"),
    ("False alerts /h", "per_hour_rate.false_alerts"),
)


def compare_frame(
    columns: Sequence[tuple[str, SummaryLike]], metrics: Sequence[tuple[str, str]] = COMPARE_CHART_METRICS[1:]
) -> pd.DataFrame:
    """Long form for charts: variant, metric (its facet label), mean, lo, hi."""
    rows = []
    for name, summ in columns:
        s = RunSummary.coerce(summ)
        for label, metric_id in metrics:
            b = s.band(metric_id) or Band(mean=None, p2_5=None, p97_5=None)
            rows.append(
                {
                    "variant": name,
                    "metric": label,
                    "mean": b.mean or 0.0,
                    "lo": b.p2_5 or 0.0,
                    "hi": b.p97_5 or 0.0,
                }
            )
    return pd.DataFrame(rows, columns=["variant", "metric", "mean", "lo", "hi"])
