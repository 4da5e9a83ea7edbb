"""The layout report and the figures and tables it shares with the app.

:mod:`twin.report.figures` and :mod:`twin.report.tables` hold pure functions of the engine's
results; the app (``twin.ui``) and the exported report both present them.

The exported report (``twin report FILE [--scenario S] -o OUT.{html,xlsx,pdf}``, docs/report.md):

``build_report(results, *, scenario_results=None, catalog=None, layout=None) -> Document``
    The report as data (:mod:`twin.report.document`): summary, floor plan, power, cooling, fabric,
    bill of materials (:mod:`twin.report.bom`), power and cooling budgets with N-1 verdicts, serving
    and economics (with ``scenario_results``, a priced steady coupled point) and every catalog figure
    the layout uses with its source or assumption (:mod:`twin.report.sources`).
``write_report(document, out) -> Path``
    Writes the document in the format of ``out``'s suffix: ``.html`` (self-contained, Plotly embedded
    once, opens offline; :mod:`twin.report.html`), ``.xlsx`` (one sheet per section, numbers as
    numbers; :mod:`twin.report.xlsx`) or ``.pdf`` (the HTML printed by headless Chromium;
    :mod:`twin.report.pdf`, :class:`~twin.report.pdf.PdfError` without Chromium).

The app's download button calls both: ``write_report(build_report(results), path)``.
"""

from __future__ import annotations

from pathlib import Path

from twin.report.document import Document, Section, Table, build_report

#: Report formats by file suffix.
FORMATS = (".html", ".xlsx", ".pdf")

__all__ = ["FORMATS", "Document", "Section", "Table", "build_report", "write_report"]


def write_report(document: Document, out: str | Path) -> Path:
    """Write ``document`` to ``out`` in the format of its suffix (see :data:`FORMATS`); returns the path.

    Raises
    ------
    ValueError
        ``out`` has another suffix.
    twin.report.pdf.PdfError
        A PDF was asked for and no Chromium is installed (or it failed).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".html":
        from twin.report.html import write_html

        return write_html(document, out)
    if suffix == ".xlsx":
        from twin.report.xlsx import write_xlsx

        return write_xlsx(document, out)
    if suffix == ".pdf":
        from twin.report.pdf import write_pdf

        return write_pdf(document, out)
    raise ValueError(f"cannot write {out.name!r}: the report is written as {', '.join(FORMATS)} "
                     "(chosen by the file's suffix)")
