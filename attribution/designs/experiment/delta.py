"""Per-arm metric estimates and their (co)variances from unit moments: the delta method.

Every metric is a smooth function f of the per-arm means μ of the per-unit values (a `Mean` is
μ_y; a `Ratio` is μ_num / μ_den, Deng, Knoblich & Lu 2018; with clusters a `Mean` is
μ_y / μ_units), so var f̂ ≈ gᵀ C g / n with g = ∇f(μ̂), C the sample covariance (ddof 1) of the
per-unit values and n the number of units. The joint covariance of several metrics in one arm is
G C Gᵀ / n. Arms are independent.

CUPED / regression adjustment (Deng et al. 2013): with a covariate function h (a pre-period mean,
or a pre-period ratio, linearised the same way), the adjusted estimate is f − θ (h − h̄) and its
variance (g − θ k)ᵀ C (g − θ k) / n, k = ∇h. θ is pooled across the arms of one comparison:
θ = Σ_a (n_a − 1) g_aᵀ C_a k_a / Σ_a (n_a − 1) k_aᵀ C_a k_a, the common within-arm slope, so for a
`Mean` the adjusted difference is exactly the ANCOVA / `at.factorial(..., covariate=)` estimate. h̄
is the covariate over all arms pooled (it cancels in differences).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from attribution.designs.experiment.stats import (
    UNITS,
    Layout,
    N,
    ValueColumn,
    shift_name,
    sum_name,
)
from attribution.metrics import Metric, Proportion, Ratio
from attribution.options import LiftInterval

__all__ = [
    "ArmStats",
    "MetricEstimates",
    "arm_estimates",
    "arm_stats",
    "difference",
    "estimates",
    "estimates_from_stats",
    "fieller_interval",
    "from_sums",
    "relative_lift",
]


@dataclass(frozen=True)
class ArmStats:
    """Per row of a moments frame: units n, means μ (rows × d) and covariance C (rows × d × d)."""

    n: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    sums: np.ndarray
    """Shifted sums (rows × d) and products (rows × d × d), to pool rows exactly."""
    products: np.ndarray
    shift: np.ndarray
    missing: np.ndarray | None = None
    """(d × d) True where a pass left the cross-product out (covariances across metrics)."""


def arm_stats(frame: pd.DataFrame, layout: Layout | None = None) -> ArmStats:
    """Means and sample covariances (ddof 1) of the per-unit values, per row of `frame`."""
    layout = frame.attrs["layout"] if layout is None else layout
    d = len(layout)
    upper = [(i, j) for i in range(d) for j in range(i, d)]
    names = [N, *(sum_name(i) for i in range(d)), *(shift_name(i) for i in range(d))]
    names += [sum_name(i, j) for i, j in upper]
    # one selection (each column access would deep-copy the frame's attrs); a pass may leave
    # out products across metrics: those columns are NaN
    arr = frame.reindex(columns=names).to_numpy(float)
    n = arr[:, 0]
    s = arr[:, 1 : 1 + d]
    shift = arr[:, 1 + d : 1 + 2 * d]
    p = np.empty((len(frame), d, d))
    missing = np.zeros((d, d), bool)
    present = set(frame.columns)
    for k, (i, j) in enumerate(upper):
        p[:, i, j] = p[:, j, i] = arr[:, 1 + 2 * d + k]
        missing[i, j] = missing[j, i] = sum_name(i, j) not in present
    st = from_sums(n, s, p, shift)
    return st if not missing.any() else replace(st, missing=missing)


def from_sums(n: np.ndarray, s: np.ndarray, p: np.ndarray, shift: np.ndarray) -> ArmStats:
    with np.errstate(divide="ignore", invalid="ignore"):
        m = s / n[:, None]
        cov = (p - s[:, :, None] * s[:, None, :] / n[:, None, None]) / (n - 1.0)[:, None, None]
    return ArmStats(n=n, mean=shift + m, cov=cov, sums=s, products=p, shift=shift)


def pooled(st: ArmStats, groups: np.ndarray) -> tuple[ArmStats, np.ndarray]:
    """Rows of the same group summed (moments add over disjoint sets of units); and the index of
    each input row's group in the result. All rows of a group share the shift of one query."""
    labels, inverse = np.unique(groups, return_inverse=True)
    g = len(labels)
    n = np.zeros(g)
    s = np.zeros((g, st.sums.shape[1]))
    p = np.zeros((g, *st.products.shape[1:]))
    np.add.at(n, inverse, st.n)
    np.add.at(s, inverse, st.sums)
    np.add.at(p, inverse, st.products)
    shift = np.zeros_like(s)
    shift[inverse] = st.shift
    return from_sums(n, s, p, shift), inverse


def _ratio(mu: np.ndarray, num: int, den: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        f = mu[:, num] / mu[:, den]
        g = np.zeros((len(mu), d))
        g[:, num] = 1.0 / mu[:, den]
        g[:, den] -= f / mu[:, den]
    return f, g


def _mean(mu: np.ndarray, col: int, units: int | None, d: int) -> tuple[np.ndarray, np.ndarray]:
    if units is not None:
        return _ratio(mu, col, units, d)
    g = np.zeros((len(mu), d))
    g[:, col] = 1.0
    return mu[:, col].copy(), g


def metric_functions(
    metric: Metric, layout: Layout, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(f, ∇f, h, ∇h) per row: the metric and its covariate function at the means `mu`."""
    d = len(layout)
    units = layout.index(UNITS, "count") if ValueColumn(UNITS, "count") in layout.columns else None
    if isinstance(metric, Ratio):
        f, g = _ratio(
            mu, layout.index(metric.numerator, "sum"), layout.index(metric.denominator, "sum"), d
        )
    else:
        how = "max" if isinstance(metric, Proportion) else "sum"
        f, g = _mean(mu, layout.index(metric.column, how), units, d)  # type: ignore[attr-defined]
    cov = metric.covariate_columns
    if not cov:
        return f, g, None, None
    if len(cov) == 2:
        h, k = _ratio(mu, layout.index(cov[0], "mean"), layout.index(cov[1], "mean"), d)
    else:
        h, k = _mean(mu, layout.index(cov[0], "mean"), units, d)
    return f, g, h, k


def _quad(a: np.ndarray, c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """aᵀ C b per row."""
    return np.einsum("ri,rij,rj->r", a, c, b)


@dataclass(frozen=True)
class MetricEstimates:
    """Per row of a moments frame and per metric: the (adjusted) estimate and its variance."""

    mean: np.ndarray
    """rows × metrics: the estimate (CUPED-adjusted where the metric has a covariate)."""
    cov: np.ndarray
    """rows × metrics × metrics: joint covariance of the estimates within each row (arm)."""
    mean_unadjusted: np.ndarray
    var_unadjusted: np.ndarray
    theta: np.ndarray
    """rows × metrics: the pooled CUPED slope of the row's group (NaN without a covariate)."""

    @property
    def variance(self) -> np.ndarray:
        return np.diagonal(self.cov, axis1=1, axis2=2).copy()


def estimates(
    frame: pd.DataFrame,
    metrics: Sequence[Metric],
    *,
    groups: np.ndarray | None = None,
) -> MetricEstimates:
    """Every metric per row (arm × keys) of a moments frame, with CUPED θ pooled within `groups`
    (default: rows sharing the values of ``frame.attrs["by"]``, i.e. the arms of one comparison)."""
    layout: Layout = frame.attrs["layout"]
    st = arm_stats(frame, layout)
    if groups is None:
        by = [c for c in frame.attrs.get("by", ()) if c in frame.columns]
        if by:
            groups = frame[by].astype(str).agg("\x1f".join, axis=1).to_numpy()
        else:
            groups = np.zeros(len(frame), dtype=int)
    return estimates_from_stats(st, layout, metrics, groups=np.asarray(groups))


def estimates_from_stats(
    st: ArmStats, layout: Layout, metrics: Sequence[Metric], *, groups: np.ndarray
) -> MetricEstimates:
    """`estimates` on arrays (rows = arm × keys; θ pooled over rows sharing a `groups` label):
    what a simulation study calls for thousands of experiments at once."""
    if st.missing is not None:  # products a pass left out: zero for each metric's own variance
        st = replace(st, cov=np.where(st.missing, 0.0, st.cov))
    pool, inverse = pooled(st, groups)
    r, m = len(st.n), len(metrics)
    mean = np.empty((r, m))
    raw = np.empty((r, m))
    var_raw = np.empty((r, m))
    theta = np.full((r, m), np.nan)
    grads = np.empty((r, m, len(layout)))
    for q, metric in enumerate(metrics):
        f, g, h, k = metric_functions(metric, layout, st.mean)
        raw[:, q] = f
        var_raw[:, q] = _quad(g, st.cov, g) / st.n
        if h is None or k is None:
            mean[:, q], grads[:, q] = f, g
            continue
        w = st.n - 1.0
        num = np.zeros(len(pool.n))
        den = np.zeros(len(pool.n))
        np.add.at(num, inverse, w * _quad(g, st.cov, k))
        np.add.at(den, inverse, w * _quad(k, st.cov, k))
        with np.errstate(divide="ignore", invalid="ignore"):
            th = np.where(den > 0, num / den, 0.0)[inverse]
        h_pool = metric_functions(metric, layout, pool.mean)[2][inverse]  # type: ignore[index]
        mean[:, q] = f - th * (h - h_pool)
        grads[:, q] = g - th[:, None] * k
        theta[:, q] = th
    cov = np.einsum("rqi,rij,rpj->rqp", grads, st.cov, grads) / st.n[:, None, None]
    if st.missing is not None:  # covariances across metrics were not computed
        off = ~np.eye(m, dtype=bool)
        cov[:, off] = np.nan
    return MetricEstimates(
        mean=mean, cov=cov, mean_unadjusted=raw, var_unadjusted=var_raw, theta=theta
    )


def arm_estimates(
    moments: pd.DataFrame, metric: Metric, *, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, variance) of one metric per row of a moments frame (`stats.unit_moments`)."""
    est = estimates(moments, [metric], groups=groups)
    return est.mean[:, 0], est.variance[:, 0]


def difference(
    mean_t: np.ndarray | float,
    var_t: np.ndarray | float,
    mean_c: np.ndarray | float,
    var_c: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Treatment − control and its standard error (independent arms)."""
    mt, vt, mc, vc = (np.asarray(a, dtype=float) for a in (mean_t, var_t, mean_c, var_c))
    return mt - mc, np.sqrt(vt + vc)


def relative_lift(
    mean_t: np.ndarray | float,
    var_t: np.ndarray | float,
    mean_c: np.ndarray | float,
    var_c: np.ndarray | float,
    *,
    alpha: float,
    method: LiftInterval = "delta",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative lift treatment / control − 1 and its (1 − alpha) interval.

    ``delta``: the delta method on the log of the ratio of means, exp(log ρ ± z se) − 1 with
    se² = v_t / m_t² + v_c / m_c² (asymmetric, never below −100%; tea-tasting's interval).
    ``fieller``: Fieller's (1954) exact-under-normality interval for the ratio of two independent
    normal means; unbounded (NaN) when the control mean is not distinguishable from zero.
    """
    mt, vt, mc, vc = (np.asarray(a, dtype=float) for a in (mean_t, var_t, mean_c, var_c))
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = mt / mc
        if method == "fieller":
            lo, hi = fieller_interval(mt, vt, mc, vc, z=z)
            return rho - 1.0, lo - 1.0, hi - 1.0
        same_sign = (mt / mc) > 0
        se = np.sqrt(vt / mt**2 + vc / mc**2)
        lo = np.where(same_sign, rho * np.exp(-z * se), np.nan)
        hi = np.where(same_sign, rho * np.exp(z * se), np.nan)
    return rho - 1.0, lo - 1.0, hi - 1.0


def fieller_interval(
    mt: np.ndarray, vt: np.ndarray, mc: np.ndarray, vc: np.ndarray, *, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fieller's interval for ρ = μ_t / μ_c (independent estimates): the ρ with
    (m_t − ρ m_c)² ≤ z² (v_t + ρ² v_c); NaN where it is not a bounded interval."""
    a = mc * mc - z * z * vc
    b = mt * mc
    c = mt * mt - z * z * vt
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = b * b - a * c
        ok = (a > 0) & (disc >= 0)
        root = np.sqrt(np.where(ok, disc, np.nan))
        lo = np.where(ok, (b - root) / a, np.nan)
        hi = np.where(ok, (b + root) / a, np.nan)
    return lo, hi
