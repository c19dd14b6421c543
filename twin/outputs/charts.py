"""Inline SVG charts for the offline HTML outputs (no script, no CDN): lines with bands, grouped bars.

Pure string building in the style of :func:`twin.outputs.report.hourly_svg`; every chart is one
``<svg>`` element that a browser renders with no network and that prints to PDF.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PALETTE", "Series", "bar_chart_svg", "line_chart_svg", "log_ticks", "nice_ticks"]

#: Colours of compared scenarios, in order (colour-blind-friendly enough for 6 lines).
PALETTE: tuple[str, ...] = (
    "#1565c0",
    "#ef6c00",
    "#2e7d32",
    "#6a1b9a",
    "#c62828",
    "#00838f",
    "#5d4037",
    "#ad1457",
)


@dataclass(kw_only=True)
class Series:
    """One line: points (x, y) with an optional band [lo, hi]; None values leave gaps."""

    label: str
    colour: str
    x: Sequence[float]
    y: Sequence[float | None]
    lo: Sequence[float | None] | None = None
    hi: Sequence[float | None] | None = None
    marker: float | None = None  # an x to mark with a ring (e.g. the officers needed)
    dashed: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def nice_ticks(vmax: float, n: int = 4) -> list[float]:
    """Round axis ticks from 0 covering ``vmax`` in about ``n`` steps of 1, 2, 2.5 or 5 x 10^k.

    >>> nice_ticks(5.7), nice_ticks(19_968), nice_ticks(0.0)
    ([0.0, 2.0, 4.0, 6.0], [0.0, 5000.0, 10000.0, 15000.0, 20000.0], [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    if not math.isfinite(vmax) or vmax <= 0:
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    raw = vmax / n
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= raw - 1e-12)
    k = math.ceil(vmax / step - 1e-9)
    return [float(round(i * step, 10)) for i in range(k + 1)]


def _fmt_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.0f}"
    return f"{v:.3g}"


def svg_open(width: float, height: float, title: str) -> str:
    """The opening ``<svg>`` tag every chart starts with (an aria label, 11 px sans-serif)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}" style="font:11px sans-serif">'
    )


def y_title(text: str, pad_t: float, h: float, x: float = 12) -> str:
    """A y-axis title, rotated, centred on the plot's height."""
    y = pad_t + h / 2
    return (
        f'<text x="{x}" y="{y:.0f}" transform="rotate(-90 {x} {y:.0f})" text-anchor="middle" '
        f'fill="#616161">{html.escape(text)}</text>'
    )


def _legend(items: list[tuple[str, str, bool]], x: float, y: float, width: float) -> tuple[str, int]:
    """Legend entries left to right, wrapping onto new lines within ``width``; returns (svg, lines)."""
    parts, cx, cy, lines = [], x, y, 1
    for label, colour, dashed in items:
        text = label if len(label) <= 90 else label[:88] + "…"
        step = 30 + 6.2 * len(text)
        if cx > x and cx + step > x + width:
            cx, cy, lines = x, cy + 15, lines + 1
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        parts.append(
            f'<line x1="{cx:.0f}" x2="{cx + 18:.0f}" y1="{cy - 4:.0f}" y2="{cy - 4:.0f}" '
            f'stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
        parts.append(f'<text x="{cx + 22:.0f}" y="{cy:.0f}">{html.escape(text)}</text>')
        cx += step
    return "".join(parts), lines


def _legend_lines(items: list[str], width: float) -> int:
    return _legend([(t, "", False) for t in items], 0, 0, width)[1]


def _y_axis(p: list[str], ticks: list[float], py: Any, pad_l: float, w: float) -> None:
    """Grid lines and labels at the y ``ticks`` (data units), appended to ``p``."""
    for yv in ticks:
        p.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py(yv):.1f}" y2="{py(yv):.1f}" stroke="#e0e0e0"/>'
        )
        p.append(f'<text x="{pad_l - 4}" y="{py(yv) + 4:.1f}" text-anchor="end">{_fmt_tick(yv)}</text>')


@dataclass(frozen=True)
class _Frame:
    """A line chart's plotting area and its data-to-pixel maps (linear, or log10 on y)."""

    pad_l: float
    pad_t: float
    w: float
    h: float
    height: int
    x0: float
    x1: float
    y_ticks: list[float]
    y_log: bool = False

    def px(self, x: float) -> float:
        return self.pad_l + self.w * (x - self.x0) / (self.x1 - self.x0)

    def py(self, y: float) -> float:
        if self.y_log:
            lo, hi = math.log10(self.y_ticks[0]), math.log10(self.y_ticks[-1])
            return (
                self.pad_t
                + self.h
                - self.h * (math.log10(min(max(y, self.y_ticks[0]), self.y_ticks[-1])) - lo) / (hi - lo)
            )
        top = self.y_ticks[-1]
        return self.pad_t + self.h - self.h * min(max(y, 0.0), top) / top


def log_ticks(vmin: float, vmax: float) -> list[float]:
    """Decades 10^k covering [vmin, vmax] (both > 0), at least two.

    >>> log_ticks(2e-5, 3e-3)
    [1e-05, 0.0001, 0.001, 0.01]
    """
    lo, hi = math.floor(math.log10(vmin)), math.ceil(math.log10(vmax))
    return [10.0**k for k in range(lo, max(hi, lo + 1) + 1)]


def _frame(
    series: list[Series],
    xs: list[float],
    *,
    width: int,
    height: int,
    y_max: float | None,
    hline: tuple[float, str] | None,
    y_log: bool,
) -> _Frame:
    vals = [v for s in series for v in [*s.y, *(s.hi or [])] if v is not None and math.isfinite(v)]
    if y_log:
        pos = [v for v in vals if v > 0] or [1.0]
        y_ticks = log_ticks(min(pos), max(pos))
    else:
        y_ticks = nice_ticks(y_max if y_max is not None else max([*vals, hline[0] if hline else 0.0, 0.0]))
    pad_l, pad_r, pad_b = 52, 16, 42
    extra = 15 * (_legend_lines([s.label for s in series], width - pad_l - pad_r) - 1)
    height += extra
    pad_t = 34 + extra
    x0, x1 = (xs[0], xs[-1]) if xs[-1] > xs[0] else (xs[0] - 0.5, xs[0] + 0.5)
    return _Frame(pad_l, pad_t, width - pad_l - pad_r, height - pad_t - pad_b, height, x0, x1, y_ticks, y_log)


def _axes(
    p: list[str],
    f: _Frame,
    xs: list[float],
    x_ticks: Sequence[tuple[float, str]] | None,
    x_label: str,
    y_label: str,
) -> None:
    _y_axis(p, f.y_ticks, f.py, f.pad_l, f.w)
    ticks = list(x_ticks) if x_ticks is not None else [(x, _fmt_tick(x)) for x in xs]
    step = max(1, math.ceil(len(ticks) / 14))
    pad_l, pad_t, w, h = f.pad_l, f.pad_t, f.w, f.h
    for x, text in ticks[::step]:
        p.append(
            f'<text x="{f.px(x):.1f}" y="{pad_t + h + 14}" text-anchor="middle">{html.escape(text)}</text>'
        )
    p.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{pad_t + h}" y2="{pad_t + h}" stroke="#9e9e9e"/>')
    p.append(
        f'<text x="{pad_l + w / 2:.0f}" y="{f.height - 6}" text-anchor="middle" '
        f'fill="#616161">{html.escape(x_label)}</text>'
    )
    p.append(
        f'<text x="12" y="{pad_t + h / 2:.0f}" transform="rotate(-90 12 {pad_t + h / 2:.0f})" '
        'text-anchor="middle" '
        f'fill="#616161">{html.escape(y_label)}</text>'
    )


def _reference_lines(
    p: list[str], f: _Frame, hline: tuple[float, str] | None, vline: tuple[float, str] | None
) -> None:
    pad_l, w = f.pad_l, f.w
    if hline is not None:
        p.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{f.py(hline[0]):.1f}" y2="{f.py(hline[0]):.1f}" '
            'stroke="#424242" '
            f'stroke-dasharray="6 4"/><text x="{pad_l + w - 2}" y="{f.py(hline[0]) - 4:.1f}" '
            'text-anchor="end" '
            f'fill="#424242">{html.escape(hline[1])}</text>'
        )
    if vline is not None:
        x = f.px(vline[0])
        p.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.pad_t}" y2="{f.pad_t + f.h}" stroke="#212121" '
            f'stroke-dasharray="3 3"/><text x="{x + 3:.1f}" y="{f.pad_t + 10}" '
            f'fill="#212121">{html.escape(vline[1])}</text>'
        )


def _series_svg(p: list[str], f: _Frame, s: Series, y_format: str) -> None:
    """One series: its band, its line (broken at gaps), its points and its marker."""
    px, py = f.px, f.py

    def shown(y: float | None) -> bool:
        return y is not None and math.isfinite(y) and (y > 0 or not f.y_log)

    if s.lo is not None and s.hi is not None:
        pts = [
            (x, lo, hi)
            for x, lo, hi in zip(s.x, s.lo, s.hi, strict=True)
            if lo is not None and hi is not None
        ]
        if len(pts) > 1:
            poly = [f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in pts] + [
                f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(pts)
            ]
            p.append(
                f'<polygon points="{" ".join(poly)}" fill="{s.colour}" fill-opacity="0.12" stroke="none"/>'
            )
    run: list[str] = []
    runs: list[list[str]] = []
    for x, y in zip(s.x, s.y, strict=True):
        if not shown(y):
            if run:
                runs.append(run)
            run = []
            continue
        run.append(f"{px(x):.1f},{py(y):.1f}")  # type: ignore[arg-type]
    if run:
        runs.append(run)
    dash = ' stroke-dasharray="5 3"' if s.dashed else ""
    for r in runs:
        p.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}/>')
    for x, y in zip(s.x, s.y, strict=True):
        if shown(y):
            p.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" '  # type: ignore[arg-type]
                f'fill="{s.colour}"><title>'
                f"{html.escape(s.label)}: {_fmt_tick(x)} → {y_format.format(y)}</title></circle>"
            )
    if s.marker is not None:
        ym = next((y for x, y in zip(s.x, s.y, strict=True) if x == s.marker), None)
        if ym is not None:
            p.append(
                f'<circle cx="{px(s.marker):.1f}" cy="{py(ym):.1f}" r="7" fill="none" stroke="{s.colour}" '
                f'stroke-width="2"><title>{html.escape(s.label)}: {_fmt_tick(s.marker)}</title></circle>'
            )


def line_chart_svg(
    series: list[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    y_max: float | None = None,
    hline: tuple[float, str] | None = None,
    vline: tuple[float, str] | None = None,
    y_log: bool = False,
    width: int = 720,
    height: int = 260,
    y_format: str = "{:.2g}",
) -> str:
    """A line chart with optional shaded bands, reference lines and ringed markers.

    Args:
        series: the lines (x in data units; y None for a gap).
        title: aria label and heading inside the chart.
        x_label, y_label: axis titles.
        x_ticks: (x, text) tick labels; default: every distinct x.
        y_max: top of the y axis (default: a rounded maximum of the data and bands; ignored with ``y_log``).
        hline: (y, label) of a dashed horizontal reference line, e.g. a target share.
        vline: (x, label) of a dashed vertical reference line, e.g. the chosen threshold.
        y_log: a log10 y axis with a tick per decade (values <= 0 leave gaps).
        width, height: pixels.
        y_format: format of the values in the hover titles.

    Returns:
        one ``<svg>`` element, or an empty string without data.
    """
    xs = sorted({float(x) for s in series for x in s.x})
    if not xs:
        return ""
    f = _frame(series, xs, width=width, height=height, y_max=y_max, hline=hline, y_log=y_log)
    p = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{f.height}" role="img" '
        f'aria-label="{html.escape(title)}" style="font:11px sans-serif">'
    ]
    _axes(p, f, xs, x_ticks, x_label, y_label)
    _reference_lines(p, f, hline, vline)
    for s in series:
        _series_svg(p, f, s, y_format)
    if not any(y is not None and math.isfinite(y) for s in series for y in s.y):
        p.append(
            f'<text x="{f.pad_l + f.w / 2:.0f}" y="{f.pad_t + f.h / 2:.0f}" text-anchor="middle" '
            'fill="#757575">'
            f"no data: nothing to plot in any replication</text>"
        )
    p.append(_legend([(s.label, s.colour, s.dashed) for s in series], f.pad_l, 14, f.w)[0])
    p.append("</svg>")
    return "".join(p)


def bar_chart_svg(
    groups: Sequence[str],
    bars: Sequence[tuple[str, str]],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    y_label: str,
    lo: Sequence[Sequence[float | None]] | None = None,
    hi: Sequence[Sequence[float | None]] | None = None,
    width: int = 720,
    height: int = 260,
) -> str:
    """Grouped bars (one group per scenario, one bar per quantity) with optional interval whiskers.

    Args:
        groups: group labels (x axis); ``"name · detail"`` is drawn on two lines.
        bars: (label, colour) of the bars inside each group.
        values: values[g][b], None for no bar.
        lo, hi: whisker ends, same shape as ``values``.
        title, y_label: aria label and axis title.

    Returns:
        one ``<svg>`` element, or an empty string without groups.
    """
    if not groups:
        return ""
    vals = [v for row in [*values, *(hi or [])] for v in row if v is not None and math.isfinite(v)]
    y_ticks = nice_ticks(max([*vals, 0.0]))
    top = y_ticks[-1]
    pad_l, pad_r, pad_t, pad_b = 52, 16, 34, 48
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    gw = w / len(groups)
    bw = gw * 0.7 / max(len(bars), 1)

    def py(y: float) -> float:
        return pad_t + h - h * min(max(y, 0.0), top) / top

    p = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}" style="font:11px sans-serif">'
    ]
    _y_axis(p, y_ticks, py, pad_l, w)
    p.append(
        f'<text x="12" y="{pad_t + h / 2:.0f}" transform="rotate(-90 12 {pad_t + h / 2:.0f})" '
        'text-anchor="middle" '
        f'fill="#616161">{html.escape(y_label)}</text>'
    )
    for g, label in enumerate(groups):
        gx = pad_l + g * gw + gw * 0.15
        for b, (blabel, colour) in enumerate(bars):
            v = values[g][b]
            if v is None or not math.isfinite(v):
                continue
            x = gx + b * bw
            p.append(
                f'<rect x="{x:.1f}" y="{py(v):.1f}" width="{bw * 0.9:.1f}" '
                f'height="{pad_t + h - py(v):.1f}" fill="{colour}">'
                f"<title>{html.escape(label)} · {html.escape(blabel)}: {v:.3g}</title></rect>"
            )
            if lo is not None and hi is not None and lo[g][b] is not None and hi[g][b] is not None:
                y_lo, y_hi = py(float(lo[g][b])), py(float(hi[g][b]))  # type: ignore[arg-type]
                p.append(_whisker(x + bw * 0.45, y_lo, y_hi))
        p.append(_group_label(label, pad_l + (g + 0.5) * gw, pad_t + h + 14, max(int(gw / 6.2), 8)))
    p.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{pad_t + h}" y2="{pad_t + h}" stroke="#9e9e9e"/>')
    legend = "".join(
        f'<rect x="{pad_l + i * 150}" y="6" width="10" height="10" fill="{c}"/><text '
        f'x="{pad_l + i * 150 + 14}" y="15">{html.escape(lbl)}</text>'
        for i, (lbl, c) in enumerate(bars)
    )
    note = (
        (
            f'<text x="{pad_l + w}" y="15" text-anchor="end" fill="#616161">whiskers: 95% predictive '
            "interval</text>"
        )
        if lo is not None and hi is not None
        else ""
    )
    p.append(legend + note)
    p.append("</svg>")
    return "".join(p)


def _whisker(cx: float, y_lo: float, y_hi: float) -> str:
    """An interval whisker: a vertical line with caps at both ends."""
    return (
        f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_lo:.1f}" y2="{y_hi:.1f}" stroke="#212121"/>'
        f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y_hi:.1f}" y2="{y_hi:.1f}" '
        'stroke="#212121"/>'
        f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y_lo:.1f}" y2="{y_lo:.1f}" '
        'stroke="#212121"/>'
    )


def _group_label(label: str, x: float, y: float, cap: int) -> str:
    """A bar group's label under the axis: ``"name · detail"`` on two lines, each cut to ``cap`` letters."""
    first, _, second = label.partition(" · ")
    lines = [t if len(t) <= cap else t[: cap - 1] + "…" for t in (first, second) if t]
    tspans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 13}">{html.escape(t)}</tspan>' for i, t in enumerate(lines)
    )
    return f'<text y="{y}" text-anchor="middle"><title>{html.escape(label)}</title>{tspans}</text>'
