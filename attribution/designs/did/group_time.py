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
  covariance come from cohort × period moments computed in the engine (`moments.py`); no unit rows
  leave DuckDB / Spark.
- **covariates**: only the needed columns are pulled (guarded by ``config.max_pull_rows``) and each
  cell is estimated with the DRDID estimators in `drdid.py` (Sant'Anna & Zhao 2020).

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

import re
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
from scipy import stats

from attribution import config
from attribution.data.checks import require_complete
from attribution.data.engine import Data, fetch, fingerprint, require_columns
from attribution.designs.did.moments import (
    AffineInfluence,
    CohortMoments,
    Influence,
    UnitInfluence,
    cohort_moments,
)
from attribution.designs.did.panel import DidPanel, validate_did_panel
from attribution.designs.did.results import AttGtResult
from attribution.errors import AttributionError, DesignError, OptionError
from attribution.inference import (
    critical_value,
    gaussian_draws,
    multiplier_draws,
    sup_t_critical,
    wald_table,
)
from attribution.options import (
    BasePeriod,
    ControlGroup,
    EstMethod,
    check_alpha,
    check_option,
)
from attribution.results import Provenance

__all__ = ["Cell", "att_gt", "att_gt_from_moments", "parse_xformla", "plan_cells"]

_IQR_NORMAL = 1.3489795003921634  # qnorm(0.75) - qnorm(0.25): R's robust bootstrap SE divisor
_SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10  # R `did`: smaller standard errors are reported as NA


# -------------------------------------------------------------------------------------------------
# Request parsing
# -------------------------------------------------------------------------------------------------

_TERM = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def parse_xformla(xformla: str | None) -> tuple[str, ...]:
    """Covariate names from an R one-sided formula: None, "~1", "~ x1 + x2" (main effects only)."""
    if xformla is None:
        return ()
    if not isinstance(xformla, str) or not xformla.strip().startswith("~"):
        raise OptionError(
            f"xformla={xformla!r} is not a one-sided formula",
            fix='write it like R `did`: "~1" (no covariates) or "~ x1 + x2"',
        )
    rhs = xformla.strip()[1:].strip()
    terms = [t.strip() for t in rhs.split("+")]
    bad = [t for t in terms if not (t == "1" or _TERM.match(t))]
    if not rhs or bad:
        raise OptionError(
            f"xformla={xformla!r}: unsupported term(s) {bad or [rhs]}",
            fix="use column names joined by '+' (no interactions, functions or '-1'); build "
            "transformed covariates as columns first",
        )
    out = tuple(dict.fromkeys(t for t in terms if t != "1"))
    return out


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise OptionError(f"{name}={value!r} must be True or False")
    return bool(value)


def _check_biters(biters: object) -> int:
    if isinstance(biters, bool) or not isinstance(biters, int | np.integer) or int(biters) < 10:
        raise OptionError(f"biters={biters!r} must be an integer >= 10")
    return int(biters)


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


# -------------------------------------------------------------------------------------------------
# Path 2: covariates, unit rows pulled, DRDID per cell
# -------------------------------------------------------------------------------------------------


def _unit_path(
    panel: DidPanel, cells: Sequence[Cell], covariates: Sequence[str], est_method: str
) -> tuple[np.ndarray, UnitInfluence]:
    from attribution.designs.did.drdid import drdid_panel, drdid_rc

    t = panel.table
    cols = {
        "_id": t[panel.idname],
        "_t": t[panel.tname].cast("float64"),
        "_y": t[panel.yname].cast("float64"),
        "_g": panel.cohort(t),
        "_w": t[panel.weightsname].cast("float64") if panel.weightsname else ibis.literal(1.0),
    }
    for j, x in enumerate(covariates):
        cols[f"_x{j}"] = t[x].cast("float64")
    if panel.clustervars:
        cols["_c"] = t[panel.clustervars[0]]
    frame = fetch(t.select(**cols), what="att_gt with covariates")
    ids, unit = np.unique(frame["_id"].to_numpy(), return_inverse=True)
    n = len(ids)
    periods = panel.periods
    t_idx = np.searchsorted(periods, frame["_t"].to_numpy(float))
    g_unit = np.zeros(n)
    g_unit[unit] = frame["_g"].to_numpy(float)
    w_unit = np.zeros(n)
    w_unit[unit] = frame["_w"].to_numpy(float)
    cluster = None
    if panel.clustervars:
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
    if panel.balanced:
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
            if panel.balanced:
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
    return att, infl


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
        se = np.where(ok & (se > _SE_FLOOR), se, np.nan)
        if cband and np.isfinite(se).any():
            crit = max(sup_t_critical(draws, np.nan_to_num(se, nan=0.0), alpha), crit)
    se = np.where(ok & (se > _SE_FLOOR), se, np.nan)
    return Inference(std_error=se, crit=crit, vcov=V)


def _wald_pretest(att: np.ndarray, V: np.ndarray, pre: np.ndarray) -> tuple[float, float, int]:
    """R `did`'s Wald test that every pre-treatment ATT(g,t) is zero (NaN if not computable)."""
    idx = np.flatnonzero(pre & np.isfinite(att) & (np.diag(V) > _SE_FLOOR**2))
    if len(idx) == 0:
        return float("nan"), float("nan"), 0
    sub = V[np.ix_(idx, idx)]
    if np.linalg.matrix_rank(sub) < len(idx):
        return float("nan"), float("nan"), len(idx)
    stat = float(att[idx] @ np.linalg.solve(sub, att[idx]))
    return stat, float(stats.chi2.sf(stat, len(idx))), len(idx)


# -------------------------------------------------------------------------------------------------
# Public entry point
# -------------------------------------------------------------------------------------------------


def att_gt(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    xformla: str | None = None,
    control_group: ControlGroup = "nevertreated",
    anticipation: float = 0,
    est_method: EstMethod = "dr",
    base_period: BasePeriod = "varying",
    weightsname: str | None = None,
    clustervars: str | Sequence[str] | None = None,
    bstrap: bool = False,
    biters: int = 999,
    cband: bool = False,
    alpha: float = 0.05,
    allow_unbalanced_panel: bool = False,
    seed: int | None = None,
) -> AttGtResult:
    """Group-time ATTs of Callaway & Sant'Anna (2021) with R `did`'s arguments and semantics.

    `gname` holds each unit's first treated period (0 = never treated). Returns an AttGtResult:
    ``tidy()`` has one row per (group, time); ``aggte(result, type=...)`` aggregates it.
    Differences from R: bad panels raise typed errors instead of being silently repaired (see
    `validate_did_panel`); ``cband=True`` needs ``bstrap=True``; clustering is honoured by the
    analytic SEs too.
    """
    check_option("control_group", control_group, ControlGroup)
    check_option("est_method", est_method, EstMethod)
    check_option("base_period", base_period, BasePeriod)
    alpha = check_alpha(alpha)
    bstrap = _check_bool("bstrap", bstrap)
    cband = _check_bool("cband", cband)
    allow_unbalanced_panel = _check_bool("allow_unbalanced_panel", allow_unbalanced_panel)
    biters = _check_biters(biters)
    if cband and not bstrap:
        raise OptionError(
            "cband=True needs the multiplier bootstrap",
            fix="pass bstrap=True for a uniform band, or cband=False for pointwise intervals",
        )
    seed = config.get().seed if seed is None else int(seed)
    covariates = parse_xformla(xformla)

    panel = validate_did_panel(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        weightsname=weightsname,
        clustervars=clustervars,
        allow_unbalanced_panel=allow_unbalanced_panel,
        require_never_treated=(control_group == "nevertreated"),
        anticipation=anticipation,
    )
    if panel.n_never_treated == 0:
        last = float(panel.cohorts[-1])
        raise DesignError(
            "no never-treated units: with control_group='notyettreated' R `did` keeps only the "
            f"periods before the last cohort ({last:g}) starts (minus anticipation) and uses that "
            "cohort as the comparison group; we do not drop periods silently",
            columns=[gname, tname],
            fix=f"keep rows with {tname} < {last - panel.anticipation:g} explicitly",
        )
    if covariates:
        require_columns(panel.table, dict.fromkeys(covariates, "numeric"), role="xformla")
        require_complete(panel.table, list(covariates), role="xformla")
        overlap = set(covariates) & {yname, tname, idname, gname}
        if overlap:
            raise OptionError(
                f"xformla uses design column(s) {sorted(overlap)} as covariates",
                columns=sorted(overlap),
                fix="covariates must be other columns",
            )

    cohort_labels = np.concatenate([[0.0], panel.cohorts])
    cells = plan_cells(
        panel.periods,
        cohort_labels,
        control_group=control_group,
        base_period=base_period,
        anticipation=panel.anticipation,
    )
    infl: Influence
    if covariates:
        att, infl = _unit_path(panel, cells, covariates, est_method)
    else:
        mom = cohort_moments(panel)
        att, M = gt_from_moments(mom, cells)
        infl = AffineInfluence(M=M, moments=mom)
    cells, att, infl = _drop_inestimable(cells, att, infl, base_period)
    options = {
        "yname": yname,
        "tname": tname,
        "idname": idname,
        "gname": gname,
        "xformla": xformla,
        "control_group": control_group,
        "anticipation": panel.anticipation,
        "est_method": est_method,
        "base_period": base_period,
        "weightsname": weightsname,
        "clustervars": list(panel.clustervars),
        "bstrap": bstrap,
        "biters": biters,
        "cband": cband,
        "allow_unbalanced_panel": allow_unbalanced_panel,
    }
    return _finish(
        cells,
        att,
        infl,
        options=options,
        data=fingerprint(panel.table, n_rows=panel.n_rows),
        periods=panel.periods,
        cohorts=panel.cohorts,
        cohort_sizes=panel.cohort_sizes,
        n_never_treated=panel.n_never_treated,
        balanced=panel.balanced,
        clustervars=panel.clustervars,
        alpha=alpha,
        bstrap=bstrap,
        biters=biters,
        cband=cband,
        seed=seed,
    )


def att_gt_from_moments(
    moments: CohortMoments,
    *,
    control_group: ControlGroup = "nevertreated",
    anticipation: float = 0,
    base_period: BasePeriod = "varying",
    bstrap: bool = False,
    biters: int = 999,
    cband: bool = False,
    alpha: float = 0.05,
    seed: int | None = None,
) -> AttGtResult:
    """att_gt (no covariates) from precomputed cohort moments, e.g. `cohort_moments_from_arrays`.

    The same estimator and inference as `att_gt`, without a table: for simulations and for
    moments aggregated elsewhere. Cohort label 0 = never treated.
    """
    check_option("control_group", control_group, ControlGroup)
    check_option("base_period", base_period, BasePeriod)
    alpha = check_alpha(alpha)
    if cband and not bstrap:
        raise OptionError("cband=True needs the multiplier bootstrap", fix="pass bstrap=True")
    seed = config.get().seed if seed is None else int(seed)
    labels = np.asarray(moments.cohorts, float)
    if control_group == "nevertreated" and not (labels == 0).any():
        raise DesignError("no never-treated cohort (label 0) in the moments")
    cells = plan_cells(
        moments.periods,
        labels,
        control_group=control_group,
        base_period=base_period,
        anticipation=float(anticipation),
    )
    att, M = gt_from_moments(moments, cells)
    cells, att, infl = _drop_inestimable(
        cells, att, AffineInfluence(M=M, moments=moments), base_period
    )
    treated = labels > 0
    return _finish(
        cells,
        att,
        infl,
        options={
            "control_group": control_group,
            "anticipation": float(anticipation),
            "base_period": base_period,
            "bstrap": bool(bstrap),
            "biters": int(biters),
            "cband": bool(cband),
        },
        data=None,
        periods=moments.periods,
        cohorts=labels[treated],
        cohort_sizes=moments.n_units[treated],
        n_never_treated=int(moments.n_units[~treated].sum()),
        balanced=moments.balanced,
        clustervars=("cluster",) if moments.cluster_first is not None else (),
        alpha=alpha,
        bstrap=bool(bstrap),
        biters=int(biters),
        cband=bool(cband),
        seed=seed,
        est_method="dr",
    )


def _drop_inestimable(
    cells: list[Cell], att: np.ndarray, infl: Influence, base_period: str
) -> tuple[list[Cell], np.ndarray, Influence]:
    """R omits varying-base cells it cannot estimate (universal-base ones are reported as NA)."""
    if base_period == "varying":
        keep = np.isfinite(att)
        cells = [c for c, k in zip(cells, keep, strict=True) if k]
        att = att[keep]
        infl = infl.combine(np.eye(len(keep))[keep])
    if len(cells) == 0:
        raise DesignError(
            "no group-time ATT can be estimated (no cell has both treated and comparison units)"
        )
    return cells, att, infl


def _finish(
    cells: list[Cell],
    att: np.ndarray,
    infl: Influence,
    *,
    options: dict,
    data,
    periods: np.ndarray,
    cohorts: np.ndarray,
    cohort_sizes: np.ndarray,
    n_never_treated: int,
    balanced: bool,
    clustervars: tuple[str, ...],
    alpha: float,
    bstrap: bool,
    biters: int,
    cband: bool,
    seed: int,
    est_method: str | None = None,
) -> AttGtResult:
    """Inference and the tidy table for estimated cells."""
    inf = infer(
        att,
        infl,
        cluster=bool(clustervars),
        alpha=alpha,
        bstrap=bstrap,
        biters=biters,
        cband=cband,
        seed=seed,
    )
    groups = np.array([c.group for c in cells])
    times = np.array([c.time for c in cells])
    post = np.array([c.post for c in cells])
    table = wald_table(
        [f"ATT({g:g},{t:g})" for g, t in zip(groups, times, strict=True)],
        att,
        inf.std_error,
        alpha=alpha,
        crit=inf.crit,
    )
    table["group"] = groups
    table["time"] = times
    table["event_time"] = times - groups
    table["post"] = post
    wald, wald_p, wald_df = _wald_pretest(att, inf.vcov, ~post)
    return AttGtResult(
        design="did.att_gt",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.att_gt",
            data=data,
            options=options,
            seed=seed if (bstrap or cband) else None,
        ),
        control_group=options["control_group"],
        est_method=est_method or options["est_method"],
        base_period=options["base_period"],
        anticipation=float(options["anticipation"]),
        xformla=options.get("xformla"),
        n_units=int(infl.n),
        periods=tuple(float(p) for p in periods),
        cohorts=tuple(float(g) for g in cohorts),
        cohort_sizes=tuple(int(s) for s in cohort_sizes),
        n_never_treated=int(n_never_treated),
        balanced=bool(balanced),
        clustervars=tuple(clustervars),
        bstrap=bstrap,
        biters=biters,
        cband=cband,
        seed=seed,
        critical_value=inf.crit,
        pretest_wald=wald,
        pretest_pvalue=wald_p,
        pretest_df=wald_df,
        vcov=inf.vcov,
        influence=infl,
    )
