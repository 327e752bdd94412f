"""Charts as inline SVG, drawn on the server: no chart library, no JavaScript, no CDN.

Two shapes cover the dashboard: a line chart of counts over time (one line per series)
and horizontal bars of counts by name. Colours come from classes styled in
``static/web/app.css`` (presentation, not style attributes, so the page CSP needs no
``unsafe-inline``), which also makes them follow the light/dark theme. Every chart has a
``<title>`` and ``role="img"``; the pages print the same figures as a table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 220
_PAD_LEFT = 44
_PAD_RIGHT = 12
_PAD_TOP = 12
_PAD_BOTTOM = 28
_BAR_WIDTH = 300
"""Bar charts sit in narrow cards: a small viewBox keeps their text readable there."""
_BAR_HEIGHT = 20
_BAR_GAP = 6
_LABEL_WIDTH = 100
_ids = count(1)


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (axis tops read as round)."""
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Markup:
    """Counts over time: ``labels`` along the x axis, one polyline per named series."""
    chart_id = f"chart-{next(_ids)}"
    top = _nice_ceiling(max((max(values, default=0) for _, values in series), default=0))
    inner_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    inner_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    points = max(len(labels), 1)
    step = inner_w / max(points - 1, 1)

    def x(i: int) -> float:
        return _PAD_LEFT + (i * step if points > 1 else inner_w / 2)

    def y(value: int) -> float:
        return _PAD_TOP + inner_h - (value / top) * inner_h

    totals = ", ".join(f"{name} {sum(values)}" for name, values in series)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{chart_id}">{escape(title)}: {escape(totals)}</title>',
    ]
    for fraction in (0, 0.5, 1):
        level = round(top * fraction)
        parts.append(
            f'<line class="chart-grid" x1="{_PAD_LEFT}" x2="{WIDTH - _PAD_RIGHT}" '
            f'y1="{y(level):.1f}" y2="{y(level):.1f}"/>'
            f'<text class="chart-axis" x="{_PAD_LEFT - 6}" y="{y(level) + 4:.1f}" '
            f'text-anchor="end">{level}</text>'
        )
    if labels:
        ticks = sorted({0, len(labels) // 2, len(labels) - 1})
        for i in ticks:
            anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
            parts.append(
                f'<text class="chart-axis" x="{x(i):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="{anchor}">{escape(labels[i])}</text>'
            )
    for number, (_name, values) in enumerate(series):
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        if len(values) == 1:
            parts.append(
                f'<circle class="chart-line s{number}" cx="{x(0):.1f}" cy="{y(values[0]):.1f}" '
                f'r="3"/>'
            )
        elif values:
            parts.append(f'<polyline class="chart-line s{number}" points="{coords}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch s{number}" aria-hidden="true"></span>{escape(name)} '
        f"<strong>{sum(values)}</strong></li>"
        for number, (name, values) in enumerate(series)
    )
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>')  # noqa: S704 - escaped above


def bar_chart(title: str, counts: Mapping[str, int], *, limit: int = 8) -> Markup:
    """Counts by name as horizontal bars, largest first, the rest summed as "other"."""
    chart_id = f"chart-{next(_ids)}"
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) > limit:
        rest = sum(value for _, value in ordered[limit - 1 :])
        ordered = [*ordered[: limit - 1], ("other", rest)]
    if not ordered:
        return Markup('<p class="muted">Nothing counted in this range yet.</p>')
    top = max(value for _, value in ordered) or 1
    height = len(ordered) * (_BAR_HEIGHT + _BAR_GAP)
    bar_space = _BAR_WIDTH - _LABEL_WIDTH - 40
    described = ", ".join(f"{name} {value}" for name, value in ordered)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_BAR_WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}">',
        f'<title id="{chart_id}">{escape(title)}: {escape(described)}</title>',
    ]
    for row, (name, value) in enumerate(ordered):
        top_y = row * (_BAR_HEIGHT + _BAR_GAP)
        width = max(1.0, value / top * bar_space) if value else 0.0
        parts.append(
            f'<text class="chart-label" x="{_LABEL_WIDTH - 8}" y="{top_y + 15}" '
            f'text-anchor="end">{escape(name[:14])}</text>'
            f'<rect class="chart-bar" x="{_LABEL_WIDTH}" y="{top_y}" width="{width:.1f}" '
            f'height="{_BAR_HEIGHT}" rx="3"/>'
            f'<text class="chart-value" x="{_LABEL_WIDTH + width + 6:.1f}" '
            f'y="{top_y + 15}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value was escaped above
