"""The report as an XLSX workbook: one sheet per section, every table's rows in full, numbers as numbers.

A section's tables follow one another down its sheet, each under its title in bold and ended by a
blank row (:func:`read_table` reads one back); the
"Summary" sheet starts with the headline figures (``figure``, ``value``, ``unit``), so the
workbook's totals are the engine's figures unrounded. Figures are not drawn (the HTML has them).
"""

from __future__ import annotations

import math
from pathlib import Path

#: Longest sheet name Excel accepts.
MAX_SHEET_NAME = 31


def _sheet_name(title: str, taken: set[str]) -> str:
    """An Excel-safe, unique sheet name made from ``title``."""
    name = "".join(c for c in title if c not in "[]:*?/\\")[:MAX_SHEET_NAME].strip() or "Sheet"
    base, i = name, 2
    while name in taken:
        suffix = f" ({i})"
        name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
        i += 1
    taken.add(name)
    return name


def _cell(value):
    """A value openpyxl writes as is: numbers stay numbers, non-finite numbers and None become blank."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def write_xlsx(document, out: Path) -> Path:
    """Write ``document`` as an XLSX workbook to ``out``; returns ``out``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    for s in document.sections:
        ws = wb.create_sheet(_sheet_name(s.title, taken))
        ws.append([s.title])
        ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        for p in s.paragraphs:
            ws.append([p])
        for fig in s.figures:
            title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "figure"
            ws.append([f"Figure (in the HTML report): {title}"])
        for t in s.tables:
            ws.append([])
            ws.append([t.title])
            ws.cell(row=ws.max_row, column=1).font = bold
            cols = t.columns
            ws.append(cols)
            for c in range(1, len(cols) + 1):
                ws.cell(row=ws.max_row, column=c).font = bold
            for r in t.rows:
                ws.append([_cell(r.get(c)) for c in cols])
            if t.note:
                ws.append([])
                ws.append([t.note])
        ws.column_dimensions["A"].width = 40
    out = Path(out)
    wb.save(out)
    return out


def read_table(path: Path, sheet: str, title: str) -> list[dict]:
    """The rows of the table titled ``title`` on ``sheet`` of a workbook :func:`write_xlsx` wrote.

    Raises
    ------
    KeyError
        The sheet has no table of that title.
    """
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    for i, r in enumerate(rows):
        if r and r[0] == title and i + 1 < len(rows):
            cols = [c for c in rows[i + 1] if c is not None]
            out = []
            for r2 in rows[i + 2:]:
                if not r2 or all(v is None for v in r2):  # a table ends at a blank row
                    break
                out.append(dict(zip(cols, r2[: len(cols)], strict=True)))
            return out
    raise KeyError(f"no table {title!r} on sheet {sheet!r} of {path}")
