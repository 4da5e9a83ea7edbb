"""The report as PDF: the HTML report printed by headless Chromium (where one is installed).

Chromium renders the Plotly figures (their JavaScript runs within a virtual-time budget) and prints
the page without header and footer. Without Chromium :class:`PdfError` says to write ``.html``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from twin.errors import TwinError

#: Executable names tried, in order, for headless Chromium.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Virtual time the page gets to run its scripts (draw the figures) before it is printed. [ms]
VIRTUAL_TIME_BUDGET_MS = 10_000
#: Longest a print may take before it is given up. [s]
PRINT_TIMEOUT_S = 180.0


class PdfError(TwinError):
    """The PDF could not be printed (no Chromium, or Chromium failed)."""


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable on ``PATH``; ``None`` when there is none."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_command(chromium: str, html_path: Path, pdf_path: Path) -> list[str]:
    """The headless Chromium command line that prints ``html_path`` to ``pdf_path``."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", f"--print-to-pdf={pdf_path}",
            Path(html_path).resolve().as_uri()]


def print_pdf(html_path: Path, out: Path) -> Path:
    """Print the HTML file ``html_path`` to the PDF ``out`` with headless Chromium; returns ``out``.

    Raises
    ------
    PdfError
        No Chromium is installed, it failed, or it wrote no PDF.
    """
    chromium = find_chromium()
    if chromium is None:
        raise PdfError(f"cannot write {out}: a PDF is printed by headless Chromium, and none is installed "
                       f"(looked for {', '.join(CHROMIUM_NAMES)}); write the report as .html (or .xlsx) "
                       "instead, or install chromium")
    out = Path(out).resolve()
    if out.exists():
        out.unlink()
    with tempfile.TemporaryDirectory(prefix="twin-chromium-") as profile:
        cmd = chromium_command(chromium, html_path, out)
        cmd.insert(1, f"--user-data-dir={profile}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"cannot write {out}: Chromium did not finish printing in "
                           f"{PRINT_TIMEOUT_S:.0f} s") from None
    if not out.is_file() or out.stat().st_size == 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise PdfError(f"cannot write {out}: Chromium (exit {proc.returncode}) wrote no PDF"
                       + (": " + " / ".join(tail) if tail else ""))
    return out


def write_pdf(document, out: Path) -> Path:
    """Write ``document`` as PDF to ``out``: its HTML in a temporary folder, printed by Chromium."""
    from twin.report.html import write_html

    if find_chromium() is None:
        return print_pdf(Path("report.html"), out)  # raises PdfError before any work
    with tempfile.TemporaryDirectory(prefix="twin-report-") as tmp:
        page = write_html(document, Path(tmp) / "report.html")
        return print_pdf(page, out)
