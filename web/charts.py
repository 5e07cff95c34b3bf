"""Charts drawn on the server as SVG: no script, nothing fetched, fine in print and mail."""

from __future__ import annotations

from markupsafe import Markup, escape

from domain.periods import Week

BAR_HEIGHT = 22
LABEL_WIDTH = 90
BAR_WIDTH = 260


def town_bars(rows: list[tuple[str, float]], title: str = "各镇街累计销号率") -> Markup:
    """Horizontal bars of a rate between 0 and 1, one per (label, rate), as inline SVG; a rate
    of None (nothing to measure: domain/ranking.py) has no bar."""
    rows = [(label, rate) for label, rate in rows if rate is not None]
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


def weekly_columns(rows: list[dict], title: str = "每周发现与销号") -> Markup:
    """Two columns per week (found, closed) as inline SVG, each week's Monday below ("8/19")."""
    top = max([1] + [max(r["found"], r["closed"]) for r in rows])
    width, height, base = 40 * len(rows) + 40, 190, 160
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<rect class="found" x="{width - 150}" y="2" width="10" height="10"/>'
             f'<text x="{width - 136}" y="11">发现</text>'
             f'<rect class="bar" x="{width - 90}" y="2" width="10" height="10"/>'
             f'<text x="{width - 76}" y="11">销号</text>']
    for i, r in enumerate(rows):
        x = 30 + i * 40
        for j, (key, css) in enumerate((("found", "found"), ("closed", "bar"))):
            h = r[key] / top * 130
            parts.append(f'<rect class="{css}" x="{x + j * 14}" y="{base - h:.1f}" width="12" '
                         f'height="{h:.1f}"><title>{escape(Week.parse(r["week"]).words)} '
                         f'{"发现" if key == "found" else "销号"} {r[key]}</title></rect>')
        parts.append(f'<text x="{x + 13}" y="{base + 16}" text-anchor="middle">'
                     f'{escape(Week.parse(r["week"]).short)}</text>')
    parts.append(f'<line x1="25" y1="{base}" x2="{width - 5}" y2="{base}" class="axis"/></svg>')
    return Markup("".join(parts))
