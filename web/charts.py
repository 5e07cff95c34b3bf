"""Charts drawn on the server as SVG: no script, nothing fetched, fine in print and mail."""

from __future__ import annotations

from markupsafe import Markup, escape

BAR_HEIGHT = 22
LABEL_WIDTH = 90
BAR_WIDTH = 260


def town_bars(rows: list[tuple[str, float]], title: str = "各镇街累计销号率") -> Markup:
    """Horizontal bars of a rate between 0 and 1, one per (label, rate), as inline SVG."""
    height = BAR_HEIGHT * len(rows) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, rate) in enumerate(rows):
        y = 4 + i * BAR_HEIGHT
        length = max(0.0, min(1.0, rate)) * BAR_WIDTH
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="track" x="{LABEL_WIDTH}" y="{y + 3}" width="{BAR_WIDTH}" height="14"/>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="14"/>'
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 15}">{rate * 100:.1f}%</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
