"""Inference shared by every design: Wald tables, critical values, multiplier bootstrap, multiple testing.

Designs compute their own covariance from sufficient statistics; this module turns estimates and
standard errors into the tidy columns in one consistent way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from attribution.errors import AttributionWarning, EstimationError
from attribution.options import check_alpha
from attribution.results import TIDY_COLUMNS

__all__ = [
    "critical_value",
    "gaussian_draws",
    "holm",
    "multiplier_draws",
    "sup_t_critical",
    "uniform_critical_value",
    "wald_table",
]


def critical_value(alpha: float, df: float | None = None) -> float:
    """Two-sided critical value: normal, or Student t with `df` degrees of freedom."""
    check_alpha(alpha)
    if df is None or not np.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def wald_table(
    terms: Sequence[object],
    estimate: Sequence[float] | np.ndarray,
    std_error: Sequence[float] | np.ndarray,
    *,
    alpha: float,
    df: float | None = None,
    crit: float | None = None,
    degenerate: str = "raise",
    reference: Sequence[bool] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Tidy table with intervals and two-sided p-values (normal, or t with `df`).

    `crit` overrides the critical value for the intervals (e.g. a uniform-band sup-t value); the
    p-values stay pointwise.

    The one guard against silent degenerate inference (hardening class 2): a finite estimate whose
    standard error is NaN, infinite or not positive is an `EstimationError` naming the terms
    (``degenerate="raise"``), or, with ``degenerate="warn"``, keeps NaN inference on those rows, says
    why in a ``note`` column and emits an `AttributionWarning` (for designs whose reference, such as
    R `did`, reports such cells as NA). ``degenerate="absent"`` states that no inference was asked
    for or exists (the simulator's exact truth; a fit with se_method=None): inference columns are
    NA, without a word.
    Rows whose estimate is itself NaN are the caller's to explain. `reference` marks rows normalised
    to zero by construction (an event study's reference period): their inference is NA, without a
    word, whatever `degenerate` says.
    """
    if degenerate not in ("raise", "warn", "absent"):
        raise ValueError(f"degenerate={degenerate!r}")  # a programming error, not a user's
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    c = critical_value(alpha, df) if crit is None else float(crit)
    ref = np.zeros(est.shape, bool) if reference is None else np.asarray(reference, bool)
    bad = np.isfinite(est) & ~(np.isfinite(se) & (se > 0)) & ~ref
    if bad.any() and degenerate != "absent":
        names = [str(t) for t, b in zip(terms, bad, strict=True) if b]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        why = "zero" if np.all(se[bad] == 0) else "not a finite positive number"
        if degenerate == "raise":
            raise EstimationError(
                f"the standard error of {shown} is {why}: the data leave no variation to "
                "estimate its uncertainty (a constant outcome, a single cluster, or one unit per "
                "group)",
                fix="check the outcome varies within groups and that there are at least two "
                "clusters / units per compared group",
            )
        warnings.warn(
            f"no standard error for {shown} ({why}); their intervals and p-values are NA",
            AttributionWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if df is None or not np.isfinite(df):
        p = 2 * stats.norm.sf(np.abs(stat))
    else:
        p = 2 * stats.t.sf(np.abs(stat), df)
    ok = np.isfinite(se) & (se > 0) & ~ref
    p = np.where(ok, p, np.nan)
    lo = np.where(ok, est - c * se, np.nan)
    hi = np.where(ok, est + c * se, np.nan)
    out = pd.DataFrame(
        {
            "term": list(terms),
            "estimate": est,
            "std_error": np.where(ok, se, np.nan),
            "conf_low": lo,
            "conf_high": hi,
            "p_value": p,
        },
        columns=list(TIDY_COLUMNS),
    )
    if bad.any() and degenerate == "warn":
        out["note"] = np.where(bad, "standard error not estimable", None)
    return out


def multiplier_draws(n_draws: int, n_units: int, *, seed: int, kind: str = "mammen") -> np.ndarray:
    """(n_draws, n_units) multiplier weights with mean 0 and variance 1 for the multiplier bootstrap.

    `mammen` is the two-point distribution used by R `did`; `rademacher` is ±1.
    """
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_draws, n_units))
    if kind != "mammen":
        raise ValueError(f"unknown multiplier kind {kind!r}")
    s5 = np.sqrt(5.0)
    lo, hi = (1 - s5) / 2, (1 + s5) / 2
    p_lo = (s5 + 1) / (2 * s5)
    return np.where(rng.random((n_draws, n_units)) < p_lo, lo, hi)


def gaussian_draws(cov: np.ndarray, n_draws: int, *, seed: int) -> np.ndarray:
    """(n_draws, K) draws from N(0, cov); `cov` may be singular (eigen square root, negatives clipped)."""
    cov = np.asarray(cov, dtype=float)
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = np.random.default_rng(seed).standard_normal((n_draws, cov.shape[0]))
    return z @ root.T


def uniform_critical_value(
    vcov: np.ndarray, alpha: float, *, seed: int, draws: int = 20_000
) -> float:
    """Sup-t critical value for simultaneous (1 − alpha) bands from N(0, corr(vcov)) draws (seeded)."""
    vcov = np.asarray(vcov, dtype=float)
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    keep = se > 0
    if not keep.any():
        return float("nan")
    corr = vcov[np.ix_(keep, keep)] / np.outer(se[keep], se[keep])
    z = gaussian_draws(corr, draws, seed=seed)
    return float(np.quantile(np.abs(z).max(axis=1), 1 - alpha))


def sup_t_critical(boot: np.ndarray, std_error: np.ndarray, alpha: float) -> float:
    """Critical value of the sup-t uniform band from bootstrap deviations `boot` (draws × terms)."""
    se = np.asarray(std_error, dtype=float)
    keep = se > 0
    t = np.abs(boot[:, keep]) / se[keep]
    return float(np.quantile(t.max(axis=1), 1 - alpha))


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
