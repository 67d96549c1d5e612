"""Callaway & Sant'Anna (2021) group-time average treatment effects, R `did` 2.x semantics, at scale.

Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with multiple time periods",
Journal of Econometrics 225(2), 200-230. ATT(g, t) is a 2×2 DiD between cohort g and a comparison
group (never treated, or not yet treated by max(t, base) + anticipation) from a base period (the
last period before g - anticipation for post-treatment cells; with ``base_period="varying"`` the
previous period for pre-treatment cells).

Two computational paths, the same numbers:

- **no covariates** (``xformla`` None or "~1"): every estimator (dr, ipw, reg) reduces to a
  difference of weighted means, and each unit's influence function is affine in its outcome vector
  with cohort-specific coefficients. All ATT(g,t), their covariance and every aggregation's
  covariance come from cohort × period moments computed in the engine (`stats.py`); no unit rows
  leave DuckDB / Spark.
- **covariates**: only the needed columns are pulled (guarded by ``config.max_pull_rows``) and each
  cell is estimated with the DRDID estimators in `drdid.py` (Sant'Anna & Zhao 2020). A cell whose
  propensity logit is separated (no overlap; typically a tiny cohort) is NA with a warning, as in
  R `did` (``on_separation="na"``; R keeps the NA cell under both base periods and `aggte` then
  needs ``na_rm=True``), or stops the call (``on_separation="raise"``).

Standard errors are R's analytic ones, sqrt(Σ IF²)/n. With ``clustervars`` the analytic variance
is the one R's clustered multiplier bootstrap targets, Σ_c ĪF_c ĪF_c' / C² with ĪF_c the mean
influence function of cluster c (R `did` itself warns and ignores clustering unless bstrap=True).

Bootstrap (``bstrap=True``): R draws Mammen multipliers ξ_i per unit (or cluster) and uses
mean_i ξ_i IF_i. With ``clustervars`` we do exactly that: the cluster-mean influence functions are
small (clusters × cells; on the moment path they come from per-cluster cohort sums), so R's Mammen
draws are applied to them. Without clusters the statistic is a sum over all units, which we never
hold in memory on the moment path; conditionally on the data it has mean 0 and covariance V̂ (the
analytic covariance) and is asymptotically Gaussian, so we draw the deviations from N(0, V̂).
Standard errors are R's robust IQR / 1.349 of the draws and the uniform band (``cband=True``) uses
the sup-t critical value of the draws. Seeded and reproducible; unit-level bootstrap SEs agree with
the analytic ones up to Monte-Carlo error. With few, unequal clusters R's IQR-based bootstrap SEs
can differ noticeably from the analytic clustered SEs (the Mammen sum is far from Gaussian); both
are reported as R defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from attribution.designs.did.influence import Influence, UnitInfluence
from attribution.designs.did.stats import CohortMoments
from attribution.errors import AttributionError, DesignError
from attribution.inference import (
    critical_value,
    gaussian_draws,
    multiplier_draws,
    sup_t_critical,
)

__all__ = [
    "EMPTY_NOTE",
    "SEPARATION_NOTE",
    "Cell",
    "Inference",
    "cell_means_from_moments",
    "cell_means_from_rows",
    "drop_inestimable",
    "gt_from_moments",
    "gt_with_covariates",
    "infer",
    "plan_cells",
    "separation_note",
    "wald_pretest",
]

SEPARATION_NOTE = "not estimable: propensity score separated (no overlap with the comparison group)"
EMPTY_NOTE = "not estimable: no treated or no comparison observations"

_IQR_NORMAL = 1.3489795003921634  # qnorm(0.75) - qnorm(0.25): R's robust bootstrap SE divisor
SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10  # R `did`: smaller standard errors are reported as NA


# -------------------------------------------------------------------------------------------------
# Which group-time cells, with which comparison group and base period (pure)
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    group: float
    time: float
    t_idx: int  # index of `time` in the periods
    b_idx: int  # index of the base period
    post: bool
    reference: bool  # universal base period: the base period itself (ATT = 0 by construction)
    controls: tuple[float, ...]  # cohort labels of the comparison group (0 = never treated)


def plan_cells(
    periods: np.ndarray,
    cohorts: np.ndarray,
    *,
    control_group: str,
    base_period: str,
    anticipation: float,
) -> list[Cell]:
    """The (g, t) cells R `did` estimates, in its order (by group, then time).

    `cohorts` are all cohort labels present, 0 for never treated.
    """
    periods = np.asarray(periods, float)
    labels = np.asarray(cohorts, float)
    cells: list[Cell] = []
    for g in labels[labels > 0]:
        before = np.flatnonzero(periods < g - anticipation)
        if len(before) == 0:  # excluded by validate_did_panel; kept for direct callers
            continue
        g_base = int(before[-1])
        t_range = range(1, len(periods)) if base_period == "varying" else range(len(periods))
        for ti in t_range:
            tp = periods[ti]
            post = bool(g <= tp)
            bi = g_base if (post or base_period == "universal") else ti - 1
            if control_group == "nevertreated":
                ctrl = labels[labels == 0]
            else:
                limit = max(tp, periods[bi]) + anticipation
                ctrl = labels[(labels == 0) | ((labels > limit) & (labels != g))]
            cells.append(
                Cell(
                    group=float(g),
                    time=float(tp),
                    t_idx=ti,
                    b_idx=bi,
                    post=post,
                    reference=(base_period == "universal" and ti == bi),
                    controls=tuple(float(c) for c in ctrl),
                )
            )
    return cells


# -------------------------------------------------------------------------------------------------
# Path 1: no covariates, from cohort moments (pure numpy)
# -------------------------------------------------------------------------------------------------


def gt_from_moments(mom: CohortMoments, cells: Sequence[Cell]) -> tuple[np.ndarray, np.ndarray]:
    """ATT(g,t) and the affine influence coefficients M (H, K, D) from cohort moments.

    For the cohorts X of a side (treated, or comparison) the period-t weighted mean is
    μ_Xt = Σ_X wY_t / Σ_X w p_t, the ATT is (μ_Dt - μ_Db) - (μ_Ct - μ_Cb), and unit i's influence
    function (R `did` scale) is ± n [w p_t (Y_t - μ_Xt) / W_Xt - w p_b (Y_b - μ_Xb) / W_Xb]. NaN ATT
    marks a cell without treated or comparison observations.
    """
    H, D, K = len(mom.cohorts), mom.dim, len(cells)
    n = mom.n
    att = np.full(K, np.nan)
    M = np.zeros((H, K, D))
    for k, c in enumerate(cells):
        if c.reference:
            att[k] = 0.0
            continue
        sides = []
        for labels, sign in (((c.group,), 1.0), (c.controls, -1.0)):
            rows = np.flatnonzero(np.isin(mom.cohorts, labels))
            coef = np.zeros(D)
            means = []
            ok = len(rows) > 0
            for idx, s in ((c.t_idx, 1.0), (c.b_idx, -1.0)):
                W = mom.first[rows, mom.col_w(idx)].sum() if ok else 0.0
                if W <= 0:
                    ok = False
                    break
                mu = mom.first[rows, mom.col_y(idx)].sum() / W
                means.append(s * mu)
                coef[mom.col_y(idx)] += s * n / W
                coef[mom.col_w(idx)] -= s * n * mu / W
            if not ok:
                break
            sides.append((rows, sign, coef, sum(means)))
        if len(sides) < 2:
            continue
        att[k] = sides[0][3] - sides[1][3]
        for rows, sign, coef, _ in sides:
            M[rows, k, :] = sign * coef
    return att, M


def cell_means_from_moments(mom: CohortMoments, cells: Sequence[Cell]) -> np.ndarray:
    """The treated cohort's observed (weighted) mean outcome in each cell's period, from the same
    moments (the per-period centring added back); NaN without observations or without `centre`.

    A cell's counterfactual mean is this minus its ATT(g,t): what `baseline` averages."""
    out = np.full(len(cells), np.nan)
    if mom.centre is None:
        return out
    for k, c in enumerate(cells):
        rows = mom.cohorts == c.group
        W = mom.first[rows, mom.col_w(c.t_idx)].sum()
        if W > 0:
            out[k] = mom.first[rows, mom.col_y(c.t_idx)].sum() / W + mom.centre[c.t_idx]
    return out


def cell_means_from_rows(
    frame: pd.DataFrame, cells: Sequence[Cell], periods: np.ndarray
) -> np.ndarray:
    """The same treated means from the pulled unit rows (`stats.unit_rows`) of the covariate path."""
    w = frame["_w"].to_numpy(float)
    key = pd.MultiIndex.from_arrays([frame["_g"].to_numpy(float), frame["_t"].to_numpy(float)])
    sums = pd.DataFrame({"wy": w * frame["_y"].to_numpy(float), "w": w}, index=key)
    sums = sums.groupby(level=[0, 1]).sum()
    out = np.full(len(cells), np.nan)
    for k, c in enumerate(cells):
        hit = (c.group, float(periods[c.t_idx]))
        if hit in sums.index and sums.at[hit, "w"] > 0:
            out[k] = sums.at[hit, "wy"] / sums.at[hit, "w"]
    return out


# -------------------------------------------------------------------------------------------------
# Path 2: covariates, unit rows pulled, DRDID per cell
# -------------------------------------------------------------------------------------------------


def gt_with_covariates(
    frame: pd.DataFrame,
    cells: Sequence[Cell],
    covariates: Sequence[str],
    est_method: str,
    *,
    periods: np.ndarray,
    balanced: bool,
    on_separation: str = "raise",
) -> tuple[np.ndarray, UnitInfluence, np.ndarray]:
    """ATT(g,t), unit influence functions and the cells left NA for separation, by DRDID per cell
    from the pulled unit rows (`stats.unit_rows`: _id, _t, _y, _g, _w, _x0.., optional _c).

    ``on_separation="na"``: a cell whose propensity logit has no finite maximum gets ATT NaN and a
    zero influence column (R `did`: NA cell, NA influence function); the caller warns
    (`separation_note`, with the user's column names); ``"raise"``: the SeparationError stops
    the call.
    """
    from attribution.designs.did.drdid import SeparationError, drdid_panel, drdid_rc

    ids, unit = np.unique(frame["_id"].to_numpy(), return_inverse=True)
    n = len(ids)
    t_idx = np.searchsorted(periods, frame["_t"].to_numpy(float))
    g_unit = np.zeros(n)
    g_unit[unit] = frame["_g"].to_numpy(float)
    w_unit = np.zeros(n)
    w_unit[unit] = frame["_w"].to_numpy(float)
    cluster = None
    if "_c" in frame.columns:
        cl = np.empty(n, dtype=object)
        cl[unit] = frame["_c"].to_numpy()
        cluster = np.unique(cl.astype(str), return_inverse=True)[1]
    cohorts = np.unique(g_unit)
    y_all = frame["_y"].to_numpy(float)
    x_all = np.column_stack(
        [np.ones(len(frame))] + [frame[f"_x{j}"].to_numpy(float) for j in range(len(covariates))]
    )
    names = ["(Intercept)", *covariates]
    K = len(cells)
    att = np.full(K, np.nan)
    IF = np.zeros((n, K))
    separated = np.zeros(K, bool)
    if balanced:
        T = len(periods)
        Y = np.empty((n, T))
        Y[unit, t_idx] = y_all
        X = np.empty((n, T, x_all.shape[1]))
        X[unit, t_idx, :] = x_all
    for k, c in enumerate(cells):
        if c.reference:
            att[k] = 0.0
            continue
        d_unit = g_unit == c.group
        valid = d_unit | np.isin(g_unit, c.controls)
        if not d_unit.any() or valid.sum() == d_unit.sum():
            continue
        try:
            if balanced:
                xi = min(c.b_idx, c.t_idx)
                est, inf = drdid_panel(
                    Y[valid, c.t_idx],
                    Y[valid, c.b_idx],
                    d_unit[valid].astype(float),
                    X[valid, xi, :],
                    w_unit[valid],
                    method=est_method,
                    names=names,
                )
                IF[valid, k] = inf * (n / valid.sum())
            else:
                rows = valid[unit] & np.isin(t_idx, (c.t_idx, c.b_idx))
                post = (t_idx[rows] == c.t_idx).astype(float)
                d_row = d_unit[unit[rows]].astype(float)
                w_row = w_unit[unit[rows]]
                cells_seen = {(a, b) for a, b, ww in zip(d_row, post, w_row, strict=True) if ww > 0}
                if len(cells_seen) < 4:  # a (group, period) side unobserved: R skips the cell
                    continue
                est, inf = drdid_rc(
                    y_all[rows], post, d_row, x_all[rows], w_row, method=est_method, names=names
                )
                IF[:, k] = np.bincount(unit[rows], weights=inf * (n / rows.sum()), minlength=n)
        except SeparationError as err:
            if on_separation != "na":
                raise type(err)(
                    f"ATT({c.group:g},{c.time:g}) (base period {periods[c.b_idx]:g}): "
                    f"{err.message}",
                    columns=err.columns,
                    rows=err.rows,
                    fix=f"{err.fix}; or pass on_separation='na' to report such cells as NA, "
                    "as R `did` does",
                ) from err
            IF[:, k] = 0.0
            separated[k] = True
            continue
        except AttributionError as err:  # say which cell failed
            raise type(err)(
                f"ATT({c.group:g},{c.time:g}) (base period {periods[c.b_idx]:g}): {err.message}",
                columns=err.columns,
                rows=err.rows,
                fix=err.fix,
            ) from err
        att[k] = est
    infl = UnitInfluence(
        IF=IF,
        cohort_index=np.searchsorted(cohorts, g_unit),
        cohorts=cohorts,
        weights=w_unit,
        cluster=cluster,
    )
    return att, infl, separated


def separation_note(cells: Sequence[Cell], separated: np.ndarray, covariates: Sequence[str]) -> str:
    """One sentence naming, per cohort, the periods whose ATT(g,t) are NA for separation."""
    by_group: dict[float, list[float]] = {}
    for c, s in zip(cells, separated, strict=True):
        if s:
            by_group.setdefault(c.group, []).append(c.time)
    parts = [
        f"cohort {g:g} in period(s) {', '.join(f'{t:g}' for t in ts)}"
        for g, ts in sorted(by_group.items())
    ]
    named = f" on {', '.join(repr(x) for x in covariates)}" if covariates else ""
    return (
        f"the propensity-score logit{named} is separated for {'; '.join(parts)}: those "
        f"{int(separated.sum())} ATT(g,t) are NA (as R `did` reports them); the overall ATT "
        "averages the estimable cells, and aggte needs na_rm=True. Pass on_separation='raise' "
        "to make this an error"
    )


# -------------------------------------------------------------------------------------------------
# Inference shared with aggte
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inference:
    std_error: np.ndarray
    crit: float
    vcov: np.ndarray


def infer(
    att: np.ndarray,
    infl: Influence,
    *,
    cluster: bool,
    alpha: float,
    bstrap: bool,
    biters: int,
    cband: bool,
    seed: int,
) -> Inference:
    """Analytic or bootstrap standard errors and the (pointwise or uniform) critical value."""
    V = infl.vcov(cluster=cluster)
    ok = np.isfinite(att)
    V = np.where(np.outer(ok, ok), V, 0.0)
    se = np.sqrt(np.clip(np.diag(V), 0.0, None))
    crit = critical_value(alpha)
    if bstrap or cband:
        bar = infl.cluster_means() if cluster else None
        if bar is not None:  # R's clustered multiplier bootstrap, exactly: Mammen per cluster
            bar = np.where(ok[None, :], bar, 0.0)
            draws = multiplier_draws(biters, bar.shape[0], seed=seed) @ bar / bar.shape[0]
        else:
            draws = gaussian_draws(V, biters, seed=seed)  # limit of R's multiplier bootstrap
        if bstrap:
            q75, q25 = np.percentile(draws, [75, 25], axis=0)
            se = (q75 - q25) / _IQR_NORMAL
        se = np.where(ok & (se > SE_FLOOR), se, np.nan)
        if cband and np.isfinite(se).any():
            crit = max(sup_t_critical(draws, np.nan_to_num(se, nan=0.0), alpha), crit)
    se = np.where(ok & (se > SE_FLOOR), se, np.nan)
    return Inference(std_error=se, crit=crit, vcov=V)


def wald_pretest(att: np.ndarray, V: np.ndarray, pre: np.ndarray) -> tuple[float, float, int]:
    """R `did`'s Wald test that every pre-treatment ATT(g,t) is zero (NaN if not computable)."""
    idx = np.flatnonzero(pre & np.isfinite(att) & (np.diag(V) > SE_FLOOR**2))
    if len(idx) == 0:
        return float("nan"), float("nan"), 0
    sub = V[np.ix_(idx, idx)]
    if np.linalg.matrix_rank(sub) < len(idx):
        return float("nan"), float("nan"), len(idx)
    stat = float(att[idx] @ np.linalg.solve(sub, att[idx]))
    return stat, float(stats.chi2.sf(stat, len(idx))), len(idx)


def drop_inestimable(
    cells: list[Cell],
    att: np.ndarray,
    infl: Influence,
    base_period: str,
    keep_na: np.ndarray | None = None,
) -> tuple[list[Cell], np.ndarray, Influence, np.ndarray]:
    """R omits varying-base cells without treated or comparison units (universal-base ones are
    reported as NA); cells marked `keep_na` (propensity separation) stay as NA under both base
    periods, as in R. Returns the kept cells, their ATTs, influence and `keep_na` mask."""
    flagged = np.zeros(len(att), bool) if keep_na is None else np.asarray(keep_na, bool)
    if base_period == "varying":
        keep = np.isfinite(att) | flagged
        cells = [c for c, k in zip(cells, keep, strict=True) if k]
        att = att[keep]
        infl = infl.combine(np.eye(len(keep))[keep])
        flagged = flagged[keep]
    if len(cells) == 0:
        raise DesignError(
            "no group-time ATT can be estimated (no cell has both treated and comparison units)"
        )
    return cells, att, infl, flagged
