"""Effects by segment and tests that heterogeneity exists.

- Continuous treatments: the orthogonal final stage with each residual treatment interacted with
  the indicators of the categorical effect modifiers' levels, a Wald test that the effect is the
  same in every segment.
- Discrete treatments: per-segment means of the doubly robust pseudo-outcome (disjoint segments are
  independent), Cochran's Q (a Wald test) that they are equal.
- Both: Holm-adjusted p-values across segments (`p_value_holm`), Bonferroni simultaneous intervals
  (`conf_low_uniform` / `conf_high_uniform`) and the method in an `adjustment` column; and the
  best-linear-predictor calibration test (Chernozhukov, Demirer, Duflo & Fernández-Val 2018; econml's
  DRTester): a CATE predicted from the modifiers out of fold, then the outcome (residual, or
  pseudo-outcome) regressed on the prediction; a positive slope significantly above zero says the
  predicted heterogeneity is real. One-sided p-value (H0: slope ≤ 0).

Within a segment the partially linear model has its own slope, so these estimates are comparable to
per-segment truths (the simulator's `segment_slopes`), unlike the pooled coefficient, which is a
variance-weighted average of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attribution.designs.dml.moments import final_stage
from attribution.inference import holm, wald_table
from attribution.results import Check

__all__ = ["blp_discrete", "blp_linear", "by_segment", "by_segment_discrete"]

MIN_SEGMENT_ROWS = 20
"""Segments smaller than this get no row of their own (too few rows for a slope)."""


def by_segment(
    y_res: np.ndarray,
    t_res: np.ndarray,
    labels: np.ndarray,
    treatments: tuple[str, ...],
    *,
    clusters: np.ndarray | None,
    alpha: float,
) -> tuple[pd.DataFrame, list[Check], list[str]]:
    """Per-(treatment, segment) rows, one heterogeneity Check per treatment, and notes."""
    levels, counts = np.unique(labels, return_counts=True)
    notes = []
    small = levels[counts < MIN_SEGMENT_ROWS]
    if len(small):
        notes.append(
            f"segments {[str(s) for s in small]} have fewer than {MIN_SEGMENT_ROWS} rows: "
            "no effect of their own is reported"
        )
    keep = levels[counts >= MIN_SEGMENT_ROWS]
    mask = np.isin(labels, keep)
    ind = (labels[mask][:, None] == keep[None, :]).astype(float)
    p = t_res.shape[1]
    design = np.hstack([t_res[mask, j : j + 1] * ind for j in range(p)])
    stage = final_stage(
        y_res[mask],
        t_res[mask],
        clusters=None if clusters is None else clusters[mask],
        design=design,
    )
    se = np.sqrt(np.clip(np.diag(stage.vcov), 0.0, None))
    terms = [t for t in treatments for _ in keep]
    tab = wald_table(terms, stage.theta, se, alpha=alpha, df=stage.df)
    tab["segment"] = [str(s) for _ in treatments for s in keep]
    tab = _adjust(tab, len(treatments), len(keep), alpha=alpha, df=stage.df)
    checks = []
    s = len(keep)
    for j, c in enumerate(treatments):
        rows = slice(j * s, (j + 1) * s)
        if s < 2:
            continue
        diff = np.eye(s)[1:] - np.eye(s)[:-1]
        th = stage.theta[rows]
        v = stage.vcov[rows, rows]
        d = diff @ th
        stat = float(d @ np.linalg.pinv(diff @ v @ diff.T) @ d)
        pv = float(stats.chi2.sf(stat, s - 1))
        checks.append(
            Check(
                f"heterogeneity ({c})",
                None,
                f"Wald test that the effect of {c} is the same in all {s} segments: "
                f"chi2 = {stat:.3g} on {s - 1} df, p = {pv:.3g}",
                statistic=stat,
                df=s - 1,
                p_value=pv,
            )
        )
    return tab, checks, notes


def _adjust(
    tab: pd.DataFrame, n_terms: int, n_segments: int, *, alpha: float, df: float | None
) -> pd.DataFrame:
    """Holm p-values and Bonferroni intervals across the segments of each term (rows in blocks of
    `n_segments` per term), and the method named in an `adjustment` column."""
    tab = tab.copy()
    tab["p_value_holm"] = np.nan
    tab["conf_low_uniform"] = np.nan
    tab["conf_high_uniform"] = np.nan
    q = 1 - alpha / (2 * n_segments)
    crit = float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, df))
    for j in range(n_terms):
        rows = tab.index[j * n_segments : (j + 1) * n_segments]
        tab.loc[rows, "p_value_holm"] = holm(tab.loc[rows, "p_value"].to_numpy())
        est, se = tab.loc[rows, "estimate"], tab.loc[rows, "std_error"]
        tab.loc[rows, "conf_low_uniform"] = est - crit * se
        tab.loc[rows, "conf_high_uniform"] = est + crit * se
    tab["adjustment"] = (
        f"across {n_segments} segments: Holm p-values (p_value_holm), Bonferroni simultaneous "
        "intervals (conf_low_uniform, conf_high_uniform)"
    )
    return tab


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    keep = sd > 1e-12 * (1 + np.abs(x).max(axis=0))
    return (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]


def _blp_check(name: str, slope: float, se: float, df: float | None, what: str) -> Check:
    if not (se > 0 and np.isfinite(slope)):
        return Check(
            f"heterogeneity BLP ({name})",
            None,
            f"best-linear-predictor calibration test for {what} not run: the out-of-fold "
            "predicted effect does not vary",
        )
    t = slope / se
    p = float(stats.norm.sf(t) if df is None else stats.t.sf(t, df))
    return Check(
        f"heterogeneity BLP ({name})",
        None,
        f"best-linear-predictor calibration test for {what}: slope of the outcome on the "
        f"out-of-fold predicted effect {slope:.3g} (SE {se:.3g}, t = {t:.3g}, one-sided "
        f"p = {p:.3g}); a slope clearly above 0 says the predicted heterogeneity is real, "
        "near 1 that it is well calibrated",
        statistic=t,
        p_value=p,
    )


def blp_linear(
    y_res: np.ndarray,
    t_res: np.ndarray,
    x: np.ndarray,
    treatments: tuple[str, ...],
    *,
    folds: list[tuple[np.ndarray, np.ndarray]],
    clusters: np.ndarray | None,
) -> list[Check]:
    """Partially linear model: θ_j(X) = [1, X] β_j fitted on the other folds' residuals, then
    ỹ on [t̃, t̃ ∘ (θ̂(X) − mean)] by the orthogonal final stage; one Check per treatment."""
    xs = _standardise(x)
    if xs.shape[1] == 0:
        return []
    n, p = t_res.shape
    basis = np.hstack([np.ones((n, 1)), xs])
    q = basis.shape[1]
    tau = np.empty((n, p))
    for train, test in folds:
        z = np.hstack([t_res[train, j : j + 1] * basis[train] for j in range(p)])
        coef = np.linalg.lstsq(z, y_res[train], rcond=None)[0]
        for j in range(p):
            tau[test, j] = basis[test] @ coef[j * q : (j + 1) * q]
    d = tau - tau.mean(axis=0)
    stage = final_stage(y_res, t_res, clusters=clusters, design=np.hstack([t_res, t_res * d]))
    se = np.sqrt(np.clip(np.diag(stage.vcov), 0.0, None))
    return [
        _blp_check(c, float(stage.theta[p + j]), float(se[p + j]), stage.df, f"the effect of {c}")
        for j, c in enumerate(treatments)
    ]


def blp_discrete(
    pseudo: np.ndarray,
    x: np.ndarray,
    terms: list[str],
    *,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> list[Check]:
    """Doubly robust pseudo-outcome (n, levels − 1): a linear CATE in X fitted on the other folds,
    then the pseudo-outcome on [1, τ̂(X) − mean] (HC0); one Check per level (DRTester's BLP)."""
    xs = _standardise(x)
    if xs.shape[1] == 0:
        return []
    n = len(pseudo)
    basis = np.hstack([np.ones((n, 1)), xs])
    checks = []
    for j, term in enumerate(terms):
        y = pseudo[:, j]
        tau = np.empty(n)
        for train, test in folds:
            tau[test] = basis[test] @ np.linalg.lstsq(basis[train], y[train], rcond=None)[0]
        z = np.column_stack([np.ones(n), tau - tau.mean()])
        inv = np.linalg.pinv(z.T @ z)
        coef = inv @ z.T @ y
        e = y - z @ coef
        meat = (z * e[:, None]).T @ (z * e[:, None])
        v = inv @ meat @ inv
        checks.append(
            _blp_check(
                term,
                float(coef[1]),
                float(np.sqrt(max(v[1, 1], 0.0))),
                None,
                f"the effect of {term}",
            )
        )
    return checks


def by_segment_discrete(
    pseudo: np.ndarray,
    labels: np.ndarray,
    terms: list[str],
    *,
    alpha: float,
) -> tuple[pd.DataFrame, list[Check], list[str]]:
    """Per-(level, segment) means of the doubly robust pseudo-outcome, Cochran's Q per level."""
    levels, counts = np.unique(labels, return_counts=True)
    notes = []
    small = levels[counts < MIN_SEGMENT_ROWS]
    if len(small):
        notes.append(
            f"segments {[str(s) for s in small]} have fewer than {MIN_SEGMENT_ROWS} rows: "
            "no effect of their own is reported"
        )
    keep = levels[counts >= MIN_SEGMENT_ROWS]
    est, se = [], []
    for j in range(pseudo.shape[1]):
        for s in keep:
            v = pseudo[labels == s, j]
            est.append(float(v.mean()))
            se.append(float(v.std(ddof=1) / np.sqrt(len(v))))
    tab = wald_table([t for t in terms for _ in keep], est, se, alpha=alpha)
    tab["segment"] = [str(s) for _ in terms for s in keep]
    tab = _adjust(tab, len(terms), len(keep), alpha=alpha, df=None)
    checks = []
    s = len(keep)
    for j, term in enumerate(terms):
        if s < 2:
            continue
        th = np.asarray(est[j * s : (j + 1) * s])
        wgt = 1 / np.asarray(se[j * s : (j + 1) * s]) ** 2
        pooled = float(np.sum(wgt * th) / np.sum(wgt))
        stat = float(np.sum(wgt * (th - pooled) ** 2))
        pv = float(stats.chi2.sf(stat, s - 1))
        checks.append(
            Check(
                f"heterogeneity ({term})",
                None,
                f"Cochran's Q test that the effect of {term} is the same in all {s} segments: "
                f"Q = {stat:.3g} on {s - 1} df, p = {pv:.3g}",
                statistic=stat,
                df=s - 1,
                p_value=pv,
            )
        )
    return tab, checks, notes
