"""Charts as server-rendered SVG (no chart script): grouped bars, stacked bars and
horizontal bars. Labels are escaped; colours come from the stylesheet (classes s1..s4),
so the pages' Content-Security-Policy needs no inline style."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 260
LEFT = 44
BOTTOM = 36
TOP = 16


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


def _svg(body: list[str], title: str, height: int = HEIGHT) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )
    # Every label and title above went through escape(); numbers are formatted floats.
    return Markup(head + "".join(body) + "</svg>")  # nosec B704


def _grid(max_value: float, unit: str, plot_height: int) -> list[str]:
    lines = []
    for step in range(5):
        value = max_value * step / 4
        y = TOP + plot_height - plot_height * step / 4
        lines.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{value:.0f}{escape(unit)}</text>"
        )
    return lines


def grouped_bars(
    title: str, categories: list[str], series: list[Series], max_value: float, unit: str = ""
) -> Markup:
    """Vertical bars, one group per category, one bar per series; None draws 'sin datos'."""
    plot_height = HEIGHT - TOP - BOTTOM
    body = _grid(max_value or 1, unit, plot_height)
    group_width = (WIDTH - LEFT - 16) / max(len(categories), 1)
    bar_width = min(36.0, group_width * 0.8 / max(len(series), 1))
    for index, category in enumerate(categories):
        start = LEFT + 8 + index * group_width + (group_width - bar_width * len(series)) / 2
        for number, one in enumerate(series):
            value = one.values[index]
            x = start + number * bar_width
            if value is None:
                body.append(
                    f'<text class="none" x="{x + bar_width / 2:.1f}" y="{TOP + plot_height - 4}" '
                    f'text-anchor="middle">—</text>'
                )
                continue
            height = plot_height * min(value, max_value) / (max_value or 1)
            y = TOP + plot_height - height
            body.append(
                f'<rect class="s{number + 1}" x="{x:.1f}" y="{y:.1f}" width="{bar_width - 3:.1f}" '
                f'height="{height:.1f}" rx="2"><title>{escape(one.name)} · {escape(category)}: '
                f"{value:.0f}{escape(unit)}</title></rect>"
                f'<text class="value" x="{x + (bar_width - 3) / 2:.1f}" y="{y - 4:.1f}" '
                f'text-anchor="middle">{value:.0f}</text>'
            )
        body.append(
            f'<text class="axis" x="{LEFT + 8 + index * group_width + group_width / 2:.1f}" '
            f'y="{HEIGHT - 14}" text-anchor="middle">{escape(category)}</text>'
        )
    return _svg(body, title)


def stacked_bars(title: str, categories: list[str], series: list[Series]) -> Markup:
    """One horizontal bar per category, its series stacked (counts)."""
    row = 34
    height = TOP + row * len(categories) + 10
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    biggest = max(totals or [0]) or 1
    body = []
    span = WIDTH - LEFT - 60
    for index, category in enumerate(categories):
        y = TOP + index * row
        x = float(LEFT)
        body.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 17}" text-anchor="end">'
            f"{escape(category)}</text>"
        )
        for number, one in enumerate(series):
            value = one.values[index] or 0
            if not value:
                continue
            width = span * value / biggest
            body.append(
                f'<rect class="s{number + 1}" x="{x:.1f}" y="{y + 4}" width="{width:.1f}" '
                f'height="{row - 12}" rx="2"><title>{escape(category)} · {escape(one.name)}: '
                f"{value:.0f}</title></rect>"
            )
            x += width
        body.append(f'<text class="value" x="{x + 6:.1f}" y="{y + 17}">{totals[index]:.0f}</text>')
    return _svg(body, title, height)
