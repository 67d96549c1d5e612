"""Inference shared by every design: Wald tables, critical values, multiplier bootstrap, multiple testing.

Designs compute their own covariance from sufficient statistics; this module turns estimates and
standard errors into the tidy columns in one consistent way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

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
) -> pd.DataFrame:
    """Tidy table with intervals and two-sided p-values (normal, or t with `df`).

    `crit` overrides the critical value for the intervals (e.g. a uniform-band sup-t value); the
    p-values stay pointwise.
    """
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    c = critical_value(alpha, df) if crit is None else float(crit)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if df is None or not np.isfinite(df):
        p = 2 * stats.norm.sf(np.abs(stat))
    else:
        p = 2 * stats.t.sf(np.abs(stat), df)
    p = np.where(se > 0, p, np.nan)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": est,
            "std_error": se,
            "conf_low": est - c * se,
            "conf_high": est + c * se,
            "p_value": p,
        },
        columns=list(TIDY_COLUMNS),
    )


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
