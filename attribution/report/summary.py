"""Turn any design's result into the numbers a report and a memo state (one JSON-safe dict).

Only the Result contract is read: `headline`, `tidy()` (rows whose `component` is set are the
per-component contributions that add up to the headline), `checks`, `baseline`, `description`,
`sample_size`, `alpha` and `provenance`; never a design's own fields. The notebook writes the dict to
``results.json``; the memo is rendered from that file, so the report and the memo cannot disagree.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from attribution.errors import OptionError
from attribution.results import Check, Result, now, to_jsonable

__all__ = [
    "factorial_summary",
    "result_summary",
    "truth_comparison",
    "truth_terms",
    "truth_to_dict",
]


def truth_to_dict(truth: Any) -> dict[str, Any]:
    """The parts of a simulator GroundTruth a report compares against (JSON-safe).

    `terms` keys every true value by the tidy term it is compared with: the effects by their own
    term, the all-on minus all-off difference as ``total`` and each Shapley share as
    ``contribution(<component>)``.
    """
    terms = {str(t): float(v) for t, v in truth.effects.items()}
    terms["total"] = float(truth.total)
    terms.update({f"contribution({c})": float(v) for c, v in truth.shapley.items()})
    return to_jsonable(
        {
            "components": list(truth.components),
            "baseline": truth.baseline,
            "total": truth.total,
            "effects": truth.effects,
            "shapley": truth.shapley,
            "cell_means": truth.cell_means,
            "terms": terms,
        }
    )


def truth_terms(truth: Mapping[str, Any] | Any) -> dict[str, float]:
    """True values keyed by tidy term, from a `truth_to_dict` dict, a plain {term: value} mapping,
    or a simulator GroundTruth."""
    if not isinstance(truth, Mapping):
        truth = truth_to_dict(truth)
    if "terms" in truth and isinstance(truth["terms"], Mapping):
        truth = truth["terms"]
    return {str(k): float(v) for k, v in truth.items() if isinstance(v, int | float)}


def truth_comparison(result: Result, truth: Mapping[str, Any] | Any) -> pd.DataFrame:
    """Estimates beside the known truth: one row per tidy row whose term has a true value.

    `kind` is "headline" (the headline's term), "contribution" (rows with `component` set) or
    "estimate"; `covered` says whether the pointwise interval holds the truth.
    """
    values = truth_terms(truth)
    head = result.headline.term
    tab = result.tidy()
    comp = tab["component"] if "component" in tab.columns else pd.Series(None, index=tab.index)
    rows = []
    for (_, r), c in zip(tab.iterrows(), comp, strict=True):
        if r["term"] not in values:
            continue
        has_comp = c is not None and not pd.isna(c)
        kind = "headline" if r["term"] == head else ("contribution" if has_comp else "estimate")
        rows.append(
            (
                kind,
                r["term"],
                c if has_comp else None,
                r["estimate"],
                r["conf_low"],
                r["conf_high"],
                values[r["term"]],
            )
        )
    cols = ["kind", "term", "component", "estimate", "conf_low", "conf_high", "truth"]
    out = pd.DataFrame(rows, columns=cols)
    for col in ("estimate", "conf_low", "conf_high", "truth"):
        out[col] = out[col].astype(float)
    out["covered"] = (out["conf_low"] <= out["truth"]) & (out["truth"] <= out["conf_high"])
    return out


def _verdict(est: float, lo: float | None, hi: float | None, break_even: float | None) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "no interval"
    if break_even is None:
        if lo > 0:
            return "positive"
        if hi < 0:
            return "negative"
        return "inconclusive"
    if lo > break_even:
        return "pays for itself"
    if hi < break_even:
        return "does not pay"
    return "likely pays" if est > break_even else "unlikely to pay"


def _reading(term: str, positive: bool, components: list[str]) -> str:
    """Plain words for an estimate whose interval excludes zero. A term in model-formula
    interaction notation whose parts are all components of the split ('E:R') reads as how those
    components combine; anything else as its sign."""
    parts = term.split(":")
    if len(parts) > 1 and all(p in components for p in parts):
        names = " and ".join(parts)
        if positive:
            return f"{names} reinforce each other: together they bring more than the sum of their parts"
        return f"{names} partly substitute for each other"
    return "above zero" if positive else "below zero"


def _num(value: Any) -> float | None:
    """A finite float or None (tidy cells may be NaN or missing)."""
    if value is None or pd.isna(value):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _scaled(value: float | None, scale: float | None) -> float | None:
    return None if value is None or scale is None else value * scale


def _interval(lo: float | None, hi: float | None, fmt: str, unit: str = "") -> str:
    if lo is None or hi is None:
        return "—"
    return f"{lo:{fmt}}{unit} to {hi:{fmt}}{unit}"


def _number_row(est: float, se: Any, lo: Any, hi: Any, p: Any, pct: float | None) -> dict:
    lo, hi = _num(lo), _num(hi)
    return {
        "estimate": est,
        "std_error": _num(se),
        "conf_low": lo,
        "conf_high": hi,
        "p_value": _num(p),
        "pct": _scaled(est, pct),
        "pct_low": _scaled(lo, pct),
        "pct_high": _scaled(hi, pct),
    }


def _headline_text(h: dict[str, Any], label: str, baseline: float | None, level: str) -> str:
    """'Label: **+2.03%** (+0.080 on a baseline of 3.945; 95% interval +1.20% to +2.86%, p = 1e-05).'"""
    if h["pct"] is not None:
        main = f"**{h['pct']:+.2f}%**"
        detail = [f"{h['estimate']:+.3f} on a baseline of {baseline:.3f}"]
        if h["pct_low"] is not None and h["pct_high"] is not None:
            detail.append(f"{level} interval {_interval(h['pct_low'], h['pct_high'], '+.2f', '%')}")
    else:
        main = f"**{h['estimate']:+.4g}**"
        detail = []
        if h["conf_low"] is not None and h["conf_high"] is not None:
            detail.append(f"{level} interval {_interval(h['conf_low'], h['conf_high'], '+.4g')}")
    if h["p_value"] is not None:
        detail.append(f"p = {h['p_value']:.2g}")
    label = label[0].upper() + label[1:]
    return f"{label}: {main}" + (f" ({'; '.join(detail)})" if detail else "") + "."


def result_summary(
    result: Result,
    *,
    title: str,
    break_even_pct: Mapping[str, float] | None = None,
    contract: Any | None = None,
    truth: Mapping[str, Any] | Any | None = None,
    reproduce: str = "",
) -> dict[str, Any]:
    """The numbers a memo and a report state about any design's result (JSON-safe).

    `break_even_pct`: per component, the lift (in % of the result's `baseline`) it must bring to pay
    for its cost; components without an entry are judged on whether their interval excludes zero.
    `contract`: the data-contract report (or a `Check`), listed with the result's checks.
    `truth`: known true values keyed by tidy term (simulations), compared with every interval.
    """
    if contract is not None:
        result = result.with_checks(
            contract if isinstance(contract, Check) else contract.as_check()
        )
    level = f"{100 * (1 - result.alpha):g}%"
    baseline = _num(result.baseline)
    pct = 100.0 / baseline if baseline else None
    h = result.headline
    headline = {
        "term": h.term,
        "label": h.label,
        **_number_row(h.estimate, h.std_error, h.conf_low, h.conf_high, h.p_value, pct),
    }
    headline["text"] = _headline_text(headline, h.label, baseline, level)

    tab = result.tidy()
    has_comp = (
        tab["component"].notna() if "component" in tab.columns else pd.Series(False, tab.index)
    )
    contrib_rows = tab[has_comp]
    be = dict(break_even_pct or {})
    known = [str(c) for c in contrib_rows.get("component", [])]
    unknown = sorted(set(be) - set(known))
    if unknown:
        raise OptionError(
            f"break_even_pct names unknown component(s) {unknown}",
            fix=f"components are {known}"
            if known
            else "this result has no per-component contributions to judge",
        )
    if be and pct is None:
        raise OptionError(
            "break_even_pct needs the baseline the percentages refer to, and this result has none",
            fix="leave break_even_pct out",
        )
    contributions = []
    for r in contrib_rows.itertuples(index=False):
        row = _number_row(r.estimate, r.std_error, r.conf_low, r.conf_high, r.p_value, pct)
        b = be.get(r.component)
        b_abs = None if b is None or pct is None else b / pct
        row.update(
            {
                "component": str(r.component),
                "term": r.term,
                "share": r.estimate / h.estimate if h.estimate != 0 else None,
                "break_even_pct": b,
                "break_even_text": "—" if b is None else f"{b:+.2f}",
                "verdict": _verdict(r.estimate, row["conf_low"], row["conf_high"], b_abs),
            }
        )
        row["pct_text"] = "—" if row["pct"] is None else f"{row['pct']:+.2f}"
        row["interval_text"] = (
            _interval(row["pct_low"], row["pct_high"], "+.2f")
            if pct is not None
            else _interval(row["conf_low"], row["conf_high"], "+.3f")
        )
        row["share_text"] = "—" if row["share"] is None else f"{100 * row['share']:.0f}%"
        contributions.append(row)
    verdict_lines = []
    for r in contributions:
        interval = (
            _interval(r["pct_low"], r["pct_high"], "+.2f", "%")
            if pct is not None
            else _interval(r["conf_low"], r["conf_high"], "+.3f")
        )
        if r["break_even_pct"] is None:
            verdict_lines.append(
                f"**{r['component']}**: contribution is {r['verdict']} ({interval}); no cost given."
            )
        else:
            verdict_lines.append(
                f"**{r['component']}**: {r['verdict']} — brings {r['pct']:+.2f}% against a "
                f"break-even of {r['break_even_pct']:+.2f}% ({level} interval {interval})."
            )
    others = []
    for r in tab[~has_comp].itertuples(index=False):
        lo, hi = _num(r.conf_low), _num(r.conf_high)
        if r.term == h.term or lo is None or hi is None or lo <= 0 <= hi:
            continue
        others.append(
            {
                "term": str(r.term),
                "estimate": float(r.estimate),
                "conf_low": lo,
                "conf_high": hi,
                "p_value": _num(r.p_value),
                "reading": _reading(str(r.term), lo > 0, known),
            }
        )
    checks = [{**c.to_dict(), "verdict": c.verdict} for c in result.checks]
    n_passed = sum(c.passed is True for c in result.checks)
    n_failed = sum(c.passed is False for c in result.checks)
    checks_text = (
        "no checks were run"
        if not checks
        else f"{n_passed} of {len(checks)} passed"
        + (f", {n_failed} FAILED" if n_failed else "")
        + (
            f", {len(checks) - n_passed - n_failed} for information (not pass/fail)"
            if len(checks) - n_passed - n_failed
            else ""
        )
    )
    prov = result.provenance
    data = prov.data
    out: dict[str, Any] = {
        "title": title,
        "date": now().date().isoformat(),
        "design": result.design,
        "description": result.description,
        "level": level,
        "alpha": result.alpha,
        "baseline": baseline,
        "sample_size": result.sample_size,
        "headline": headline,
        "contributions": contributions,
        "verdict_lines": verdict_lines,
        "other_estimates": others,
        "checks": checks,
        "checks_text": checks_text,
        "reproduce": reproduce or "rerun the report notebook with the same parameters",
        "provenance_line": (
            f"{prov.design}; {data.n_rows:,} rows on {data.backend}"
            if data is not None
            else prov.design
        )
        + "; "
        + ", ".join(f"{k} {v}" for k, v in prov.versions.items()),
        "result": result.to_dict(),
    }
    if truth is not None:
        cmp = truth_comparison(result, truth)
        out["truth_comparison"] = cmp
        n_cov, n = int(cmp["covered"].sum()), len(cmp)
        out["truth_text"] = (
            f"the simulator's true values lie inside {n_cov} of {n} {level} intervals "
            f"(the headline, the contributions and the other estimates)"
        )
    return to_jsonable(out)


def factorial_summary(
    result: Result,
    *,
    title: str,
    break_even_pct: Mapping[str, float] | None = None,
    contract: Any | None = None,
    truth: Mapping[str, Any] | Any | None = None,
    reproduce: str = "",
) -> dict[str, Any]:
    """Deprecated name of `result_summary` (which works for every design)."""
    warnings.warn(
        "factorial_summary is deprecated; use result_summary (same arguments, any design)",
        DeprecationWarning,
        stacklevel=2,
    )
    return result_summary(
        result,
        title=title,
        break_even_pct=break_even_pct,
        contract=contract,
        truth=truth,
        reproduce=reproduce,
    )
