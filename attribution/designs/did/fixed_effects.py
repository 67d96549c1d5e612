"""Fixed-effects OLS for the DiD regressions: within transformation, coefficients, covariances.

Used by the static TWFE regression, the TWFE event study, the plain 2×2 DiD, Sun & Abraham's
saturated regression and the stacked design (entry points in `api.py`).

Model: ``y_it = a_i + l_t + b·D_it (+ X_it'g) + e_it``. The fixed effects are swept out by the
within transformation (alternating projections, Gaurav & Gaure; exact after one sweep on a balanced
panel), then OLS on the demeaned columns (Frisch–Waugh–Lovell) gives the coefficients.

Standard errors are cluster-robust (CR1, Liang & Zeger 1986) with fixest's small-sample convention for
fixed-effects models, as implemented by pyfixest 0.60 ``ssc(k_adj=True, k_fixef="nonnested",
G_adj=True)``: ``V = G/(G-1) · (n-1)/(n-K) · (X'X)^-1 (Σ_g X_g'u_g u_g'X_g) (X'X)^-1`` where ``K``
counts the slope coefficients plus the fixed-effect levels that are *not* nested in the clusters
(each fully nested fixed effect counts one), and intervals / p-values use Student t with ``G-1``
degrees of freedom. With units as clusters this is ``K = k + T`` (T = number of periods).
Singleton observations (a unit seen once) are kept; pyfixest / fixest drop them by default, which
changes n in that factor — the estimates are the same.

``vcov="HC1"`` (heteroskedasticity-robust) and ``vcov="iid"`` follow pyfixest 0.60 too, with
``K`` = slopes + all fixed-effect levels (minus one per extra fixed effect): HC1
``V = n/(n-K) · (X'X)^-1 (Σ_i x_i x_i' u_i²) (X'X)^-1``, iid ``V = Σu²/(n-K) · (X'X)^-1``, both with
Student t on ``n-K`` degrees of freedom.

The treatment in :func:`twfe` must be absorbing (0 until the unit adopts, 1 from then on): with
heterogeneous or dynamic effects the static TWFE coefficient is a weighted average with possibly
negative weights (Goodman-Bacon 2021; de Chaisemartin & D'Haultfœuille 2020) — use the event study,
Sun & Abraham or Callaway & Sant'Anna for those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from attribution.errors import DataError, DesignError, EstimationError

__all__ = [
    "VCOV_NOTES",
    "FeFit",
    "codes",
    "demean",
    "dummy_means",
    "fit_fe_ols",
    "relative_time",
    "wald_chi2",
]

VCOV_NOTES = {
    "CR1": "CR1 cluster-robust: G/(G-1)·(n-1)/(n-K), K = slopes + fixed-effect levels not nested "
    "in the clusters (fixest / pyfixest default); t(G-1) intervals",
    "HC1": "HC1 heteroskedasticity-robust: n/(n-K), K = slopes + fixed-effect levels "
    "(fixest / pyfixest); t(n-K) intervals",
    "iid": "iid: Σu²/(n-K)·(X'X)^-1, K = slopes + fixed-effect levels (fixest / pyfixest); "
    "t(n-K) intervals",
}
"""What each `vcov` of `fit_fe_ols` computes, in words (results carry it as `vcov_type`)."""


# ------------------------------------------------------------------------------------------------
# pure math over arrays
# ------------------------------------------------------------------------------------------------
def demean(
    columns: np.ndarray,
    fe: Sequence[np.ndarray],
    *,
    weights: np.ndarray | None = None,
    tol: float = 1e-13,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Sweep fixed effects out of each column of `columns` (n × p) by alternating projections.

    `fe` holds one integer code array (0..L-1) per fixed-effect dimension. One sweep is exact for a
    single dimension or a balanced two-way panel with weights constant within units; otherwise the
    sweeps repeat until the largest change is below `tol` times the column scale (Gaure 2013,
    "lfe"). With `weights` the projections use weighted means (the within transformation of WLS).
    """
    x = np.array(columns, dtype=float, copy=True)
    if x.ndim == 1:
        x = x[:, None]
    if not fe:
        return x
    w = None if weights is None else np.asarray(weights, dtype=float)
    counts = [np.bincount(codes, weights=w).astype(float) for codes in fe]
    scale = max(float(np.abs(x).max(initial=0.0)), 1.0)
    for _ in range(max_iter):
        change = 0.0
        for codes, n_g in zip(fe, counts, strict=True):
            for j in range(x.shape[1]):
                wx = x[:, j] if w is None else w * x[:, j]
                means = np.bincount(codes, weights=wx, minlength=len(n_g)) / n_g
                step = means[codes]
                x[:, j] -= step
                change = max(change, float(np.abs(step).max(initial=0.0)))
        if len(fe) == 1 or change <= tol * scale:
            return x
    raise EstimationError(
        f"the fixed-effect demeaning did not converge in {max_iter} sweeps",
        fix="check for a badly connected panel (units and periods that barely overlap)",
    )


def _nested(fe_codes: np.ndarray, cluster_codes: np.ndarray) -> bool:
    """True if every level of the fixed effect lies inside one cluster."""
    order = np.lexsort((cluster_codes, fe_codes))
    f, c = fe_codes[order], cluster_codes[order]
    same_level = f[1:] == f[:-1]
    return not bool(np.any(same_level & (c[1:] != c[:-1])))


@dataclass(frozen=True)
class FeFit:
    """OLS with absorbed fixed effects and its covariance (what every TWFE variant here returns)."""

    coef: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_clusters: int | None
    """Clusters of a CR1 covariance (None for HC1 / iid)."""
    df_k: int
    df_t: int
    """Degrees of freedom of the t intervals: G - 1 (CR1) or n - K (HC1, iid)."""


def fit_fe_ols(
    y: np.ndarray,
    x: np.ndarray,
    fe: Sequence[np.ndarray],
    cluster: np.ndarray | None,
    *,
    names: Sequence[str],
    vcov: str = "CR1",
    weights: np.ndarray | None = None,
) -> FeFit:
    """Regress y on x absorbing the fixed effects `fe`; CR1 (clustered on `cluster`), HC1 or iid
    covariance with fixest's small-sample conventions (module docstring).

    `weights` (positive, validated by the caller) give weighted least squares, minimising
    Σ w_i u_i², as pyfixest's default ``weights_type="aweights"``: weighted within transformation,
    then every row scaled by sqrt(w_i); n in the small-sample factor stays the number of rows.

    Raises DesignError naming the regressors that are collinear with the fixed effects (pyfixest
    drops them silently; a dropped treatment dummy would change what the estimate means).
    """
    n = len(y)
    x = np.asarray(x, dtype=float).reshape(n, -1)
    k = x.shape[1]
    both = demean(np.column_stack([y, x]), fe, weights=weights)
    if weights is not None:
        root = np.sqrt(np.asarray(weights, dtype=float))
        both = both * root[:, None]
        x = x * root[:, None]
    yd, xd = both[:, 0], both[:, 1:]
    if k == 0:
        raise DesignError("no regressor left to estimate")
    xtx = xd.T @ xd
    scale = np.sqrt(np.clip(np.diag(xtx), 0.0, None))
    ref_scale = np.sqrt(np.clip(np.diag(x.T @ x), 0.0, None))
    dead = scale <= 1e-10 * np.maximum(ref_scale, 1e-300)
    safe = np.where(dead, 1.0, scale)
    corr = xtx / np.outer(safe, safe)
    corr[dead, :] = 0.0
    corr[:, dead] = 0.0
    # pivoted QR of the (k × k) normalised Gram matrix names the collinear columns cheaply
    _, r, piv = scipy.linalg.qr(corr, pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-10))
    if rank < k:
        bad = [names[i] for i in sorted(piv[rank:])]
        raise DesignError(
            f"regressor(s) {bad} are collinear with the fixed effects or each other",
            columns=bad,
            fix="drop them, widen/narrow the event window, or add never-treated (or later-treated) "
            "units so every relative period is identified",
        )
    xtx_inv = np.linalg.inv(xtx)
    coef = xtx_inv @ (xd.T @ yd)
    resid = yd - xd @ coef
    # small-sample factor (pyfixest get_ssc, k_fixef="nonnested")
    k_fe = [int(c.max()) + 1 for c in fe]
    n_fe = len(fe)
    k_fe_adj = sum(k_fe) - (n_fe - 1) if n_fe > 1 else sum(k_fe)
    if vcov != "CR1":  # HC1 / iid: no clusters, so no fixed effect is nested in one
        df_k = k + k_fe_adj
        _check_dof(n, df_k)
        if vcov == "iid":
            v = float(resid @ resid) / (n - df_k) * xtx_inv
        else:
            xu = xd * resid[:, None]
            v = n / (n - df_k) * xtx_inv @ (xu.T @ xu) @ xtx_inv
        return FeFit(
            coef=coef, vcov=v, n_obs=n, n_clusters=None, df_k=int(df_k), df_t=int(n - df_k)
        )
    cl_codes, cl_idx = np.unique(cluster, return_inverse=True)
    g = len(cl_codes)
    if g < 2:
        raise DesignError(
            "cluster-robust standard errors need at least two clusters; the data have one",
            fix="cluster on a finer variable",
        )
    xu = xd * resid[:, None]
    scores = np.column_stack([np.bincount(cl_idx, weights=xu[:, j], minlength=g) for j in range(k)])
    meat = scores.T @ scores
    nested = [_nested(c, cl_idx) for c in fe]
    k_nested = sum(kf for kf, ok in zip(k_fe, nested, strict=True) if ok)
    n_fully = sum(nested)
    if n_fe == 0:
        df_k = k
    elif k_nested == 0:
        df_k = k + k_fe_adj
    else:
        df_k = k + k_fe_adj - k_nested + n_fully
    _check_dof(n, df_k)
    adj = (g / (g - 1)) * (n - 1) / (n - df_k)
    v = adj * xtx_inv @ meat @ xtx_inv
    return FeFit(coef=coef, vcov=v, n_obs=n, n_clusters=g, df_k=int(df_k), df_t=g - 1)


def _check_dof(n: int, df_k: int) -> None:
    if n - df_k <= 0:
        raise DesignError(
            f"{n} observations cannot identify {df_k} parameters",
            fix="use more periods or units",
        )


def wald_chi2(est: np.ndarray, vcov: np.ndarray) -> tuple[float, int, float]:
    """Joint Wald statistic est' V^-1 est, its degrees of freedom and the chi-square p-value."""
    est = np.asarray(est, float)
    if est.size == 0:
        raise DesignError("no coefficients to test")
    try:
        stat = float(est @ np.linalg.solve(vcov, est))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the covariance of the tested coefficients is singular",
            fix="drop redundant coefficients",
        ) from exc
    df = int(est.size)
    return stat, df, float(stats.chi2.sf(stat, df))


def dummy_means(y: np.ndarray, x: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The (weighted) mean of `y` over the rows where each 0/1 column of `x` is 1 (NaN if none):
    the treated rows' observed mean behind each treatment or event-time coefficient."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    xw = np.asarray(x, float) * w[:, None]
    n = xw.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (xw.T @ np.asarray(y, float)) / n, np.nan)


def codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Integer codes 0..L-1 of a fixed effect's levels."""
    return pd.factorize(pd.Series(values), sort=True)[0].astype(np.int64)


def relative_time(
    df: pd.DataFrame,
    *,
    tname: str,
    cohort: str,
    window: tuple[int, int] | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Event time t - g for treated units (NaN for never treated), applying the window."""
    g = df[cohort].to_numpy(float)
    tt = df[tname].to_numpy(float)
    rel = np.where(g > 0, tt - g, np.nan)
    finite = rel[np.isfinite(rel)]
    if finite.size and not np.allclose(finite, np.round(finite)):
        raise DataError(
            f"event times {tname} - cohort are not whole numbers",
            columns=[tname, cohort],
            fix="use integer period indices for the time and cohort columns",
        )
    if window is not None:
        lo, hi = window
        keep = ~np.isfinite(rel) | ((rel >= lo) & (rel <= hi))
        inside = np.isfinite(rel) & keep
        if not inside.any():
            raise DesignError(
                f"no treated observation has an event time inside window={list(window)}",
                columns=[tname, cohort],
                fix="widen the window",
            )
        df = df.loc[keep].reset_index(drop=True)
        rel = rel[keep]
    return df, np.round(rel)
