"""The one-page leadership memo (Markdown, self-contained HTML and a one-page PDF).

Two entry points share the rendering: `render_memo` for one design's `result_summary` (the demo), and
`render_study_memo` for a study's results.json (STUDY_INTERFACE.md, section 4). The memo states only
what results.json holds: a component without a cost is judged against the minimum lift and the
text says "no cost given"; no number is invented.
"""

from __future__ import annotations

import base64
import json
import math
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jinja2
import markupsafe
import mistune

from attribution.errors import AttributionWarning, OptionError, ReportError
from attribution.options import plain
from attribution.report.io import atomic_write_bytes, atomic_write_text

__all__ = ["STUDY_SCHEMA", "render_memo", "render_study_memo", "write_memo", "write_study_memo"]

STUDY_SCHEMA = "attribution.study/1"
"""The results.json schema the study memo reads."""

FIGURE = "figures/waterfall"
"""Where the waterfall goes inside the output folder (".svg" and ".png" are added)."""

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("attribution.report", "templates"),
    autoescape=False,  # Markdown output; the HTML version escapes through mistune
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
)
# A study's strings come from a user's YAML: raw HTML in them is shown as text, never interpreted.
_STUDY_MARKDOWN = mistune.create_markdown(escape=True, plugins=["table"])


class _Dot(dict):
    """Attribute access for template readability (s.total.pct)."""

    def __getattr__(self, key: str) -> Any:
        try:
            value = self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc
        return _wrap(value)


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _Dot(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _load(results_or_path: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if not isinstance(results_or_path, str | Path):
        return results_or_path
    path = Path(results_or_path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ReportError(
            f"{str(path)!r} does not exist", fix="run the study first (attribution run <spec>)"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg})",
            fix="rerun the study to rewrite it",
        ) from exc


def render_memo(summary: Mapping[str, Any]) -> tuple[str, str]:
    """(markdown, html) of the memo for a `result_summary` dict."""
    s = _wrap(dict(summary))
    s.setdefault("truth_text", None)
    md = _ENV.get_template("memo.md.j2").render(s=s)
    body = mistune.html(md)
    page = _ENV.get_template("page.html.j2").render(title=summary["title"], body=body, footer="")
    return md, page


def write_memo(
    summary_or_path: Mapping[str, Any] | str | Path, out_dir: str | Path
) -> tuple[Path, Path]:
    """Write memo.md and memo.html (atomically) into `out_dir`; accepts the summary or its JSON file."""
    md, html = render_memo(_load(summary_or_path))
    out = Path(out_dir)
    return atomic_write_text(out / "memo.md", md), atomic_write_text(out / "memo.html", html)


# ------------------------------------------------------------------------------------------------
# the study memo
# ------------------------------------------------------------------------------------------------
_DECISIONS = {"ship": "Ship", "do not ship": "Do not ship", "extend": "Extend"}
_BADGE = {"Ship": "ship", "Extend": "extend", "Do not ship": "noship"}
_GUARDRAIL_OK = ("holds", "within", "ok", "pass")  # guardrail verdicts that need no sentence


def _f(value: Any) -> float | None:
    """A finite float, else None (results.json writes NaN as null)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _signed(value: Any, unit: str, digits: int = 2) -> str:
    v = _f(value)
    return "—" if v is None else f"{v:+.{digits}f}{unit}"


def _span(lo: Any, hi: Any, unit: str, digits: int = 2) -> str:
    if _f(lo) is None or _f(hi) is None:
        return "no interval"
    return f"{_signed(lo, unit, digits)} to {_signed(hi, unit, digits)}"


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell or list item (no pipes, no line breaks)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _and(names: Sequence[str]) -> str:
    names = [str(n) for n in names]
    if not names:
        return "the components"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _check_schema(results: Mapping[str, Any]) -> None:
    if not isinstance(results, Mapping) or results.get("schema") != STUDY_SCHEMA:
        found = results.get("schema") if isinstance(results, Mapping) else type(results).__name__
        raise ReportError(
            f"not a study results.json: schema is {found!r}, expected {STUDY_SCHEMA!r}",
            fix="render a single design's summary with render_memo, or rerun the study "
            "(attribution run <spec>) to write a current results.json",
        )


def _records(obj: Any) -> list[Mapping[str, Any]]:
    """Rows as a list of dicts, from a list of records or a mapping keyed by component."""
    if isinstance(obj, Mapping):
        return [{"component": k, **v} for k, v in obj.items() if isinstance(v, Mapping)]
    return [r for r in obj or [] if isinstance(r, Mapping)]


def _get(row: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` the row has (results.json key spellings of other modules)."""
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def _by_component(rows: Any) -> dict[str, Mapping[str, Any]]:
    return {str(r["component"]): r for r in _records(rows) if "component" in r}


def _scale(combined: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Keys and unit of the numbers the memo states: % of baseline when known, else metric units."""
    head = combined.get("headline") or {}
    rows = combined.get("contributions") or []
    if _f(head.get("pct")) is not None and all(_f(r.get("pct")) is not None for r in rows):
        return "pct", "pct_low", "pct_high", "%"
    return "estimate", "conf_low", "conf_high", ""


def _combined_text(results: Mapping[str, Any], comps: Sequence[str]) -> str:
    combined = results.get("combined") or {}
    head = combined.get("headline") or {}
    key, lo, hi, unit = _scale(combined)
    metric = combined.get("metric") or "the primary metric"
    value = _f(head.get(key))
    if value is None:
        return (
            "No single design estimated every component together, so there is no combined "
            "effect to split; each component below stands on its own estimate."
        )
    verb = "raised" if value > 0 else "lowered" if value < 0 else "did not change"
    digits = 2 if unit else 4
    interval = _span(head.get(lo), head.get(hi), unit, digits)
    p = _f(head.get("p_value"))
    what = f"Together, {_and(comps)} {verb} {metric} by **{_signed(value, unit, digits)}**"
    if unit == "%" and _f(head.get("estimate")) is not None:
        what += " of baseline"
    detail = f"{results.get('level', '95%')} interval {interval}" + (
        f"; p = {p:.2g}" if p is not None else ""
    )
    run_id = str(combined.get("design") or "")
    kinds = {str(d.get("id")): str(d.get("design")) for d in results.get("designs") or []}
    kind = kinds.get(run_id)
    if not run_id:
        by = "the combined design"
    elif kind and kind != run_id:
        by = f"the {run_id} design ({kind})"
    else:
        by = f"the {run_id} design"
    return f"{what} ({detail}), measured by {by}."


def _decision_label(decision: Mapping[str, Any] | None) -> str:
    if not decision:
        return "No decision"
    d = str(decision.get("decision", ""))
    return _DECISIONS.get(d, d.capitalize() or "No decision")


def _why(decision: Mapping[str, Any] | None) -> str:
    """Plain sentences: the decision's reasons and advice. Failed diagnostics and guardrails that
    are not fine are stated here only when the reasons do not explain the decision."""
    if not decision:
        return "no decision was recorded for it."
    parts = [str(r) for r in decision.get("reasons") or [] if str(r).strip()]
    if not parts:
        failed = [str(f) for f in decision.get("failed_diagnostics") or []]
        if failed:
            parts.append(f"failed diagnostics downgrade it: {', '.join(failed)}")
        for g in _records(decision.get("guardrails")):
            verdict = str(g.get("verdict") or "")
            if verdict and not verdict.lower().startswith(_GUARDRAIL_OK):
                parts.append(str(g.get("text") or f"guardrail {g.get('metric')}: {verdict}"))
    if decision.get("advice"):
        parts.append(str(decision["advice"]))
    if not parts:
        return "no reason was recorded."
    sentences = [_sentence(parts[0])] + [_sentence(p[:1].upper() + p[1:]) for p in parts[1:]]
    return _cell(" ".join(sentences))


def _bar_text(decision: Mapping[str, Any] | None, component: Mapping[str, Any]) -> str:
    bar = _f((decision or {}).get("bar_pct"))
    cost = _f(component.get("cost_per_period"))
    no_cost = "no cost given"
    if bar is None:
        return no_cost if cost is None else "no bar (the lift has no baseline to compare with)"
    reason = (decision or {}).get("bar_reason")
    if reason == "break-even" and cost is not None:
        return f"{bar:+.2f}%: break-even of {cost:,.0f} per period"
    if cost is None:
        return f"{bar:+.2f}%: minimum lift; {no_cost}"
    be = _f(component.get("break_even_pct"))
    return f"{bar:+.2f}%: minimum lift" + (
        f" (above break-even {be:+.2f}%)" if be is not None else ""
    )


def _rows(results: Mapping[str, Any]) -> list[dict[str, str]]:
    combined = results.get("combined") or {}
    key, lo, hi, unit = _scale(combined)
    contributions = _by_component(combined.get("contributions"))
    decisions = _by_component((results.get("decisions") or {}).get("components"))
    total = _f((combined.get("headline") or {}).get(key))
    out = []
    for comp in results.get("components") or []:
        name = str(comp["name"])
        c = contributions.get(name, {})
        d = decisions.get(name)
        value = _f(c.get(key))
        share = f" ({100 * value / total:.0f}% of the lift)" if value is not None and total else ""
        # the interval the decision rests on (in % of baseline), else the contribution's own
        if d is not None and _f(d.get("lower_pct")) is not None and unit == "%":
            interval = _span(d.get("lower_pct"), d.get("upper_pct"), "%")
        else:
            interval = _span(c.get(lo), c.get(hi), unit, 2 if unit else 4)
        label = _decision_label(d)
        out.append(
            {
                "component": _cell(name),
                "owner": _cell(comp.get("owner") or "—"),
                "contribution": "not estimated"
                if value is None
                else _signed(value, unit, 2 if unit else 4) + share,
                "interval": interval,
                "bar": _cell(_bar_text(d, comp)),
                "label": label,
                "why": _why(d),
            }
        )
    return out


def _checks_text(summary: Mapping[str, Any]) -> str:
    checks = summary.get("checks") or []
    text = str(summary.get("checks_text") or f"{len(checks)} checks")
    failed = [c for c in checks if c.get("passed") is False]
    if failed:
        text += ": " + "; ".join(
            f"{c['name']}"
            + (f" (p = {_f(c.get('p_value')):.2g})" if _f(c.get("p_value")) is not None else "")
            + f" — {_short(str(c.get('detail', '')))}"
            for c in failed
        )
    return _sentence(text)


def _short(text: str, limit: int = 150) -> str:
    """A check's detail cut to its first sentence, and to `limit` characters at a word boundary."""
    text = re.sub(r"\s*\([^()]{40,}\)", "", " ".join(text.split()))  # long lists in brackets
    first = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0]
    if len(first) <= limit:
        return first.rstrip(".;")
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


def _trust(results: Mapping[str, Any]) -> list[str]:
    lines = []
    designs = results.get("designs") or []
    # one line per design: a design run on the primary metric and on guardrails is one design
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for d in designs:
        by_id.setdefault(str(d["id"]), []).append(d)
    for ident, same in by_id.items():
        d = next((x for x in same if x.get("role") == "primary"), same[0])
        summary = d.get("summary") or {}
        n = summary.get("sample_size")
        size = f", {n:,} units" if isinstance(n, int) and not isinstance(n, bool) else ""
        metrics = [str(x["metric"]) for x in same if x.get("metric")]
        on = f"; metrics {_and(metrics)}" if len(metrics) > 1 else ""
        lines.append(
            f"**{_cell(ident)}** ({_cell(d.get('design', ''))} on {_and(d.get('estimates') or ['?'])}"
            f"{size}{_cell(on)}) assumes "
            f"{_cell(_sentence(str(d.get('key_assumption') or 'not stated')))} "
            f"Checks: {_cell(_checks_text(summary))}"
        )
    tri = results.get("triangulation") or {}
    table = _records(tri.get("table"))
    single, agree = [], []
    for dis in _records(tri.get("disagreement")):
        comp = str(dis.get("component"))
        rows = [r for r in table if str(r.get("component")) == comp]
        n = int(_get(dis, "n_designs", "n", "k") or len(rows))
        if n < 2:
            single.append(comp)
            continue
        q = _f(_get(dis, "q", "Q", "cochran_q"))
        df, p = _get(dis, "df"), _f(_get(dis, "p_value", "p"))
        stat = (
            f"Cochran's Q = {q:.1f} on {df} df, p = {p:.2g}"
            if q is not None and p is not None
            else ""
        )
        values = ", ".join(
            f"{_get(r, 'design_id', 'id', 'design')} {_signed(r.get('pct'), '%')}"
            if _f(r.get("pct")) is not None
            else f"{_get(r, 'design_id', 'id', 'design')} {_signed(r.get('estimate'), '', 4)}"
            for r in rows
        )
        if _get(dis, "flag", "disagree"):
            lines.append(
                f"**{_cell(comp)}: the {n} designs disagree** by more than sampling noise explains "
                f"({stat}): {_cell(values)}. Its size is less certain than any one interval says."
            )
        else:
            agree.append(f"{comp} ({n} designs{'; ' + stat if stat else ''})")
    if agree:
        lines.append(f"The designs agree within sampling noise on {_cell(_and(agree))}.")
    if single:
        lines.append(f"{_cell(_and(single))}: estimated by one design only, so not cross-checked.")
    if not tri:
        lines.append("No triangulation: only one design was run.")
    # guardrail metric -> verdict -> who (components, then the combined launch)
    guard: dict[str, dict[str, list[str]]] = {}
    decisions = results.get("decisions") or {}
    combined = dict(decisions.get("combined") or {})
    whole = [
        *_records(decisions.get("components")),
        {**combined, "component": "the combined launch"},
    ]
    for d in whole:
        for g in _records(d.get("guardrails")):
            by_verdict = guard.setdefault(str(g.get("metric")), {})
            by_verdict.setdefault(str(g.get("verdict")), []).append(str(d.get("component")))
    for metric, by_verdict in sorted(guard.items()):
        if len(by_verdict) == 1:
            (verdict,) = by_verdict
            text = f"{verdict} for every component and the combined launch"
        else:
            text = "; ".join(f"{v} for {_and(who)}" for v, who in by_verdict.items())
        lines.append(f"Guardrail {_cell(metric)}: {_cell(text)}.")
    return lines


def _appendix(results: Mapping[str, Any]) -> list[str]:
    prov = results.get("provenance") or {}
    spec = results.get("spec") or {}
    lines = []
    sha = str(spec.get("sha256") or "")
    lines.append(
        f"Spec `{_cell(spec.get('path', '—'))}`"
        + (f" (sha256 `{sha[:16]}`)" if sha else "")
        + f"; results.json schema {results.get('schema')}; {results.get('level', '95%')} intervals "
        f"(alpha {results.get('alpha')})."
    )
    for t in prov.get("data") or []:
        rows = t.get("rows")
        name, table = t.get("name"), t.get("table")
        label = f"{name} ({table})" if name and table and name != table else (name or table)
        lines.append(
            f"Data {_cell(label)}: "
            + (f"{rows:,} rows" if isinstance(rows, int) else "rows not recorded")
            + f" on {_cell(t.get('backend', '—'))}; contract {_cell(t.get('contract') or '—')}"
            + (f" v{t['contract_version']}" if t.get("contract_version") else "")
            + (
                f"; fingerprint `{_cell(str(t['fingerprint'])[:16])}`"
                if t.get("fingerprint")
                else ""
            )
            + "."
        )
    options = prov.get("options") or {}
    if options:
        lines.append(
            "Options: "
            + "; ".join(
                f"{_cell(k)}: "
                + (
                    ", ".join(f"{a}={_cell(_opt(v))}" for a, v in o.items())
                    if isinstance(o, Mapping) and o
                    else "defaults"
                )
                for k, o in options.items()
            )
            + "."
        )
    seeds = prov.get("seeds") or {}
    if seeds:
        lines.append("Seeds: " + ", ".join(f"{_cell(k)} {v}" for k, v in seeds.items()) + ".")
    versions = prov.get("versions") or {}
    if versions:
        lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    books = [str(d["notebook"]) for d in results.get("designs") or [] if d.get("notebook")]
    if books:
        lines.append("Design notebooks (in this folder): " + ", ".join(books) + "; report.html.")
    return lines


def _opt(value: Any) -> str:
    if isinstance(value, str):
        return value
    return (
        json.dumps(value, sort_keys=True, allow_nan=False)
        if isinstance(value, list | dict)
        else plain(value)
    )


def _view(results: Mapping[str, Any], figure_src: str | None) -> dict[str, Any]:
    """Everything the template prints, as formatted strings."""
    comps = [str(c["name"]) for c in results.get("components") or []]
    combined = results.get("combined") or {}
    _, _, _, unit = _scale(combined)
    contributions = _by_component(combined.get("contributions"))
    key = "pct" if unit else "estimate"
    alt = "Waterfall of each component's contribution: " + ", ".join(
        f"{c} {_signed(contributions[c].get(key), unit, 2 if unit else 4)}"
        for c in comps
        if c in contributions
    )
    cd = (results.get("decisions") or {}).get("combined")
    return {
        "title": results.get("title") or results.get("study"),
        "study": results.get("study"),
        "date": results.get("date") or "",
        "level": results.get("level") or "95%",
        "simulated": results.get("truth") is not None,
        "recommendation": _cell(results.get("recommendation") or "No recommendation was recorded."),
        "combined_text": _combined_text(results, comps),
        "combined_decision": {"label": _decision_label(cd), "why": _why(cd)} if cd else None,
        "figure_src": figure_src,
        "figure_alt": _cell(
            alt + "; combined " + _signed((combined.get("headline") or {}).get(key), unit)
        ),
        "rows": _rows(results),
        "trust": _trust(results),
        "appendix": _appendix(results),
    }


def _bars(results: Mapping[str, Any]) -> dict[str, float]:
    """Break-even launch bars to mark on the waterfall (a minimum lift is not drawn)."""
    out = {}
    for d in _records((results.get("decisions") or {}).get("components")):
        bar = _f(d.get("bar_pct"))
        if bar is not None and d.get("bar_reason") == "break-even":
            out[str(d["component"])] = bar
    return out


def _figure(results: Mapping[str, Any]) -> Any | None:
    from attribution.report.waterfall import waterfall_figure

    combined = results.get("combined") or {}
    if not combined.get("contributions"):
        return None
    return waterfall_figure(combined, level=results.get("level") or "95%", bars=_bars(results))


def _render(
    results: Mapping[str, Any], svg: bytes | None, *, compact: bool = False
) -> tuple[str, str]:
    view = _view(results, f"{FIGURE}.svg" if svg is not None else None)
    template = _ENV.get_template("study_memo.md.j2")
    md = template.render(m=_wrap(view))
    main, _, appendix = md.partition("\n## Appendix")
    body = _STUDY_MARKDOWN(main)
    if svg is not None:
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        body = body.replace(f'src="{FIGURE}.svg"', f'src="{uri}"', 1)
    body = re.sub(
        r"<strong>(Ship|Extend|Do not ship)</strong>",
        lambda m: f'<span class="badge {_BADGE[m.group(1)]}">{m.group(1)}</span>',
        body,
    )
    page = _ENV.get_template("memo_page.html.j2").render(
        title=markupsafe.escape(view["title"]),
        body=body,
        appendix=_STUDY_MARKDOWN("## Appendix" + appendix) if appendix else "",
        compact=compact,
    )
    return md, page


def render_study_memo(results: Mapping[str, Any]) -> tuple[str, str]:
    """(markdown, html) of the one-page memo for a study's results.json dict.

    The Markdown links the waterfall as figures/waterfall.svg (written by `write_study_memo`); the
    HTML embeds it as a data URI, so the HTML file stands alone.
    """
    from attribution.report.waterfall import figure_bytes

    _check_schema(results)
    fig = _figure(results)
    return _render(results, None if fig is None else figure_bytes(fig, "svg"))


def write_study_memo(
    results_json_path: str | Path | Mapping[str, Any],
    out_dir: str | Path,
    *,
    pdf: bool | Literal["auto"] = "auto",
) -> dict[str, Path]:
    """Write memo.md, memo.html, figures/waterfall.svg and .png, and memo.pdf into `out_dir`.

    `pdf`: True needs Chromium and a one-page result (else ReportError); "auto" skips the PDF with
    a warning when Chromium is missing and warns when it runs past one page; False writes none.
    Returns {"md", "html", "svg", "png", "pdf"} paths (no "pdf" when it was not written).
    """
    if not (pdf is True or pdf is False or pdf == "auto"):
        raise OptionError(
            f"pdf={plain(pdf)} is not a valid option", fix="use True, False or 'auto'"
        )
    from attribution.report.waterfall import figure_bytes

    results = _load(results_json_path)
    _check_schema(results)
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    fig = _figure(results)
    svg = None
    if fig is not None:
        svg = figure_bytes(fig, "svg")
        paths["svg"] = atomic_write_bytes(out / f"{FIGURE}.svg", svg)
        paths["png"] = atomic_write_bytes(out / f"{FIGURE}.png", figure_bytes(fig, "png"))
    md, html = _render(results, svg)
    paths["md"] = atomic_write_text(out / "memo.md", md)
    paths["html"] = atomic_write_text(out / "memo.html", html)
    if pdf is not False:
        compact = _render(results, svg, compact=True)[1]
        written = _write_pdf(paths["html"], compact, out / "memo.pdf", strict=pdf is True)
        if written is not None:
            paths["pdf"] = written
    return paths


def _write_pdf(html: Path, compact_html: str, target: Path, *, strict: bool) -> Path | None:
    """Print the memo; when it runs past one page, print the compact layout (smaller type and
    figure) instead. Only a PDF that passed (or, with strict=False, the best one) replaces `target`."""
    from attribution.report.browser import BrowserMissing
    from attribution.report.pdf import html_to_pdf, pdf_page_count

    with tempfile.TemporaryDirectory(prefix="attribution-memo-") as tmp:
        try:
            data = html_to_pdf(html, Path(tmp) / "memo.pdf").read_bytes()
        except BrowserMissing as exc:
            if strict:
                raise
            warnings.warn(
                f"memo.pdf skipped: {exc.message} (memo.md and memo.html were written); "
                f"fix: {exc.fix}",
                AttributionWarning,
                stacklevel=3,
            )
            return None
        pages = pdf_page_count(data)
        if pages > 1:
            # beside memo.html so relative links resolve the same way
            small = atomic_write_text(
                html.with_name(f".{html.stem}.compact.tmp.html"), compact_html
            )
            try:
                data = html_to_pdf(small, Path(tmp) / "memo.pdf").read_bytes()
            finally:
                small.unlink(missing_ok=True)
            pages = pdf_page_count(data)
    if pages != 1:
        message = f"memo.pdf has {pages} pages even in the compact layout; the memo should fit one"
        fix = "shorten the recommendation, the decisions' reasons or the designs' key assumptions"
        if strict:
            raise ReportError(message, fix=fix)
        warnings.warn(f"{message}; fix: {fix}", AttributionWarning, stacklevel=3)
    return atomic_write_bytes(target, data)
