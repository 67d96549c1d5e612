"""The study memo from a results.json (STUDY_INTERFACE.md section 4): content, no invented numbers,
self-contained HTML, byte-identical reruns, the PDF switch. The browser and the PDF's page count are
in test_browser.py (they need Chromium)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from attribution.errors import AttributionWarning, OptionError, ReportError
from attribution.report.browser import BrowserMissing
from attribution.report.memo import STUDY_SCHEMA, render_study_memo, write_study_memo
from attribution.report.pdf import pdf_page_count
from attribution.report.waterfall import figure_bytes, waterfall_figure, waterfall_frame

FIXTURE = Path(__file__).parent / "fixtures" / "study_results.json"


@pytest.fixture
def results() -> dict:
    return json.loads(FIXTURE.read_text())


def test_fixture_follows_the_interface(results: dict) -> None:
    assert results["schema"] == STUDY_SCHEMA
    for key in (
        "study", "title", "date", "alpha", "level", "spec", "components", "metrics", "combined",
        "designs", "triangulation", "decisions", "recommendation", "truth", "provenance",
    ):  # fmt: skip
        assert key in results, key
    contributions = results["combined"]["contributions"]
    total = sum(r["estimate"] for r in contributions)
    assert total == pytest.approx(results["combined"]["headline"]["estimate"], rel=1e-9)


def test_memo_states_the_numbers_of_results_json(results: dict) -> None:
    md, _ = render_study_memo(results)
    head = results["combined"]["headline"]
    assert md.startswith(f"# {results['title']}\n")
    assert f"**{head['pct']:+.2f}%**" in md
    assert f"{head['pct_low']:+.2f}% to {head['pct_high']:+.2f}%" in md
    assert results["recommendation"] in md
    decisions = {d["component"]: d for d in results["decisions"]["components"]}
    for comp, row in zip(results["components"], results["combined"]["contributions"], strict=True):
        d = decisions[comp["name"]]
        line = next(x for x in md.splitlines() if x.startswith(f"| **{comp['name']}** |"))
        assert comp["owner"] in line and f"{row['pct']:+.2f}%" in line
        assert f"{d['lower_pct']:+.2f}% to {d['upper_pct']:+.2f}%" in line
        assert f"**{d['decision'].capitalize()}**" in line
        if comp["cost_per_period"] is None:
            assert "no cost given" in line and "break-even" not in line
        else:
            assert f"break-even of {comp['cost_per_period']:,.0f} per period" in line
            assert f"{d['bar_pct']:+.2f}%" in line
    # how much to trust it: every design with its assumption, the failed check, the disagreement
    for d in results["designs"]:
        assert f"**{d['id']}**" in md and d["key_assumption"] in md
    assert "pre-trend test (p = 0.0053)" in md
    assert "**K: the 3 designs disagree**" in md and "E and R: estimated by one design only" in md
    # appendix: provenance
    appendix = md.split("## Appendix")[1]
    for t in results["provenance"]["data"]:
        assert f"Data {t['name']} ({t['table']}): {t['rows']:,} rows" in appendix
        assert f"fingerprint `{t['fingerprint'][:16]}`" in appendix
    for name, version in results["provenance"]["versions"].items():
        assert f"{name} {version}" in appendix
    assert "covariate=pre_engagement" in appendix and "market_K 11" in appendix
    assert results["spec"]["sha256"][:16] in appendix


def test_html_is_self_contained_and_says_the_same(results: dict) -> None:
    md, html = render_study_memo(results)
    assert "<script" not in html and not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert html.count('src="data:image/svg+xml;base64,') == 1
    assert "figures/waterfall.svg" in md and "figures/waterfall" not in html
    assert '<section class="appendix">' in html and "@page { size: A4" in html
    for badge in ("ship", "extend"):
        assert f'class="badge {badge}"' in html
    assert f"{results['combined']['headline']['pct']:+.2f}%" in html


def test_user_strings_are_text_not_markup(results: dict) -> None:
    results["components"][0]["owner"] = "<script>alert(1)</script> | team"
    results["title"] = "A <b>bold</b> title"
    md, html = render_study_memo(results)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<title>A &lt;b&gt;bold&lt;/b&gt; title</title>" in html
    row = next(x for x in md.splitlines() if x.startswith("| **E** |"))
    assert "\\| team" in row  # the pipe is escaped, not a new cell
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt; | team</td>" in html


def test_no_number_is_invented_without_cost_or_baseline(results: dict) -> None:
    """No cost: the bar is the minimum lift and the memo says 'no cost given'; no baseline: the
    memo speaks in metric units and names no break-even."""
    for c in results["components"]:
        c.update(cost_per_period=None, break_even_pct=None, cost_text="no cost given")
    for d in results["decisions"]["components"]:
        d.update(bar_pct=0.0, bar_reason="min_lift")
    md, _ = render_study_memo(results)
    assert md.count("minimum lift; no cost given") == 3 and "break-even of" not in md

    for row in [results["combined"]["headline"], *results["combined"]["contributions"]]:
        row.update(pct=None, pct_low=None, pct_high=None)
    for d in results["decisions"]["components"]:
        d.update(bar_pct=None, lower_pct=None, upper_pct=None)
    md, _ = render_study_memo(results)
    head = results["combined"]["headline"]
    assert f"**{head['estimate']:+.4f}**" in md and "of baseline" not in md
    for comp, row in zip(results["components"], results["combined"]["contributions"], strict=True):
        line = next(x for x in md.splitlines() if x.startswith(f"| **{comp['name']}** |"))
        cells = [c.strip() for c in line.split("|")]
        assert cells[3].startswith(f"{row['estimate']:+.4f} (")  # metric units, share of the lift
        assert cells[4] == f"{row['conf_low']:+.4f} to {row['conf_high']:+.4f}"
        assert cells[5] == "no cost given"


def test_memo_without_a_split_has_no_figure(results: dict) -> None:
    results["combined"]["contributions"] = []
    md, html = render_study_memo(results)
    assert "![" not in md and "<img" not in html
    assert "| **E** |" in md and "not estimated" in md


def test_waterfall_steps_add_up(results: dict) -> None:
    frame, unit = waterfall_frame(results["combined"])
    contributions = results["combined"]["contributions"]
    assert unit == "%" and list(frame["step"]) == ["E", "R", "K", "combined"]
    assert frame["end"].iloc[2] == pytest.approx(sum(r["pct"] for r in contributions))
    assert frame["end"].iloc[-1] == pytest.approx(results["combined"]["headline"]["pct"])
    # whiskers sit around where each step ends: start + the contribution's own interval
    k = contributions[2]
    assert frame["conf_low"].iloc[2] == pytest.approx(frame["start"].iloc[2] + k["pct_low"])
    with pytest.raises(ReportError, match="no per-component contributions"):
        waterfall_frame({"headline": results["combined"]["headline"], "contributions": []})


def test_figures_are_byte_identical_on_rerun(results: dict) -> None:
    fig_a = waterfall_figure(results["combined"], bars={"E": 0.2})
    fig_b = waterfall_figure(copy.deepcopy(results["combined"]), bars={"E": 0.2})
    for fmt in ("svg", "png"):
        assert figure_bytes(fig_a, fmt) == figure_bytes(fig_b, fmt)
    svg = figure_bytes(fig_a, "svg").decode()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg


def test_write_study_memo_reruns_identically(tmp_path: Path) -> None:
    first = write_study_memo(FIXTURE, tmp_path / "a", pdf=False)
    second = write_study_memo(FIXTURE, tmp_path / "b", pdf=False)
    assert set(first) == {"md", "html", "svg", "png"}
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key
    assert first["svg"] == tmp_path / "a" / "figures" / "waterfall.svg"
    assert not list(tmp_path.glob("**/*.tmp"))


def test_pdf_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("yes", 1, None):
        with pytest.raises(OptionError, match="pdf="):
            write_study_memo(FIXTURE, tmp_path, pdf=bad)  # type: ignore[arg-type]
    monkeypatch.setenv("ATTRIBUTION_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(BrowserMissing, match="ATTRIBUTION_CHROMIUM") as err:
        write_study_memo(FIXTURE, tmp_path / "strict", pdf=True)
    assert "apt-get install -y chromium" in str(err.value)
    with pytest.warns(AttributionWarning, match=r"memo.pdf skipped.*memo.md and memo.html"):
        paths = write_study_memo(FIXTURE, tmp_path / "auto", pdf="auto")
    assert "pdf" not in paths and paths["html"].exists() and paths["md"].exists()
    assert not (tmp_path / "auto" / "memo.pdf").exists()


def test_bad_results_are_typed_errors(tmp_path: Path, results: dict) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        write_study_memo(tmp_path / "missing.json", tmp_path, pdf=False)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ReportError, match="not valid JSON"):
        write_study_memo(tmp_path / "bad.json", tmp_path, pdf=False)
    with pytest.raises(ReportError, match=r"not a study results\.json"):
        render_study_memo({"title": "a single design's summary"})
    with pytest.raises(ReportError, match=r"not a study results\.json"):
        render_study_memo({**results, "schema": "attribution.study/0"})


def test_pdf_page_count() -> None:
    plain = b"%PDF-1.4\n1 0 obj <</Type /Pages /Kids [2 0 R 3 0 R] /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page /Parent 1 0 R>>"
    assert pdf_page_count(plain) == 2
    compressed = b"%PDF-1.5\n1 0 obj <</Count 3 /Type /Pages /Kids [...]>>"
    assert pdf_page_count(compressed) == 3
    with pytest.raises(ReportError, match="could not count"):
        pdf_page_count(b"%PDF-1.7 nothing")


def test_triangulation_and_decisions_keyed_by_component(results: dict) -> None:
    """The same memo when the study writes per-component blocks as mappings instead of lists."""
    expected, _ = render_study_memo(results)
    tri = results["triangulation"]
    tri["disagreement"] = {d.pop("component"): d for d in tri["disagreement"]}
    results["decisions"]["components"] = {
        d.pop("component"): d for d in results["decisions"]["components"]
    }
    md, _ = render_study_memo(results)
    assert md == expected


def test_a_failed_diagnostic_and_a_guardrail_breach_are_stated(results: dict) -> None:
    """The decision's own reasons are printed as they are; when a decision comes without reasons,
    the memo states its failed diagnostics and guardrail breaches itself."""
    k = next(d for d in results["decisions"]["components"] if d["component"] == "K")
    breach = {"metric": "latency", "verdict": "breached", "text": "latency for K rises 2.6%"}
    k.update(
        decision="do not ship",
        failed_diagnostics=["pre_trends"],
        guardrails=[breach],
        reasons=["do not ship: latency for K rises 2.6%", "also, the pre-trends test failed"],
        advice=None,
    )
    md, html = render_study_memo(results)
    row = next(x for x in md.splitlines() if x.startswith("- **K — Do not ship:**"))
    assert row.endswith(
        ":** do not ship: latency for K rises 2.6%. Also, the pre-trends test failed."
    )
    assert '<span class="badge noship">Do not ship</span>' in html
    assert "Guardrail latency: holds for E, R and the combined launch; breached for K." in md
    k["reasons"] = []
    md, _ = render_study_memo(results)
    row = next(x for x in md.splitlines() if x.startswith("- **K — Do not ship:**"))
    assert row.endswith(
        ":** failed diagnostics downgrade it: pre_trends. Latency for K rises 2.6%."
    )


def test_a_design_on_several_metrics_is_listed_once(results: dict) -> None:
    """A design run on the primary metric and on a guardrail is one design in the trust section."""
    first = results["designs"][0]
    guard = copy.deepcopy(first)
    guard.update(metric="latency", role="guardrail")
    results["designs"].insert(1, guard)
    md, _ = render_study_memo(results)
    assert md.count(f"**{first['id']}** (") == 1
    line = next(x for x in md.splitlines() if f"**{first['id']}** (" in x)
    assert "metrics engagement and latency" in line
    for d in results["designs"][2:]:
        assert md.count(f"**{d['id']}** (") == 1
