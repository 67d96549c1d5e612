"""Segments and families of tests: Cochran's Q that an effect differs across segments, and the
multiple-testing adjustment within each family (primary metrics × arms; guardrails apart;
secondary metrics apart; each metric × arm's segments apart)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from attribution.multiple_testing import adjust_pvalues
from attribution.options import PAdjustMethod
from attribution.results import Check

__all__ = ["adjust", "cochran_q", "families", "heterogeneity_check"]


def adjust(p_values: Sequence[float] | np.ndarray, method: PAdjustMethod) -> np.ndarray:
    """Adjusted p-values within one family (`multiple_testing.adjust_pvalues`, any of its methods);
    non-finite p-values (no inference) stay NaN and do not count in the family."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = adjust_pvalues(p[ok], method)
    return out


def families(table: pd.DataFrame, *, keys: Sequence[str]) -> pd.Series:
    """Family label of every tidy row.

    Rows of the whole population (no segment) form one family per role (primary metrics × arms,
    guardrails, secondary metrics) within each surface / time; per-segment rows form one family per
    metric × arm (× surface, time): the segments of one comparison.
    """
    parts = []
    for _, row in table.iterrows():
        where = "|".join(f"{k}={row[k]}" for k in keys if k != "segment")
        if "segment" in keys and pd.notna(row["segment"]):
            parts.append(f"segments|{row['metric']}|{row['arm']}|{where}")
        else:
            parts.append(f"{row['role']}|{where}")
    return pd.Series(parts, index=table.index)


def cochran_q(estimate: np.ndarray, std_error: np.ndarray) -> tuple[float, int, float]:
    """Cochran's Q = Σ w_s (d_s − d̄)², w = 1/se², d̄ the precision-weighted mean; chi-square with
    S − 1 df under equal effects. Segments without a finite positive SE are left out."""
    d = np.asarray(estimate, float)
    se = np.asarray(std_error, float)
    ok = np.isfinite(d) & np.isfinite(se) & (se > 0)
    d, w = d[ok], 1.0 / se[ok] ** 2
    if len(d) < 2:
        return float("nan"), 0, float("nan")
    mean = float(np.sum(w * d) / np.sum(w))
    q = float(np.sum(w * (d - mean) ** 2))
    df = len(d) - 1
    return q, df, float(stats.chi2.sf(q, df))


def heterogeneity_check(
    estimate: np.ndarray, std_error: np.ndarray, *, what: str, alpha: float
) -> Check:
    """Cochran's Q as a `Check` (info: it reports evidence about the effect, not the design)."""
    q, df, p = cochran_q(estimate, std_error)
    if df == 0:
        return Check(
            f"segments differ: {what}",
            None,
            f"Cochran's Q for {what} was not run: fewer than two segments have an estimate.",
        )
    verdict = (
        "the effect differs across segments"
        if p < alpha
        else "no evidence that the effect differs across segments"
    )
    return Check(
        f"segments differ: {what}",
        None,
        f"Cochran's Q test for {what} over {df + 1} segments: Q = {q:.3g} on {df} df, "
        f"p = {p:.3g}: {verdict} (at alpha = {alpha:g}).",
        statistic=q,
        df=df,
        p_value=p,
    )
