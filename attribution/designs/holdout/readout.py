"""The holdout readout's math: treatment − holdout difference of means with Welch's standard error,
from per-cell moments (n, Σy, Σy²) of the per-unit metric; with a covariate, CUPED (Deng et al.
2013): θ = pooled within-arm Cov(x, y) / Var(x) per cell, the difference of y − θx."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attribution.designs.holdout.results import OVERALL
from attribution.errors import DesignError
from attribution.results import Check

# the moment columns stats.readout_moments hands over
IS_HOLDOUT, SURFACE, TIME, N = "is_holdout", "surface", "time", "n"
SUM, SUM_SQ, SUM_X, SUM_XX, SUM_XY = "sum", "sum_sq", "sum_x", "sum_xx", "sum_xy"

__all__ = ["SRM_THRESHOLD", "srm_checks", "welch_rows"]

SRM_THRESHOLD = 0.001
"""p-value below which the holdout's assignment is called broken (the A/B-testing convention)."""


def _term(surface: str, time: object) -> str:
    if surface == OVERALL:
        return f"effect(t={time})"
    return f"effect(surface={surface},t={time})"


def _cuped(m: pd.DataFrame, n: np.ndarray, mean: np.ndarray, syy: np.ndarray) -> pd.DataFrame:
    """Replace each arm's mean and variance of the mean by those of y − θ(x − x̄_pooled)."""
    xbar = m[SUM_X].to_numpy(float) / n
    sxx = np.maximum(m[SUM_XX].to_numpy(float) - n * xbar**2, 0.0)
    sxy = m[SUM_XY].to_numpy(float) - n * xbar * mean
    pooled = (
        pd.DataFrame({"sxx": sxx, "sxy": sxy, "sx": m[SUM_X].to_numpy(float), "n": n})
        .groupby([m[SURFACE].to_numpy(), m[TIME].to_numpy()])
        .transform("sum")
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(pooled["sxx"] > 0, pooled["sxy"] / pooled["sxx"], 0.0)
    x_all = (pooled["sx"] / pooled["n"]).to_numpy()
    out = m.copy()
    out["mean"] = mean - theta * (xbar - x_all)
    resid = np.maximum(syy - 2 * theta * sxy + theta**2 * sxx, 0.0)
    out["var_mean"] = resid / (n - 1) / n
    return out


def welch_rows(moments: pd.DataFrame) -> pd.DataFrame:
    """One row per (surface, time): estimate = mean_treatment − mean_holdout, Welch SE
    √(s²_t/n_t + s²_h/n_h) with s² = (Σy² − (Σy)²/n)/(n − 1)."""
    m = moments.copy()
    n = m[N].to_numpy(float)
    mean = m[SUM].to_numpy(float) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        syy = np.maximum(m[SUM_SQ].to_numpy(float) - n * mean**2, 0.0)
        var = syy / (n - 1)
    m["mean"], m["var_mean"] = mean, var / n
    if SUM_X in m:
        m = _cuped(m, n, mean, syy)
    hold = m[m[IS_HOLDOUT].astype(bool)].set_index([SURFACE, TIME])
    treat = m[~m[IS_HOLDOUT].astype(bool)].set_index([SURFACE, TIME])
    both = hold.join(treat, lsuffix="_h", rsuffix="_t", how="outer")
    missing = both[["mean_h", "mean_t"]].isna().any(axis=1)
    if missing.any():
        cells = [f"{s} at {t}" for s, t in both.index[missing.to_numpy()][:5]]
        raise DesignError(
            f"{int(missing.sum())} surface × period cell(s) have units in one arm only: {cells}",
            fix="every surface and period needs holdout and treated units",
        )
    small = (both[f"{N}_h"] < 2) | (both[f"{N}_t"] < 2)
    if small.any():
        cells = [f"{s} at {t}" for s, t in both.index[small.to_numpy()][:5]]
        raise DesignError(
            f"{int(small.sum())} surface × period cell(s) have fewer than two units in an arm: "
            f"{cells}",
            fix="every surface and period needs at least two units per arm",
        )
    both = both.reset_index()
    order = both[SURFACE].eq(OVERALL).astype(int)
    both = both.assign(_o=order).sort_values(["_o", SURFACE, TIME]).drop(columns="_o")
    return pd.DataFrame(
        {
            "term": [_term(s, t) for s, t in zip(both[SURFACE], both[TIME], strict=True)],
            "estimate": (both["mean_t"] - both["mean_h"]).to_numpy(float),
            "std_error": np.sqrt(both["var_mean_t"] + both["var_mean_h"]).to_numpy(float),
            "time": both[TIME].to_numpy(),
            "surface": both[SURFACE].astype(str).to_numpy(),
            "holdout_mean": both["mean_h"].to_numpy(float),
            "treatment_mean": both["mean_t"].to_numpy(float),
            "n_holdout": both[f"{N}_h"].astype("int64").to_numpy(),
            "n_treatment": both[f"{N}_t"].astype("int64").to_numpy(),
        }
    )


def srm_checks(arm_units: tuple[int, int], share: float | None) -> tuple[Check, ...]:
    """Sample-ratio mismatch of the holdout: Pearson chi-square (1 df) of the unit counts against
    the planned holdout share (none without a plan)."""
    if share is None:
        return ()
    observed = np.array(arm_units, float)
    expected = observed.sum() * np.array([share, 1 - share])
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    p = float(stats.chi2.sf(chi2, 1))
    ok = p >= SRM_THRESHOLD
    return (
        Check(
            "sample ratio",
            ok,
            f"{int(observed[0]):,} of {int(observed.sum()):,} units are in the holdout "
            f"({observed[0] / observed.sum():.2%} against a planned {share:.2%}): "
            + ("consistent with the plan" if ok else "a sample-ratio mismatch, check assignment"),
            statistic=chi2,
            df=1,
            p_value=p,
        ),
    )
