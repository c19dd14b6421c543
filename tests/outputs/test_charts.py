"""Inline SVG charts: no data says so; a log axis and reference lines (the record's threshold sweep)."""

from __future__ import annotations


def test_a_chart_without_data_says_so() -> None:
    from twin.outputs.charts import Series, line_chart_svg

    svg = line_chart_svg(
        [Series(label="x", colour="#000", x=[0, 1, 2], y=[None, None, None])],
        title="t",
        x_label="n",
        y_label="share",
    )
    assert svg.startswith("<svg") and "no data" in svg


def test_log_axis_ticks_every_decade_and_skips_non_positive_values() -> None:
    from twin.outputs.charts import Series, line_chart_svg, log_ticks

    assert log_ticks(2e-5, 3e-3) == [1e-05, 0.0001, 0.001, 0.01]
    assert log_ticks(0.5, 0.5) == [0.1, 1.0]  # at least one decade
    svg = line_chart_svg(
        [Series(label="g", colour="#000", x=[0.5, 0.6, 0.7], y=[1e-3, 0.0, 1e-5])],
        title="t",
        x_label="threshold",
        y_label="FPIR",
        y_log=True,
    )
    assert svg.count("<circle") == 2  # the zero is a gap on a log axis
    assert ">1e-05<" in svg and ">0.001<" in svg


def test_reference_lines_are_drawn_and_labelled() -> None:
    from twin.outputs.charts import Series, line_chart_svg

    svg = line_chart_svg(
        [Series(label="ratio", colour="#000", x=[0.5, 0.7], y=[3.0, 1.0])],
        title="t",
        x_label="t",
        y_label="r",
        hline=(1.25, "flag 1.25"),
        vline=(0.6, "threshold 0.6"),
    )
    assert "flag 1.25" in svg and "threshold 0.6" in svg and svg.count('stroke-dasharray="3 3"') == 1


def test_nice_ticks_cover_the_maximum_in_round_steps() -> None:
    from twin.outputs.charts import nice_ticks

    for vmax in (0.3, 5.7, 99.0, 19_968.0):
        ticks = nice_ticks(vmax)
        assert ticks[0] == 0.0 and ticks[-1] >= vmax and len(ticks) <= 6
