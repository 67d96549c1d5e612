"""Print an HTML report to PDF with headless Chromium (Debian's `chromium` package).

Chromium honours the page's print CSS (`@page` size and margins), so the memo's one-page layout is
decided by its template; `pdf_page_count` lets the caller check that it stayed on one page.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from attribution.errors import ReportError
from attribution.report.browser import HEADLESS_FLAGS, find_chromium
from attribution.report.io import atomic_write_bytes

__all__ = ["html_to_pdf", "pdf_page_count"]

_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_COUNT = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b")


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout: float = 120.0) -> Path:
    """Print `html_path` to `pdf_path` (written atomically: a failure leaves any old PDF in place).

    Raises `BrowserMissing` (a ReportError) when no Chromium is installed, ReportError when it fails.
    """
    html = Path(html_path).resolve()
    if not html.is_file():
        raise ReportError(f"{str(html)!r} does not exist", fix="write the HTML first")
    exe = find_chromium()
    # ignore_cleanup_errors: Chromium's helpers may still be closing files in the profile
    with tempfile.TemporaryDirectory(prefix="attribution-pdf-", ignore_cleanup_errors=True) as tmp:
        scratch = Path(tmp) / "out.pdf"
        cmd = [
            exe,
            *HEADLESS_FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={scratch}",
            html.as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(
                f"headless Chromium did not print {html.name} within {timeout:g} s",
                fix="rerun; if it persists, print the HTML from a browser by hand",
            ) from exc
        data = scratch.read_bytes() if scratch.exists() else b""
        if done.returncode != 0 or not data.startswith(b"%PDF"):
            tail = done.stderr.decode(errors="replace").strip()[-600:]
            raise ReportError(
                f"headless Chromium failed to print {html.name} (exit code {done.returncode})",
                fix=f"run `{exe} --headless --print-to-pdf=out.pdf {html.as_uri()}` to see why; "
                f"its output ended with: {tail}",
            )
    return atomic_write_bytes(pdf_path, data)


def pdf_page_count(data: bytes) -> int:
    """Pages in a PDF: its page objects, or the page tree's /Count when they are compressed."""
    pages = len(_PAGE.findall(data))
    if pages:
        return pages
    counts = [int(a or b) for a, b in _COUNT.findall(data)]
    if counts:
        return max(counts)
    raise ReportError("could not count the pages of the PDF", fix="open it to check it by hand")
