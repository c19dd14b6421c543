"""Inline SVG charts of single points: observed values against intervals, and log-log scatters.

Pure string building like :mod:`twin.outputs.charts` (one ``<svg>`` element each, no script, no
CDN, prints to PDF); used by the validation page (:mod:`twin.outputs.validation`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from twin.outputs.charts import _fmt_tick, _y_axis, nice_ticks, svg_open, y_title

__all__ = ["interval_strip_svg", "scatter_svg"]


def interval_strip_svg(
    labels: Sequence[str],
    mean: Sequence[float],
    lo: Sequence[float],
    hi: Sequence[float],
    observed: Sequence[float],
    *,
    title: str,
    y_label: str,
    width: int = 900,
    height: int = 240,
) -> str:
    """Observed values against their predictive intervals, one column per item in order (e.g. by date).

    Each item is a vertical bar from ``lo`` to ``hi`` with a tick at ``mean``; the observed value is
    a dot, green inside its interval and red outside. Items are spaced evenly; ``labels`` name them
    (a label is drawn under the first item of each run of equal labels, e.g. a month).

    Returns:
        one ``<svg>`` element, or an empty string without items.
    """
    n = len(labels)
    if n == 0:
        return ""
    vals = [v for v in [*hi, *observed] if v is not None and math.isfinite(v)]
    y_ticks = nice_ticks(max([*vals, 0.0]))
    top = y_ticks[-1]
    pad_l, pad_r, pad_t, pad_b = 52, 16, 34, 42
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    step = w / n

    def px(i: int) -> float:
        return pad_l + step * (i + 0.5)

    def py(y: float) -> float:
        return pad_t + h - h * min(max(y, 0.0), top) / top

    p = [svg_open(width, height, title)]
    _y_axis(p, y_ticks, py, pad_l, w)
    p.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{pad_t + h}" y2="{pad_t + h}" stroke="#9e9e9e"/>')
    p.append(y_title(y_label, pad_t, h))
    bw = max(1.0, min(6.0, step * 0.6))
    outside = 0
    for i in range(n):
        x = px(i)
        p.append(
            f'<rect x="{x - bw / 2:.1f}" y="{py(hi[i]):.1f}" width="{bw:.1f}" '
            f'height="{max(py(lo[i]) - py(hi[i]), 1.0):.1f}" fill="#90caf9"/>'
        )
        p.append(
            f'<line x1="{x - bw:.1f}" x2="{x + bw:.1f}" y1="{py(mean[i]):.1f}" y2="{py(mean[i]):.1f}" '
            'stroke="#1565c0"/>'
        )
        inside = lo[i] <= observed[i] <= hi[i]
        outside += not inside
        colour = "#2e7d32" if inside else "#c62828"
        p.append(
            f'<circle cx="{x:.1f}" cy="{py(observed[i]):.1f}" r="2.6" fill="{colour}">'
            f"<title>{html.escape(labels[i])}: "
            f"observed {observed[i]:g}, predicted {mean[i]:.2g} ({lo[i]:g}–{hi[i]:g})</title></circle>"
        )
    p.extend(_run_labels(labels, px, pad_t + h, step))
    p.append(
        f'<text x="{pad_l}" y="14">{html.escape(title)}</text><text x="{pad_l + w}" y="14" text-anchor="end" '
        f'fill="#616161">bars: 95% predictive interval · dots: published '
        f"(red: outside, {outside} of {n})</text>"
    )
    p.append("</svg>")
    return "".join(p)


def _run_labels(labels: Sequence[str], px: Callable[[int], float], y0: float, step: float) -> list[str]:
    """A tick under the first item of each run of equal labels, and the label where there is room."""
    out: list[str] = []
    last_label: str | None = None
    last_i = -(10**9)
    for i, label in enumerate(labels):
        if label == last_label:
            continue
        x = px(i)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + 4}" stroke="#9e9e9e"/>')
        if step * (i - last_i) > 34:
            out.append(f'<text x="{x:.1f}" y="{y0 + 15}" text-anchor="start">{html.escape(label)}</text>')
            last_i = i
        last_label = label
    return out


def scatter_svg(
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    x_label: str,
    y_label: str,
    band: tuple[float, float] | None = None,
    width: int = 420,
    height: int = 360,
) -> str:
    """A log-log scatter of positive pairs with the line y = x (and an optional ratio band around it).

    Args:
        x, y: positive values (others are skipped); labels: one per point (hover text).
        band: (low, high) ratios y/x drawn as dashed lines (e.g. (0.67, 1.5)).

    Returns:
        one ``<svg>`` element, or an empty string without a positive pair.
    """
    pts = [
        (a, b, t)
        for a, b, t in zip(x, y, labels, strict=True)
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0
    ]
    if not pts:
        return ""
    lo = 10 ** math.floor(math.log10(min(min(a, b) for a, b, _ in pts)))
    hi = 10 ** math.ceil(math.log10(max(max(a, b) for a, b, _ in pts)))
    pad_l, pad_r, pad_t, pad_b = 60, 36, 34, 42
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(v: float) -> float:
        return pad_l + w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    def py(v: float) -> float:
        return pad_t + h - h * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    p = [svg_open(width, height, title)]
    k = lo
    while k <= hi * 1.0001:
        p.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py(k):.1f}" y2="{py(k):.1f}" stroke="#eeeeee"/>'
            f'<text x="{pad_l - 6}" y="{py(k) + 4:.1f}" text-anchor="end">{_fmt_tick(k)}</text>'
            f'<text x="{px(k):.1f}" y="{pad_t + h + 14}" text-anchor="middle">{_fmt_tick(k)}</text>'
        )
        k *= 10
    p.append(
        f'<line x1="{px(lo):.1f}" y1="{py(lo):.1f}" x2="{px(hi):.1f}" y2="{py(hi):.1f}" stroke="#424242"/>'
    )
    if band is not None:
        for r in band:
            a0, a1 = max(lo, lo / r), min(hi, hi / r)
            p.append(
                f'<line x1="{px(a0):.1f}" y1="{py(a0 * r):.1f}" x2="{px(a1):.1f}" y2="{py(a1 * r):.1f}" '
                f'stroke="#9e9e9e" stroke-dasharray="5 3"/>'
            )
    for a, b, t in pts:
        p.append(
            f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="3.5" fill="#1565c0" fill-opacity="0.8">'
            f"<title>{html.escape(t)}: {a:,.0f} → {b:,.0f} (× {b / a:.2f})</title></circle>"
        )
    p.append(
        f'<text x="{pad_l + w / 2:.0f}" y="{height - 6}" text-anchor="middle" fill="#616161">'
        f"{html.escape(x_label)}</text>"
    )
    p.append(y_title(y_label, pad_t, h, x=14))
    p.append(f'<text x="{pad_l}" y="14">{html.escape(title)}</text>')
    p.append("</svg>")
    return "".join(p)
