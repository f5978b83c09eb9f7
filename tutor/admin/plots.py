"""Inline SVG plots for the dashboard: built as strings on the server, no script and no CDN.

Every text that comes from data (concept names, questions) goes through `escape`; the
result is Markup, so the template inserts it as is. Each plot has role="img", an
aria-label that says what it shows, and a <title> per bar with its exact value.
"""

from __future__ import annotations

from markupsafe import Markup, escape

ACCENT = "#4f46e5"
REFUSED = "#d97706"
MUTED = "#6b7280"


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}" '
                  f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">'
                  + "".join(body) + "</svg>")


def daily_columns(per_day: list[dict], width: int = 720, height: int = 180) -> Markup:
    """Columns of questions per day; the refused share of each day's answers drawn on top
    in amber and hatched, so it reads without colour too."""
    left, bottom, top = 34, 22, 10
    peak = max([d["questions"] for d in per_day] + [d["ok"] + d["refused"] for d in per_day] + [1])
    step = (width - left - 6) / max(len(per_day), 1)
    scale = (height - bottom - top) / peak
    body = ['<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="5" height="5" fill="#fde68a"/>'
            f'<line x1="0" y1="0" x2="0" y2="5" stroke="{REFUSED}" stroke-width="2"/></pattern></defs>']
    for tick in sorted({0, peak // 2, peak}):
        y = height - bottom - tick * scale
        body.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{tick}</text>')
    for i, d in enumerate(per_day):
        x = left + i * step + step * 0.15
        w = step * 0.7
        q = d["questions"] * scale
        r = d["refused"] * scale
        tip = escape(f"{d['day']}: {d['questions']} questions, {d['refused']} refused")
        body.append(f'<g><title>{tip}</title>'
                    f'<rect x="{x:.1f}" y="{height - bottom - q:.1f}" width="{w:.1f}" height="{q:.1f}" fill="{ACCENT}"/>'
                    + (f'<rect x="{x:.1f}" y="{height - bottom - r:.1f}" width="{w:.1f}" height="{r:.1f}" '
                       f'fill="url(#hatch)"/>' if r else "") + "</g>")
        last = len(per_day) - 1
        if (i % 7 == 0 and last - i > 3) or i == last:  # weekly ticks, never colliding with the last day
            body.append(f'<text x="{x + w / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="{MUTED}">'
                        f'{escape(d["day"][5:])}</text>')
    total = sum(d["questions"] for d in per_day)
    return _svg(width, height, f"Questions per day over {len(per_day)} days: {total} in all; "
                               "hatched: refused answers", body)


def horizontal_bars(rows: list[dict], label: str, value: str, caption: str, *, percent: bool = False,
                    width: int = 720, name_width: int = 260, bar_height: int = 22) -> Markup:
    """One labelled bar per row (value in [0, 1] when percent, else a count)."""
    if not rows:
        return Markup("")
    name_w = name_width
    peak = 1.0 if percent else max(max(r[value] for r in rows), 1)
    span = width - name_w - 60
    height = bar_height * len(rows) + 4
    body = []
    for i, r in enumerate(rows):
        y = i * bar_height + 2
        w = span * (r[value] / peak)
        shown = f"{r[value] * 100:.0f}%" if percent else str(r[value])
        name = str(r[label])
        fits = name_width // 6  # characters of an 11px label in the name column
        short = name if len(name) <= fits else name[:fits - 1] + "…"
        body.append(f'<g><title>{escape(name)}: {escape(shown)}</title>'
                    f'<text x="{name_w - 8}" y="{y + bar_height * 0.68:.1f}" text-anchor="end">{escape(short)}</text>'
                    f'<rect x="{name_w}" y="{y + 3}" width="{span}" height="{bar_height - 8}" fill="#f3f4f6"/>'
                    f'<rect x="{name_w}" y="{y + 3}" width="{max(w, 1.5):.1f}" height="{bar_height - 8}" fill="{ACCENT}"/>'
                    f'<text x="{name_w + span + 6}" y="{y + bar_height * 0.68:.1f}" fill="{MUTED}">{escape(shown)}</text></g>')
    return _svg(width, height, caption, body)
