"""Scenarios side by side: mean and 95% predictive interval per metric, a CSV/JSON table and an HTML page.

``twin compare A.yaml B.yaml [C.yaml ...]`` runs each scenario with the same number of
replications and writes a comparison folder. Variants of a scenario are given as overrides:
every ``--set "key.path=value [key.path=value ...]"`` adds one variant of *each* scenario (several
``key=value`` pairs in one ``--set`` form one variant); ``--set-all key.path=value`` changes every
scenario and variant alike (e.g. a shorter window). A variant that differs from its scenario only in
``watchlist`` or ``operations`` keys reuses the scenario's simulated crowd and is re-scored
(:meth:`twin.sim.run.RunResult.rescore`): same seed, same passers-by, so the difference between
the two columns is the setting alone (common random numbers).

The folder (``comparisons/<name>/``) holds ``comparison.csv`` (one row per variant x metric),
``comparison.json`` (the same plus every variant's full summary; deterministic: same inputs, same
bytes) and ``comparison.html`` (self-contained: inline CSS and SVG, no script, no CDN). It is
written atomically into a temporary folder and renamed; an existing folder is never replaced.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twin.errors import ScenarioError
from twin.files import csv_cell, dumps_json
from twin.outputs.charts import PALETTE, Series, bar_chart_svg, line_chart_svg
from twin.outputs.folders import atomic_folder
from twin.scenario.load import load_scenario, scenario_hash
from twin.scenario.specs import Scenario
from twin.scoring.metric_table import COMPARE_ROWS, fmt_band
from twin.scoring.summary import OfficersNeeded, RunSummary

__all__ = [
    "COMPARE_METRICS",
    "DEFAULT_REPLICATIONS",
    "MAX_COLUMNS",
    "Comparison",
    "Variant",
    "build_variants",
    "comparison_doc",
    "comparison_frame",
    "render_comparison",
    "run_comparison",
    "split_overrides",
    "write_comparison",
]

#: Replications per scenario unless given: enough for a first look, small enough that two
#: London scenarios compare in well under a minute on 2 cores. Use more for decisions.
DEFAULT_REPLICATIONS = 4
#: Most columns in one comparison: the page is read side by side (its palette has 8 colours, used
#: twice at most), and every column's run is held in memory until the page is written.
MAX_COLUMNS = 16

#: The compared metrics, in display order (:data:`twin.scoring.metric_table.COMPARE_ROWS`).
COMPARE_METRICS = COMPARE_ROWS
_PAIR = re.compile(r"\s+(?=[A-Za-z_][\w.\-]*=)")


def split_overrides(text: str) -> list[str]:
    """Split one ``--set`` value into its ``key.path=value`` pairs (separated by spaces).

    A value may itself contain spaces (a YAML list) as long as no word after a space looks like
    ``key=``.

    >>> split_overrides("watchlist.threshold=0.64 operations.officers=6")
    ['watchlist.threshold=0.64', 'operations.officers=6']
    >>> split_overrides("site.route_weights={a: 1, b: 2}")
    ['site.route_weights={a: 1, b: 2}']
    """
    parts = [p.strip() for p in _PAIR.split(text.strip()) if p.strip()]
    for p in parts:
        if "=" not in p:
            raise ScenarioError(
                f"--set {text!r}: {p!r} must look like key.path=value, e.g. watchlist.threshold=0.64"
            )
    return parts


@dataclass(frozen=True)
class Variant:
    """One column of a comparison: a scenario file with overrides.

    Attributes:
        label: the column's name.
        path: the scenario YAML.
        overrides: this variant's own ``key.path=value`` overrides (empty for the scenario itself).
        common: overrides applied to every column (``--set-all``).
    """

    label: str
    path: Path
    overrides: tuple[str, ...] = ()
    common: tuple[str, ...] = ()


def build_variants(
    paths: Sequence[Path | str], sets: Sequence[str] = (), common: Sequence[str] = ()
) -> list[Variant]:
    """The columns: each scenario, then each ``--set`` variant of it.

    Raises:
        ScenarioError: fewer than two or more than :data:`MAX_COLUMNS` columns, or a malformed override.
    """
    if not paths:
        raise ScenarioError(
            "give at least one scenario file, e.g. twin compare scenarios/oxford_circus.yaml --set "
            "watchlist.threshold=0.64"
        )
    groups = [tuple(split_overrides(s)) for s in sets]
    com = tuple(p for c in common for p in split_overrides(c))
    out: list[Variant] = []
    for path in paths:
        path = Path(path)
        out.append(Variant(label="", path=path, common=com))
        out.extend(Variant(label="", path=path, overrides=g, common=com) for g in groups)
    if len(out) > MAX_COLUMNS:
        raise ScenarioError(
            f"{len(out)} columns ({len(paths)} scenario file(s) x {len(groups) + 1}) is more than the "
            f"{MAX_COLUMNS} one comparison shows side by side; split it into several comparisons"
        )
    if len(out) < 2:
        raise ScenarioError(
            "nothing to compare: give two or more scenario files, or one with a variant, e.g. "
            "twin compare scenarios/oxford_circus.yaml --set watchlist.threshold=0.64"
        )
    return out


@dataclass(kw_only=True)
class Comparison:
    """A finished comparison.

    Attributes:
        variants: the columns (labels filled in).
        scenarios: each column's validated scenario.
        summaries: each column's :class:`~twin.scoring.summary.RunSummary` (a re-scored column has no
        ``run``).
        meta: per column: file, overrides, seed, replications, scenario hash, crowd source.
        replications: per scenario.
        timings_s: wall-clock seconds per simulated crowd.
    """

    variants: list[Variant]
    scenarios: list[Scenario]
    summaries: list[RunSummary]
    meta: list[dict[str, Any]]
    replications: int
    timings_s: list[float] = field(default_factory=list)


def _labels(variants: list[Variant], scenarios: list[Scenario]) -> list[str]:
    labels = []
    for v, sc in zip(variants, scenarios, strict=True):
        base = sc.name
        labels.append(f"{base} · {' '.join(v.overrides)}" if v.overrides else base)
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def run_comparison(
    variants: list[Variant],
    *,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    """Run every column (crowds shared where only watchlist or operations settings differ).

    Args:
        variants: from :func:`build_variants`.
        replications: per scenario (>= 1).
        seed: root seed for every column (default: each scenario's own).
        workers, scheduler: as :func:`twin.sim.run.run` (None: every core for a big enough run).
        progress: called as ``progress(label, done_replications, total)``.

    Raises:
        ScenarioError: any invalid scenario or override (all are checked before anything runs);
            replications < 1.
    """
    from twin.sim.context import prepare
    from twin.sim.run import RunResult, crowd_key, run

    if replications < 1:
        raise ScenarioError(f"replications {replications} must be >= 1")
    if workers is not None and workers < 1:
        raise ScenarioError(f"workers {workers} must be >= 1")
    scenarios = [load_scenario(v.path, (*v.common, *v.overrides)) for v in variants]
    for sc in scenarios:  # fail fast: threshold range, cameras inside the area, site map
        prepare(sc)
    labels = _labels(variants, scenarios)
    variants = [Variant(lab, v.path, v.overrides, v.common) for lab, v in zip(labels, variants, strict=True)]
    cache: dict[str, tuple[RunResult, str]] = {}
    summaries: list[RunSummary] = []
    meta: list[dict[str, Any]] = []
    timings: list[float] = []
    for v, sc in zip(variants, scenarios, strict=True):
        s = sc.seed if seed is None else int(seed)
        key = crowd_key(sc, seed=s, replications=replications)
        if key in cache:
            res, source = cache[key]
            summ = res.rescore_as(sc)
        else:

            def cb(done: int, total: int, frac: float, label: str = v.label) -> None:
                if progress is not None:
                    progress(label, done, total)

            res = run(
                sc, seed=s, replications=replications, workers=workers, scheduler=scheduler, progress=cb
            )
            cache[key] = (res, v.label)
            source = v.label
            summ = res.summary
            timings.append(round(res.timings.get("simulate_s", 0.0), 3))
        summaries.append(summ)
        meta.append(_column_meta(v, sc, seed=s, replications=replications, crowd_from=source))
    return Comparison(
        variants=variants,
        scenarios=scenarios,
        summaries=summaries,
        meta=meta,
        replications=replications,
        timings_s=timings,
    )


def _column_meta(
    v: Variant, sc: Scenario, *, seed: int, replications: int, crowd_from: str
) -> dict[str, Any]:
    """What comparison.json says about one column: where it came from and whose crowd it scored."""
    return {
        "label": v.label,
        "scenario": sc.name,
        "file": str(v.path),
        "overrides": list(v.overrides),
        "common_overrides": list(v.common),
        "seed": seed,
        "replications": replications,
        "scenario_sha256": scenario_hash(sc),
        "crowd_from": crowd_from,
        "window": {"start": sc.time.start, "duration_s": sc.time.duration_s},
        "watchlist": sc.watchlist.model_dump(mode="json"),
        "officers": sc.operations.officers,
        "operators": sc.operations.operators,
    }


def _officers_needed(summ: RunSummary) -> OfficersNeeded:
    ops = summ.operations
    return ops.officers_needed if ops is not None and ops.officers_needed is not None else OfficersNeeded()


def comparison_frame(comp: Comparison) -> pd.DataFrame:
    """One row per column x metric: variant, metric, label, mean, p2_5, p97_5 (officers needed: mean only)."""
    rows = []
    for v, summ in zip(comp.variants, comp.summaries, strict=True):
        for m in COMPARE_ROWS:
            band = summ.band(m)
            if band is None:
                continue
            rows.append(
                {
                    "variant": v.label,
                    "metric": m.id,
                    "label": m.label,
                    "mean": band.mean,
                    "p2_5": band.p2_5,
                    "p97_5": band.p97_5,
                }
            )
        need = _officers_needed(summ)
        rows.append(
            {
                "variant": v.label,
                "metric": "operations.officers_needed",
                "label": f"Officers needed for {need.target_engaged_share or 0:.0%} of true alerts engaged",
                "mean": need.officers_needed,
                "p2_5": None,
                "p97_5": None,
            }
        )
    return pd.DataFrame(rows, columns=["variant", "metric", "label", "mean", "p2_5", "p97_5"])


def comparison_doc(comp: Comparison) -> dict[str, Any]:
    """The JSON document: columns, metric table and each column's full summary (no timestamps)."""
    frame = comparison_frame(comp)
    metrics = []
    for (metric, label), g in frame.groupby(["metric", "label"], sort=False):
        metrics.append(
            {
                "metric": metric,
                "label": label,
                "values": [
                    {"variant": r.variant, "mean": r.mean, "p2_5": r.p2_5, "p97_5": r.p97_5}
                    for r in g.itertuples()
                ],
            }
        )
    return {
        "interval": "95% predictive interval: 2.5th-97.5th percentiles over replications (Poisson noise "
        "included)",
        "replications": comp.replications,
        "variants": comp.meta,
        "metrics": json.loads(json.dumps(metrics, default=_nan_none)),
        "summaries": [
            {"label": v.label, "summary": s.to_json()}
            for v, s in zip(comp.variants, comp.summaries, strict=True)
        ],
    }


def _nan_none(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(type(x))


_CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Roboto,sans-serif;color:#212121;max-width:1200px;margin:24px \
auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid \
#ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid \
#eee;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}.muted{color:#757575;font-size:12px}.band{color:#757575;font-size:12px;display:block}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
@media print{body{margin:0}}
"""


def _hourly_series(comp: Comparison, colours: list[str]) -> tuple[list[Series], list[tuple[float, str]]]:
    series, xs = [], set()
    for v, sc, summ, c in zip(comp.variants, comp.scenarios, comp.summaries, colours, strict=True):
        bands = summ.hourly.get("alerts", ())
        h0 = sc.time.start_s / 3600
        x = [h0 + h for h in range(len(bands))]
        xs.update(x)
        series.append(
            Series(
                label=v.label,
                colour=c,
                x=x,
                y=[b.mean for b in bands],
                lo=[b.p2_5 for b in bands],
                hi=[b.p97_5 for b in bands],
            )
        )
    ticks = [(x, f"{int(x) % 24:02d}:{int(round((x % 1) * 60)):02d}") for x in sorted(xs)]
    return series, ticks


def _charts(comp: Comparison, colours: list[str], target: float) -> tuple[str, str, str, str]:
    """The comparison page's four charts: alerts per hour, officers needed, true vs false alerts, stops and
    arrests."""
    series, ticks = _hourly_series(comp, colours)
    hourly = line_chart_svg(
        series,
        title="alerts per hour over the day",
        x_label="clock hour (window start of each hour)",
        y_label="alerts in the hour",
        x_ticks=ticks,
        y_format="{:.2f}",
    )
    curves = []
    for v, summ, c in zip(comp.variants, comp.summaries, colours, strict=True):
        cur = _officers_needed(summ)
        curves.append(
            Series(
                label=v.label,
                colour=c,
                x=list(cur.officers),
                y=list(cur.engaged_true_share),
                marker=cur.officers_needed,
            )
        )
    officers = line_chart_svg(
        curves,
        title="officers needed",
        x_label="intercept officers",
        y_label="share of true alerts engaged",
        y_max=1.0,
        hline=(target, f"target {target:.0%}"),
        y_format="{:.2f}",
    )

    # per hour, so that windows of different lengths compare
    def per_hour(section: str, keys: tuple[str, ...], stat: str) -> list[list[Any]]:
        return [[getattr(s.band(f"{section}.{k}"), stat, None) for k in keys] for s in comp.summaries]

    tf_keys = ("true_alerts", "false_alerts")
    bars = bar_chart_svg(
        [v.label for v in comp.variants],
        [("true alerts", "#2e7d32"), ("false alerts", "#c62828")],
        per_hour("per_hour_rate", tf_keys, "mean"),
        lo=per_hour("per_hour_rate", tf_keys, "p2_5"),
        hi=per_hour("per_hour_rate", tf_keys, "p97_5"),
        title="true vs false alerts per hour",
        y_label="alerts per hour",
    )
    so_keys = ("stops", "false_engaged", "arrests")
    stops = bar_chart_svg(
        [v.label for v in comp.variants],
        [("stops", "#2e7d32"), ("of which wrongful", "#c62828"), ("arrests", "#1565c0")],
        per_hour("operations.per_hour_rate", so_keys, "mean"),
        lo=per_hour("operations.per_hour_rate", so_keys, "p2_5"),
        hi=per_hour("operations.per_hour_rate", so_keys, "p97_5"),
        title="stops and arrests per hour",
        y_label="per hour",
    )
    return hourly, officers, bars, stops


def render_comparison(comp: Comparison) -> str:
    """The standalone comparison page: table, alerts per hour, officers needed, true vs false alerts."""
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(comp.variants))]
    head = "".join(
        f'<th><span class="sw" style="background:{c}"></span>{html.escape(v.label)}</th>'
        for v, c in zip(comp.variants, colours, strict=True)
    )
    body = []
    for m in COMPARE_ROWS:
        cells = []
        for summ in comp.summaries:
            band = summ.band(m)
            if band is None:
                cells.append("<td>–</td>")
                continue
            text = fmt_band(band, m.kind)
            cells.append(
                f'<td>{html.escape(text.mean)}<span class="band">{html.escape(text.interval)}</span></td>'
            )
        body.append(f"<tr><td>{html.escape(m.label)}</td>{''.join(cells)}</tr>")
    needs = []
    for summ in comp.summaries:
        n = _officers_needed(summ).officers_needed
        needs.append(f"<td><b>{'not reached' if n is None else n}</b></td>")
    t0 = _officers_needed(comp.summaries[0]).target_engaged_share
    target = 0.8 if t0 is None else t0
    body.append(f"<tr><td>Officers needed for {target:.0%} of true alerts engaged</td>{''.join(needs)}</tr>")
    hourly, officers, bars, stops = _charts(comp, colours, target)
    rows_meta = "".join(
        "<tr><td><span class='sw' "
        f"style='background:{c}'></span>{html.escape(m['label'])}</td><td>{html.escape(m['file'])}</td>"
        f"<td>{html.escape(' '.join(m['common_overrides'] + m['overrides']) or '–')}</td><td>{m['seed']}</td>"
        f"<td>{html.escape(m['window']['start'])} + {m['window']['duration_s'] / 3600:g} h</td>"
        f"<td>{m['watchlist']['size']:,} / {m['watchlist']['threshold']}</td><td>{m['operators']} / "
        f"{m['officers']}</td>"
        f"<td>{html.escape(m['crowd_from'])}</td></tr>"
        for m, c in zip(comp.meta, colours, strict=True)
    )
    title = "Comparison: " + " vs ".join(v.label for v in comp.variants)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">{comp.replications} replications per scenario. Each cell: mean, and below it the 95% \
predictive interval
(2.5th–97.5th percentiles over replications, Poisson noise included): the range one deployment's observed \
figure should fall in.</p>
<h2>Scenarios</h2>
<table><tr><th>Column</th><th>File</th><th>Overrides</th><th>Seed</th><th>Window</th><th>Watchlist / \
threshold</th>
<th>Operators / officers</th><th>Crowd simulated in</th></tr>{rows_meta}</table>
<p class="muted">A column whose crowd was simulated in another re-scores that column's crowd: same \
passers-by, only the
watchlist or operations settings differ.</p>
<h2>Side by side</h2>
<table><tr><th>Metric</th>{head}</tr>{"".join(body)}</table>
<h2>Alerts per hour over the day</h2>{hourly}
<p class="muted">Mean alerts in each clock hour of the window; shading: 95% predictive interval.</p>
<h2>Officers needed</h2>{officers}
<p class="muted">Expected share of true alerts engaged (pooled over replications) for each officer count, \
the same alerts
and draws replayed; a ring marks the smallest count that reaches the target.</p>
<h2>True vs false alerts per hour</h2>{bars}
<h2>Stops and arrests per hour</h2>{stops}
<p class="muted">Twin comparison. Street geometry © OpenStreetMap contributors, ODbL 1.0. Operations model \
and the sources of
its defaults: twin/operations.py.</p>
</body></html>"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:32] or "scenario"


def write_comparison(
    comp: Comparison, out_dir: Path | str, *, name: str | None = None, now: dt.datetime | None = None
) -> Path:
    """Write ``comparison.csv``, ``comparison.json`` and ``comparison.html`` into a new folder under
    ``out_dir``.

    The folder is written under a temporary name and renamed (a taken name gets ``-2``, ``-3``, ...),
    so nothing half-written or overwritten is ever left (the rules of :mod:`twin.outputs.runstore`).

    Raises:
        RunFolderError: ``out_dir`` cannot be created or written, or is a file.
    """
    now = now or dt.datetime.now()
    stems = [_slug(Path(v.path).stem) for v in comp.variants]
    slugs = sorted(set(stems), key=stems.index)
    base = name or f"compare-{'-vs-'.join(slugs)[:80]}-{now:%Y%m%d-%H%M%S}"
    with atomic_folder(out_dir, base) as folder:
        # labels are the user's text: never a spreadsheet formula (numbers pass through csv_cell)
        comparison_frame(comp).map(csv_cell).to_csv(folder.tmp / "comparison.csv", index=False)
        doc = comparison_doc(comp)
        (folder.tmp / "comparison.json").write_text(
            dumps_json(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        (folder.tmp / "comparison.html").write_text(render_comparison(comp), encoding="utf-8")
    return folder.final
