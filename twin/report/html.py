"""The report as one self-contained HTML file: Plotly's JavaScript embedded once, no CDN, opens offline.

The first figure carries ``plotly.js`` inline (``include_plotlyjs=True``), every later one
``include_plotlyjs=False``; the page links nothing outside itself.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

#: Rows a table shows in the HTML (longer tables are cut with a note; the workbook holds every row).
MAX_HTML_ROWS = 300

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .subtitle { color: #555; margin-top: 0; }
h2 { border-bottom: 2px solid #888; padding-bottom: 0.2em; margin-top: 2em; page-break-before: auto; }
h3 { margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
th { background: #eee; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.85em; } nav ul { columns: 2; }
.figure { page-break-inside: avoid; }
@media print { body { max-width: none; margin: 0.5cm; } nav { display: none; } }
"""


def format_cell(value) -> str:
    """A table cell as text: whole numbers with thousands separators, others to about 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.3f}"
        return f"{value:.4g}"
    return str(value)


#: Words that mark a column of fractions, shown as percentages.
PERCENT_WORDS = ("loading", "share", "SLO met")


def _is_percent(column: str) -> bool:
    return any(w in column for w in PERCENT_WORDS)


def _table(t) -> str:
    cols = t.columns
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in t.rows[:MAX_HTML_ROWS]:
        cells = []
        for c in cols:
            v = r.get(c)
            cls = ' class="num"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            text = (f"{v:.1%}" if cls and _is_percent(c) and math.isfinite(v) else format_cell(v))
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = [t.note] if t.note else []
    if len(t.rows) > MAX_HTML_ROWS:
        notes.append(f"first {MAX_HTML_ROWS} of {len(t.rows):,} rows; the XLSX report holds them all")
    note = f'<p class="note">{html.escape("; ".join(notes))}</p>' if notes else ""
    if not t.rows:
        return f"<h3>{html.escape(t.title)}</h3><p class=\"note\">(none)</p>"
    return (f"<h3>{html.escape(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + f"</tbody></table>{note}")


def to_html(document) -> str:
    """The whole document as one HTML page (Plotly's JavaScript inline once, before the first figure)."""
    import plotly.io as pio

    js_done = False
    parts = [f"<h1>{html.escape(document.title)}</h1>",
             f'<p class="subtitle">{html.escape(document.subtitle)}</p>',
             "<nav><ul>" + "".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>'
                                   for s in document.sections) + "</ul></nav>"]
    for s in document.sections:
        parts.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>')
        parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        for fig in s.figures:
            div = pio.to_html(fig, full_html=False, include_plotlyjs=not js_done,
                              config={"displaylogo": False})
            parts.append(f'<div class="figure">{div}</div>')
            js_done = True
        parts += [_table(t) for t in s.tables]
        parts.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(document.title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def write_html(document, out: Path) -> Path:
    """Write :func:`to_html` of ``document`` to ``out`` (UTF-8); returns ``out``."""
    out = Path(out)
    out.write_text(to_html(document), encoding="utf-8")
    return out
