"""Sample-ratio-mismatch (SRM) tests of a factorial assignment: each factor's share and the joint
cells against the intended allocation, as a table and as `Check` values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from attribution.results import Check

__all__ = ["JOINT", "SRM_THRESHOLD", "srm_checks", "srm_table"]

SRM_THRESHOLD = 0.001
"""p-value below which an assignment is called broken (the usual A/B-testing convention)."""

JOINT = "joint (cells)"
"""The `factor` of the joint test over all cells in `srm_table`."""


def srm_table(
    counts: Mapping[int, float],
    *,
    factors: Sequence[str],
    allocation: Mapping[str, float],
    counted: str,
) -> pd.DataFrame:
    """Sample-ratio-mismatch chi-square tests: each factor's share on, and the joint cells.

    Expected cell shares are Π_j p_j^x_j (1 - p_j)^(1 - x_j) (independent assignment with
    P(factor j on) = allocation[j]), renormalised over the cells of the design (fractions).
    """
    cells = np.array(sorted(counts), dtype=int)
    obs = np.array([counts[c] for c in cells], dtype=float)
    total = obs.sum()
    share = np.ones(len(cells))
    for j, f in enumerate(factors):
        pj = float(allocation.get(f, 0.5))
        on = (cells >> j) & 1
        share *= np.where(on == 1, pj, 1.0 - pj)
    share /= share.sum()
    rows = []
    for j, f in enumerate(factors):
        on = ((cells >> j) & 1) == 1
        e1 = float(share[on].sum())
        o1 = float(obs[on].sum())
        exp = np.array([e1, 1.0 - e1]) * total
        got = np.array([o1, total - o1])
        chi2 = float(np.sum((got - exp) ** 2 / exp))
        rows.append(
            {
                "factor": f,
                "expected_share": e1,
                "observed_share": o1 / total,
                "n": int(total),
                "chi2": chi2,
                "df": 1,
                "p_value": float(stats.chi2.sf(chi2, 1)),
            }
        )
    if len(cells) > 2:
        exp = share * total
        chi2 = float(np.sum((obs - exp) ** 2 / exp))
        df = len(cells) - 1
        rows.append(
            {
                "factor": JOINT,
                "expected_share": float("nan"),
                "observed_share": float("nan"),
                "n": int(total),
                "chi2": chi2,
                "df": df,
                "p_value": float(stats.chi2.sf(chi2, df)),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["counted"] = counted
    return out


def srm_checks(srm: pd.DataFrame) -> tuple[Check, ...]:
    """One `Check` per row of `srm_table` (each factor, then the joint cells): passed when
    p ≥ `SRM_THRESHOLD`; the detail says what was counted against what was intended."""
    counted = srm.attrs.get("counted", "rows")
    out = []
    for r in srm.itertuples(index=False):
        passed = bool(r.p_value >= SRM_THRESHOLD) if np.isfinite(r.p_value) else None
        test = f"chi2 = {r.chi2:.3g} on {r.df} df, p = {r.p_value:.3g}"
        if r.factor == JOINT:
            name = "SRM joint cells"
            what = f"the {counted} per cell against the intended allocation"
        else:
            name = f"SRM {r.factor}"
            what = (
                f"the share of {counted} with {r.factor} on, {r.observed_share:.4f} against "
                f"{r.expected_share:.4f} intended"
            )
        if passed is False:
            detail = f"Sample-ratio mismatch in {what} ({test}): the assignment may be broken."
        else:
            detail = f"No sample-ratio mismatch in {what} ({test})."
        out.append(Check(name, passed, detail, statistic=r.chi2, df=r.df, p_value=r.p_value))
    return tuple(out)
