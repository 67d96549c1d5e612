"""Turn a factorial result into the numbers a report and a memo state (one JSON-safe dict).

The notebook writes this dict to ``results.json``; the memo is rendered from that file, so the report and
the memo cannot disagree.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from attribution.errors import OptionError
from attribution.results import to_jsonable

__all__ = ["factorial_summary", "truth_comparison", "truth_to_dict"]


def truth_to_dict(truth: Any) -> dict[str, Any]:
    """The parts of a simulator GroundTruth a report compares against (JSON-safe)."""
    return to_jsonable(
        {
            "components": list(truth.components),
            "baseline": truth.baseline,
            "total": truth.total,
            "effects": truth.effects,
            "shapley": truth.shapley,
            "cell_means": truth.cell_means,
        }
    )


def truth_comparison(result: Any, truth: Mapping[str, Any] | Any) -> pd.DataFrame:
    """Estimates beside the known truth: one row per effect, Shapley contribution and the total."""
    t = truth if isinstance(truth, Mapping) else truth_to_dict(truth)
    rows = []
    for r in result.tidy().itertuples(index=False):
        rows.append(("effect", r.term, r.estimate, r.conf_low, r.conf_high, t["effects"][r.term]))
    for r in result.shapley.itertuples(index=False):
        rows.append(
            ("shapley", r.component, r.estimate, r.conf_low, r.conf_high, t["shapley"][r.component])
        )
    se = result.total_std_error
    crit = (
        result.shapley["conf_high"].iloc[0] - result.shapley["estimate"].iloc[0]
    ) / result.shapley["std_error"].iloc[0]
    rows.append(
        (
            "total",
            "all on − all off",
            result.total,
            result.total - crit * se,
            result.total + crit * se,
            t["total"],
        )
    )
    out = pd.DataFrame(rows, columns=["kind", "term", "estimate", "conf_low", "conf_high", "truth"])
    out["covered"] = (out["conf_low"] <= out["truth"]) & (out["truth"] <= out["conf_high"])
    return out


def _verdict(est: float, lo: float, hi: float, break_even: float | None) -> str:
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


def factorial_summary(
    result: Any,
    *,
    title: str,
    break_even_pct: Mapping[str, float] | None = None,
    contract: Any | None = None,
    truth: Mapping[str, Any] | Any | None = None,
    reproduce: str = "",
) -> dict[str, Any]:
    """Headline numbers of a full-factorial study for the memo and the report.

    `break_even_pct`: per component, the lift (in % of the all-off baseline) it must bring to pay for its
    cost; components without an entry are judged on whether their interval excludes zero.
    """
    be = dict(break_even_pct or {})
    unknown = set(be) - set(result.factors)
    if unknown:
        raise OptionError(
            f"break_even_pct names unknown component(s) {sorted(unknown)}",
            fix=f"components are {list(result.factors)}",
        )
    cells = result.cell_means
    baseline = float(cells["adjusted_mean"].iloc[0])  # all-off cell comes first (standard order)
    pct = 100.0 / baseline
    level = f"{100 * (1 - result.alpha):g}%"
    shap = result.shapley
    crit = float((shap["conf_high"].iloc[0] - shap["estimate"].iloc[0]) / shap["std_error"].iloc[0])
    total, total_se = result.total, result.total_std_error
    rows = []
    for r in shap.itertuples(index=False):
        b = be.get(r.component)
        b_abs = None if b is None else b / pct
        rows.append(
            {
                "component": r.component,
                "estimate": r.estimate,
                "std_error": r.std_error,
                "conf_low": r.conf_low,
                "conf_high": r.conf_high,
                "pct": r.estimate * pct,
                "pct_low": r.conf_low * pct,
                "pct_high": r.conf_high * pct,
                "share": r.estimate / total if total != 0 else np.nan,
                "break_even_pct": b,
                "break_even_text": "—" if b is None else f"{b:+.2f}",
                "verdict": _verdict(r.estimate, r.conf_low, r.conf_high, b_abs),
            }
        )
    verdict_lines = []
    for r in rows:
        if r["break_even_pct"] is None:
            verdict_lines.append(
                f"**{r['component']}**: contribution is {r['verdict']} "
                f"({r['pct_low']:+.2f}% to {r['pct_high']:+.2f}%); no cost given."
            )
        else:
            verdict_lines.append(
                f"**{r['component']}**: {r['verdict']} — brings {r['pct']:+.2f}% against a break-even of "
                f"{r['break_even_pct']:+.2f}% ({level} interval {r['pct_low']:+.2f}% to {r['pct_high']:+.2f}%)."
            )
    inter = []
    for r in result.tidy().itertuples(index=False):
        if ":" in r.term and (r.conf_low > 0 or r.conf_high < 0):
            a = r.term.split(":")
            reading = (
                f"{' and '.join(a)} reinforce each other: together they bring more than the sum of their parts"
                if r.estimate > 0
                else f"{' and '.join(a)} partly substitute for each other"
            )
            inter.append(
                {
                    "term": r.term,
                    "estimate": r.estimate,
                    "conf_low": r.conf_low,
                    "conf_high": r.conf_high,
                    "reading": reading,
                }
            )
    srm = result.srm
    worst = srm.loc[srm["p_value"].idxmin()]
    srm_text = (
        f"no sample-ratio mismatch (smallest p = {worst['p_value']:.3g})"
        if worst["p_value"] >= 0.001
        else f"SAMPLE-RATIO MISMATCH on {worst.iloc[0]} (p = {worst['p_value']:.2g}): check assignment "
        "before trusting the estimates"
    )
    prov = result.provenance
    data = prov.data
    design_detail = (
        f"{result.design_info.to_text()}, {result.n_obs:,} units; covariance {result.vcov_type}"
        + (f" clustered by {result.cluster}" if result.cluster else "")
        + (f"; CUPED on {result.covariate}" if result.covariate else "")
        + "; contributions are exact Shapley values of the all-on vs all-off difference"
    )
    contract_info = {"name": "—", "version": "—", "text": "not checked"}
    if contract is not None:
        n_failed = len(contract.failures)
        contract_info = {
            "name": contract.contract,
            "version": contract.version,
            "text": f"{len(contract.checks)} checks, "
            + ("all passed" if n_failed == 0 else f"{n_failed} FAILED"),
        }
    out: dict[str, Any] = {
        "title": title,
        "date": _dt.date.today().isoformat(),
        "outcome": result.outcome,
        "level": level,
        "alpha": result.alpha,
        "baseline": baseline,
        "design_sentence": (
            f"A randomised {len(result.factors)}-factor experiment ({', '.join(result.factors)} switched on "
            f"independently) measured what each component adds to {result.outcome}."
        ),
        "design_detail": design_detail,
        "total": {
            "estimate": total,
            "std_error": total_se,
            "conf_low": total - crit * total_se,
            "conf_high": total + crit * total_se,
            "pct": total * pct,
            "pct_low": (total - crit * total_se) * pct,
            "pct_high": (total + crit * total_se) * pct,
        },
        "shapley": rows,
        "verdict_lines": verdict_lines,
        "interactions": inter,
        "srm_text": srm_text,
        "contract": contract_info,
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
            f"(effects, Shapley contributions and the total)"
        )
    return to_jsonable(out)
