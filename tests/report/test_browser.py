"""The report and the memo in a real browser (headless Chromium from Debian's packages).

Each page must render with its figures loaded (natural width > 0) and no console errors, uncaught
exceptions or failed loads; the memo's PDF must have exactly one page. Screenshots and the PDF are
kept as test artefacts in ``reports/test-artifacts/browser/`` (gitignored; CI collects that folder;
ATTRIBUTION_TEST_ARTIFACTS moves it).

Without Chromium the tests skip with the reason, unless ATTRIBUTION_REQUIRE_BROWSER is set (CI sets
it, after `.ci/run` has installed Chromium), in which case they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from attribution.errors import AttributionWarning, ReportError
from attribution.report.browser import BrowserMissing, PageReport, find_chromium, open_page
from attribution.report.memo import write_study_memo
from attribution.report.pdf import html_to_pdf, pdf_page_count

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "study_results.json"


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium()
    except BrowserMissing as exc:
        if os.environ.get("ATTRIBUTION_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"ATTRIBUTION_REQUIRE_BROWSER is set and {exc}")
        pytest.skip(f"{exc.message}; {exc.fix} (set ATTRIBUTION_REQUIRE_BROWSER=1 to fail instead)")


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("ATTRIBUTION_TEST_ARTIFACTS", ROOT / "reports" / "test-artifacts"))
    folder = folder / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _keep(artifacts: Path, name: str, data: bytes) -> Path:
    path = artifacts / name
    path.write_bytes(data)
    print(f"test artefact: {path}")  # shown with -rP / on failure
    return path


def _assert_renders(page: PageReport, *, min_images: int) -> None:
    assert page.text_length > 500, "the page is (nearly) empty"
    assert len(page.images) >= min_images, page.images
    assert not page.broken_images, f"images that did not load: {page.broken_images}"
    assert not page.console_errors, f"console errors: {page.console_errors}"
    assert page.screenshot.startswith(b"\x89PNG")


def test_memo_renders_and_prints_on_one_page(
    chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    paths = write_study_memo(FIXTURE, tmp_path, pdf=True)
    assert pdf_page_count(paths["pdf"].read_bytes()) == 1
    _keep(artifacts, "memo.pdf", paths["pdf"].read_bytes())
    page = open_page(paths["html"], width=900)
    _keep(artifacts, "memo.png", page.screenshot)
    _assert_renders(page, min_images=1)
    assert page.title == json.loads(FIXTURE.read_text())["title"]
    # the memo's one figure is the waterfall, drawn at its own aspect ratio
    (img,) = page.images
    assert img["src"].startswith("data:image/svg+xml") and img["natural_height"] > 0


def test_the_study_report_memo_and_notebooks_render(
    chromium: str, example_study: tuple[Path, Path, str], artifacts: Path
) -> None:
    """A study's own output (the example on smaller data, run once per session): report.html,
    memo.html and every design notebook's page, with their figures; memo.pdf on one page."""
    out, _, _ = example_study
    results = json.loads((out / "results.json").read_text())
    assert pdf_page_count((out / "memo.pdf").read_bytes()) == 1
    _keep(artifacts, "study-memo.pdf", (out / "memo.pdf").read_bytes())
    report = open_page(out / "report.html")
    _keep(artifacts, "study-report.png", report.screenshot)
    _assert_renders(report, min_images=2)
    memo = open_page(out / "memo.html", width=900)
    _keep(artifacts, "study-memo.png", memo.screenshot)
    _assert_renders(memo, min_images=1)
    assert memo.title == results["title"]
    pages = sorted((out / "designs").glob("*.html"))
    assert {p.stem for p in pages} == {d["id"] for d in results["designs"]}
    for path in pages:
        page = open_page(path)
        _keep(artifacts, f"study-design-{path.stem}.png", page.screenshot)
        _assert_renders(page, min_images=1)


def test_the_check_catches_broken_pages(chromium: str, tmp_path: Path) -> None:
    """The browser check can fail: a missing image, a console error and an uncaught exception."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        + "<p>some text</p>" * 80
        + '<img src="figures/missing.png"><img src="data:image/svg+xml;base64,bm90IGFuIHN2Zw==">'
        + "<script>console.error('boom'); undefined_function();</script></body></html>"
    )
    report = open_page(page)
    assert len(report.broken_images) == 2
    errors = " ".join(report.console_errors)
    assert "boom" in errors and "undefined_function" in errors and "missing.png" in errors
    with pytest.raises(AssertionError, match="images that did not load"):
        _assert_renders(report, min_images=1)


def _many_designs(n: int) -> dict:
    results = json.loads(FIXTURE.read_text())
    first = results["designs"][0]
    results["designs"] = [{**first, "id": f"design_{i}"} for i in range(n)]
    return results


def test_a_long_memo_prints_in_the_compact_layout(chromium: str, tmp_path: Path) -> None:
    """Seven designs run past a page in the normal layout; the PDF falls back to the compact one."""
    results = _many_designs(7)
    normal = tmp_path / "normal"
    write_study_memo(results, normal, pdf=False)
    assert pdf_page_count(html_to_pdf(normal / "memo.html", normal / "x.pdf").read_bytes()) > 1
    paths = write_study_memo(results, tmp_path / "memo", pdf=True)
    assert pdf_page_count(paths["pdf"].read_bytes()) == 1
    assert 'class="compact"' not in paths["html"].read_text(), "the HTML keeps the normal layout"
    assert not list((tmp_path / "memo").glob(".*")), "no temporary files left behind"


def test_a_memo_past_one_page_is_caught(chromium: str, tmp_path: Path) -> None:
    results = _many_designs(25)
    (tmp_path / "results.json").write_text(json.dumps(results))
    with pytest.raises(ReportError, match=r"memo.pdf has [2-9] pages"):
        write_study_memo(tmp_path / "results.json", tmp_path / "strict", pdf=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_study_memo(tmp_path / "results.json", tmp_path / "auto", pdf="auto")
    assert any(
        issubclass(w.category, AttributionWarning) and "should fit one" in str(w.message)
        for w in caught
    )
    assert pdf_page_count(paths["pdf"].read_bytes()) > 1


def test_pdf_failures_are_typed(chromium: str, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        html_to_pdf(tmp_path / "missing.html", tmp_path / "out.pdf")
    old = tmp_path / "memo.pdf"
    old.write_bytes(b"%PDF old")
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    html = tmp_path / "page.html"
    html.write_text("<p>hi</p>")
    os.environ["ATTRIBUTION_CHROMIUM"] = str(fake)
    try:
        with pytest.raises(ReportError, match="exit code 3"):
            html_to_pdf(html, old)
    finally:
        del os.environ["ATTRIBUTION_CHROMIUM"]
    assert old.read_bytes() == b"%PDF old", "a failed print leaves the old PDF in place"
    assert shutil.which(chromium)
