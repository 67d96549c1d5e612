"""Multiple testing: adjusted p-values and simultaneous (max-t) intervals.

`adjust_pvalues` gives the adjusted p-values of statsmodels' `multipletests` (same names, "bh" for
"fdr_bh", "by" for "fdr_by"): family-wise error control (Bonferroni, Šidák, Holm's step-down,
Hochberg's step-up) and false-discovery-rate control (Benjamini & Hochberg 1995; Benjamini &
Yekutieli 2001). `simultaneous_intervals` gives single-step max-t intervals from the joint covariance
of the estimates (Hothorn, Bretz & Westfall 2008): they use the correlation of the estimates, so they
are never wider than Bonferroni's and are tighter when the estimates correlate.

The multivariate normal (or t) rectangle probabilities behind the max-t critical value are computed
by Genz's (1992) separation-of-variables transform on a seeded, scrambled Sobol sequence, so reruns
give identical numbers (scipy's `multivariate_normal.cdf` draws unseeded random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from attribution.errors import DataError, EstimationError, OptionError
from attribution.inference import critical_value, holm, wald_table
from attribution.options import (
    PAdjustMethod,
    SimultaneousMethod,
    check_alpha,
    check_float,
    check_option,
    plain,
)

__all__ = ["adjust_pvalues", "max_t_critical", "simultaneous_intervals"]

QMC_POINTS = 2**16
"""Sobol points of the rectangle probabilities: an integration error of about 1e-6 or less for up
to a few dozen estimates (the critical value then moves by less than 1e-4)."""


# ------------------------------------------------------------------------------------------------
# adjusted p-values
# ------------------------------------------------------------------------------------------------
def adjust_pvalues(
    p_values: Sequence[float] | np.ndarray | pd.Series, method: PAdjustMethod = "holm"
) -> np.ndarray | pd.Series:
    """Adjusted p-values of one family of tests, in the order given.

    Why: a family of tests (the primary metrics × arms, the guardrails, the segments) is judged as a
    whole; each adjusted p-value is compared with alpha directly.

    method: "bonferroni", "sidak", "holm" (step-down), "hochberg" (step-up) control the family-wise
        error rate; "bh" (Benjamini & Hochberg 1995) and "by" (Benjamini & Yekutieli 2001, any
        dependence) the false discovery rate; "none" returns the p-values unchanged. Values equal
        statsmodels' `multipletests(p, method=...)` ("fdr_bh", "fdr_by" there), clipped to ≤ 1.
    NaN p-values (a test that could not be run) pass through as NaN and are not counted in the
    family: the others are adjusted as a family of the non-missing tests. A pandas Series comes back
    as a Series with the same index; anything else as a float array.
    """
    method = check_option("method", method, PAdjustMethod)
    index = p_values.index if isinstance(p_values, pd.Series) else None
    try:
        p = np.array(p_values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            f"p_values={plain(p_values)} are not numbers",
            fix="pass a list, array or Series of p-values between 0 and 1",
        ) from None
    if p.ndim != 1 or p.size == 0:
        raise DataError(
            f"p_values must be a non-empty one-dimensional list, got shape {p.shape}",
            fix="pass one family of p-values, e.g. [0.01, 0.04, 0.2]",
        )
    finite = ~np.isnan(p)
    outside = finite & ~((p >= 0) & (p <= 1))
    if outside.any():
        shown = ", ".join(f"{v:g}" for v in p[outside][:5])
        raise DataError(
            f"p-values must lie between 0 and 1; got {shown}",
            fix="pass p-values, not test statistics or log p-values",
        )
    out = np.full(p.shape, np.nan)
    if finite.any():
        out[finite] = _adjust(p[finite], method)
    return (
        out if index is None else pd.Series(out, index=index, name=getattr(p_values, "name", None))
    )


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    """The adjustment on finite p-values (the formulas of statsmodels' multipletests)."""
    m = p.size
    if method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(m * p, 1.0)
    if method == "sidak":
        with np.errstate(divide="ignore"):  # p = 1: log1p(-1) = -inf, adjusted value 1
            return np.minimum(-np.expm1(m * np.log1p(-p)), 1.0)
    if method == "holm":
        return holm(p)  # the one Holm implementation (inference.holm), shared with the designs
    order = np.argsort(p, kind="stable")
    ps = p[order]
    rank = np.arange(1, m + 1)
    if method == "hochberg":
        raw = (m - rank + 1) * ps
    else:  # "bh", "by": step-up false-discovery-rate adjustments
        scale = 1.0 if method == "bh" else float(np.sum(1.0 / rank))
        raw = ps * m * scale / rank
    adj = np.minimum.accumulate(raw[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


# ------------------------------------------------------------------------------------------------
# simultaneous intervals
# ------------------------------------------------------------------------------------------------
def simultaneous_intervals(
    estimates: Sequence[float] | np.ndarray | pd.Series,
    covariance: Sequence[Sequence[float]] | np.ndarray | pd.DataFrame,
    *,
    alpha: float = 0.05,
    method: SimultaneousMethod = "max_t",
    df: float | None = None,
    terms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Intervals that cover all the estimated quantities at once with probability 1 − alpha.

    Why: several metrics (or arms) read from one experiment are correlated; the single-step max-t
    critical value (Hothorn, Bretz & Westfall 2008) is the (1 − alpha) quantile of max_i |T_i| under
    the estimates' joint correlation, so the band is exact for that correlation and never wider than
    Bonferroni's (the equality holds only for independent estimates in the limit of a small alpha).

    estimates: K estimates (a Series' index gives the term names).
    covariance: their K × K covariance matrix (symmetric, positive semi-definite).
    method: "max_t" (default), or the "bonferroni" / "sidak" bounds for comparison.
    df: degrees of freedom of a multivariate t reference (None: normal).
    terms: names of the estimates (default: the Series index, else "1", "2", ...).

    Returns the tidy columns (`conf_low`/`conf_high` pointwise, `p_value` raw) with the simultaneous
    band in `conf_low_uniform`/`conf_high_uniform`, `p_value_adjusted` (single-step: the
    probability that max_i |T_i| exceeds this |t|; for "bonferroni"/"sidak" those adjustments) and
    the `critical_value` used. The max-t probabilities come from a seeded quasi-Monte Carlo
    integration (error about 1e-6, see `QMC_POINTS`), so reruns agree exactly.
    """
    alpha = check_alpha(alpha)
    method = check_option("method", method, SimultaneousMethod)
    if df is not None:
        df = check_float("df", df, low=0.0, low_open=True)
    est, cov, names = _check_estimates(estimates, covariance, terms)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    k = est.size
    # pointwise table (and the zero/NaN standard-error guard)
    table = wald_table(names, est, se, alpha=alpha, df=df)
    z = np.abs(est / se)
    if method == "bonferroni":
        crit = critical_value(alpha / k, df)
        p_adj = adjust_pvalues(table["p_value"].to_numpy(), "bonferroni")
    elif method == "sidak":
        crit = critical_value(-np.expm1(np.log1p(-alpha) / k), df)
        p_adj = adjust_pvalues(table["p_value"].to_numpy(), "sidak")
    else:
        corr = cov / np.outer(se, se)
        crit = max_t_critical(corr, alpha, df=df)
        p_adj = np.array([1.0 - _max_abs_cdf(corr, zi, df) for zi in z])
        p_adj = np.clip(p_adj, table["p_value"].to_numpy(), 1.0)
    table["conf_low_uniform"] = est - crit * se
    table["conf_high_uniform"] = est + crit * se
    table["p_value_adjusted"] = p_adj
    table["critical_value"] = crit
    return table


def max_t_critical(corr: np.ndarray, alpha: float, *, df: float | None = None) -> float:
    """The (1 − alpha) quantile of max_i |T_i| for T ~ N(0, corr) (or multivariate t with `df`).

    Solved by Brent's method on the seeded quasi-Monte Carlo probability (a smooth function of the
    critical value, since the points are fixed), and bounded by Bonferroni's value, which it can
    only undercut. One estimate: the usual two-sided value.
    """
    corr = np.asarray(corr, dtype=float)
    k = corr.shape[0]
    c_one = critical_value(alpha, df)
    c_bonf = critical_value(alpha / k, df)
    if k == 1:
        return c_one

    def gap(c: float) -> float:
        return _max_abs_cdf(corr, c, df) - (1.0 - alpha)

    if gap(c_bonf) <= 0:  # within the integration error of Bonferroni's bound
        return c_bonf
    if gap(c_one) >= 0:  # perfectly correlated estimates: the one-dimensional value
        return c_one
    return float(optimize.brentq(gap, c_one, c_bonf, xtol=1e-10))


def _max_abs_cdf(corr: np.ndarray, c: float, df: float | None) -> float:
    """P(max_i |T_i| ≤ c): Genz's separation of variables on scrambled Sobol points (seed 0)."""
    k = corr.shape[0]
    chol = _cholesky(corr)
    extra = 0 if df is None or not np.isfinite(df) else 1
    sobol = stats.qmc.Sobol(k + extra, scramble=True, seed=20_080_601)
    w = sobol.random(QMC_POINTS)
    w = np.clip(w, 1e-15, 1 - 1e-15)
    # multivariate t = normal / sqrt(chi2_df / df): integrate over the chi-square too
    scale = np.sqrt(stats.chi2.ppf(w[:, k], df) / df) if extra else np.ones(QMC_POINTS)
    upper = c * scale
    lower = -upper
    prob = np.ones(QMC_POINTS)
    y = np.zeros((QMC_POINTS, k))
    for i in range(k):
        shift = y[:, :i] @ chol[i, :i]
        lii = chol[i, i]
        if lii <= 1e-10:  # determined by the earlier variables (a singular correlation)
            inside = (shift >= lower) & (shift <= upper)
            prob = prob * inside
            continue
        a = special.ndtr((lower - shift) / lii)
        b = special.ndtr((upper - shift) / lii)
        prob = prob * (b - a)
        u = np.clip(a + w[:, i] * (b - a), 1e-300, 1 - 1e-16)
        y[:, i] = special.ndtri(u)
    return float(prob.mean())


def _cholesky(corr: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor that tolerates a singular (positive semi-definite) matrix."""
    k = corr.shape[0]
    chol = np.zeros((k, k))
    for j in range(k):
        d = corr[j, j] - chol[j, :j] @ chol[j, :j]
        if d <= 1e-12:
            continue  # column stays zero: variable j is a combination of the earlier ones
        chol[j, j] = np.sqrt(d)
        for i in range(j + 1, k):
            chol[i, j] = (corr[i, j] - chol[i, :j] @ chol[j, :j]) / chol[j, j]
    return chol


def _check_estimates(
    estimates: object, covariance: object, terms: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    try:
        est = np.array(estimates, dtype=float)
        cov = np.array(covariance, dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            "estimates and covariance must be numbers",
            fix="pass a vector of K estimates and their K × K covariance matrix",
        ) from None
    if est.ndim != 1 or est.size == 0:
        raise DataError(
            f"estimates must be a non-empty vector, got shape {est.shape}",
            fix="pass one estimate per metric or arm",
        )
    k = est.size
    if cov.shape != (k, k):
        raise DataError(
            f"covariance has shape {cov.shape}; {k} estimates need a {k} × {k} matrix",
            fix="pass the joint covariance of the estimates",
        )
    if not (np.isfinite(est).all() and np.isfinite(cov).all()):
        raise DataError(
            "estimates and covariance must be finite numbers",
            fix="drop the estimates that could not be computed",
        )
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12 * np.abs(cov).max()):
        raise DataError("covariance is not symmetric", fix="pass a symmetric covariance matrix")
    cov = (cov + cov.T) / 2
    vals = np.linalg.eigvalsh(cov)
    if vals.min() < -1e-8 * max(vals.max(), 0.0):
        raise EstimationError(
            "covariance is not positive semi-definite (a negative eigenvalue "
            f"{plain(float(vals.min()))})",
            fix="pass a covariance matrix (e.g. the delta-method or sandwich covariance)",
        )
    if terms is None:
        if isinstance(estimates, pd.Series):
            names = [str(t) for t in estimates.index]
        else:
            names = [str(i + 1) for i in range(k)]
    else:
        if isinstance(terms, str) or len(terms) != k:
            raise OptionError(
                f"terms={plain(terms)} must name each of the {k} estimates",
                fix=f"pass a list of {k} names",
            )
        names = [str(t) for t in terms]
    return est, cov, names
