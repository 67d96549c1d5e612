"""Public entry points of the difference-in-differences family.

Each function is thin orchestration: check the request (`request.py`) → gather what the math needs
from the engine (`stats.py`: cohort moments, or the few unit rows a regression needs) → the math
(`group_time.py`, `aggregate.py`, `drdid.py`, `fixed_effects.py`, `sunab.py`, `honest.py`,
`launch_log.py`) → a result from `results.py`.

Argument vocabulary shared by the family: ``cluster=`` names the cluster column (att_gt / aggte also
keep R `did`'s ``clustervars`` and ``biters``); ``control_group`` is one of "nevertreated",
"notyettreated", "lasttreated" (each function accepts the subset it supports); the fixed-effects
regressions take ``vcov="CR1"`` (default), "HC1" or "iid".
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import require_complete, require_unique
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.designs.did.aggregate import Aggregation, aggregate, weighted_mean
from attribution.designs.did.fixed_effects import (
    VCOV_NOTES,
    codes,
    dummy_means,
    fit_fe_ols,
    relative_time,
    wald_chi2,
)
from attribution.designs.did.group_time import (
    EMPTY_NOTE,
    SEPARATION_NOTE,
    Cell,
    cell_means_from_moments,
    cell_means_from_rows,
    drop_inestimable,
    gt_from_moments,
    gt_with_covariates,
    infer,
    plan_cells,
    separation_note,
    wald_pretest,
)
from attribution.designs.did.honest import honest_arrays, split_event_study
from attribution.designs.did.influence import AffineInfluence, Influence
from attribution.designs.did.launch_log import overlap_pairs, stack_cohorts
from attribution.designs.did.request import (
    MAX_EVENT_TIME,
    check_anticipation,
    check_biters,
    check_bool,
    check_control_group,
    check_event_result,
    check_event_time,
    check_fe_vcov,
    check_honest_options,
    check_launch_log,
    check_optional_seed,
    check_periods,
    check_ref,
    check_target_event_time,
    check_window,
    column_name,
    parse_xformla,
    require_2x2_cells,
    require_absorbing,
    require_binary,
    require_covariates,
    require_log_units_in_panel,
    require_never_treated_for_cs,
    require_on_grid,
    require_weights,
    resolve_clustervars,
    sun_abraham_control_group,
    user_columns,
    validate_did_panel,
    validate_fe_panel,
)
from attribution.designs.did.results import (
    AggteResult,
    AttGtResult,
    EventStudyResult,
    HonestResult,
    OverlapReport,
    TwfeResult,
    breakdown_check,
    pretrend_check,
)
from attribution.designs.did.stats import (
    COHORT,
    CohortMoments,
    cohort_moments,
    cohorts_from_log,
    count_distinct,
    pull,
    unit_rows,
)
from attribution.designs.did.sunab import interaction_design, iw_aggregate, last_treated_sample
from attribution.errors import (
    AttributionWarning,
    DesignError,
    DesignWarning,
    EstimationError,
    OptionError,
)
from attribution.inference import critical_value, uniform_critical_value, wald_table
from attribution.options import (
    AggType,
    BasePeriod,
    ControlGroup,
    EstMethod,
    FeVcov,
    HonestInference,
    HonestMethod,
    LaunchMethod,
    OnSeparation,
    SaControl,
    check_alpha,
    check_int,
    check_option,
    check_seed,
)
from attribution.results import Check, Estimate, Provenance

__all__ = [
    "aggte",
    "att_gt",
    "att_gt_from_moments",
    "did_2x2",
    "event_study",
    "honest_did",
    "launch_event_study",
    "pretrend_test",
    "rollout_overlap",
    "stacked_did",
    "sun_abraham",
    "twfe",
]

CS_CONTROL_GROUPS = ("nevertreated", "notyettreated")
SA_CONTROL_GROUPS = ("nevertreated", "lasttreated")
STACKED_CONTROL_GROUPS = ("notyettreated", "nevertreated")


# ------------------------------------------------------------------------------------------------
# tables and labels shared by the entry points
# ------------------------------------------------------------------------------------------------
def _tidy(
    terms: Sequence[str],
    estimate: np.ndarray,
    std_error: np.ndarray,
    *,
    alpha: float,
    keys: dict[str, Any],
    df: float | None = None,
    band: float | None = None,
    reference: np.ndarray | None = None,
) -> pd.DataFrame:
    """TIDY_COLUMNS (pointwise intervals), then the key columns, then the uniform band (if any).

    `reference` marks rows that are zero by construction (universal base period)."""
    table = wald_table(terms, estimate, std_error, alpha=alpha, df=df, reference=reference)
    for name, values in keys.items():
        table[name] = values
    if band is not None:
        se = np.asarray(std_error, float)
        se = np.where(table["std_error"].notna(), se, np.nan)  # no band on reference rows
        table["conf_low_uniform"] = table["estimate"] - band * se
        table["conf_high_uniform"] = table["estimate"] + band * se
    return table


def _att_label(yname: str | None, kind: str) -> str:
    outcome = yname or "the outcome"
    return {
        "simple": f"ATT on {outcome}, average over post-treatment (group, time) cells "
        "weighted by cohort size",
        "dynamic": f"ATT on {outcome}, average over post-treatment event times",
        "group": f"ATT on {outcome}, average of the cohort effects weighted by cohort size",
        "calendar": f"ATT on {outcome}, average over calendar periods",
    }[kind]


def _headline_label(options: dict, dropped: np.ndarray) -> str:
    """att_gt's headline label; says how many post-treatment cells it leaves out (NA cells)."""
    label = _att_label(options.get("yname"), "simple")
    k = int(np.sum(dropped))
    if k:
        label += (
            f", over the estimable cells only: {k} post-treatment ATT(g,t) "
            f"{'is' if k == 1 else 'are'} NA and left out (as aggte(na_rm=True))"
        )
    return label


def _overall(agg: Aggregation, *, alpha: float, label: str) -> Estimate:
    """The overall ATT of an aggregation with its pointwise (normal) interval."""
    row = wald_table(["ATT"], [agg.overall_estimate], [agg.overall_std_error], alpha=alpha)
    return Estimate.from_row(row.iloc[0], label=label)


def _pretrend(times: np.ndarray, est: np.ndarray, vcov: np.ndarray, alpha: float) -> Check:
    """The event-study pre-trend Check: joint Wald test of the pre-period coefficients."""
    times = np.asarray(times, float)
    est = np.asarray(est, float)
    vcov = np.asarray(vcov, float)
    pre = (times < 0) & (np.diag(vcov) > 0)
    if not pre.any():
        return Check(
            name="pre-trend test",
            passed=None,
            detail="not run: the event study has no pre-period coefficient to test",
        )
    what = f"pre-period coefficients (event times {', '.join(f'{e:g}' for e in times[pre])})"
    try:
        stat, dof, p = wald_chi2(est[pre], vcov[np.ix_(pre, pre)])
    except EstimationError:
        stat, dof, p = math.nan, int(pre.sum()), math.nan
    return pretrend_check(stat, dof, p, alpha=alpha, what=what)


# ------------------------------------------------------------------------------------------------
# Callaway & Sant'Anna: att_gt, aggte
# ------------------------------------------------------------------------------------------------
@user_columns(
    columns=("yname", "tname", "idname", "gname", "weightsname", "clustervars", "cluster"),
    outcome="yname",
    formula="xformla",
)
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
    cluster: str | Sequence[str] | None = None,
    bstrap: bool = False,
    biters: int = 999,
    cband: bool = False,
    alpha: float = 0.05,
    allow_unbalanced_panel: bool = False,
    on_separation: OnSeparation = "na",
    seed: int | None = None,
) -> AttGtResult:
    """Group-time ATTs of Callaway & Sant'Anna (2021) with R `did`'s arguments and semantics.

    `gname` holds each unit's first treated period (0 = never treated). Returns an AttGtResult:
    ``tidy()`` has one row per (group, time); ``aggte(result, type=...)`` aggregates it; the
    headline is the simple-weighted overall ATT. `cluster` is another name for R's `clustervars`
    (pass one). Differences from R: bad panels raise typed errors instead of being silently
    repaired (see `validate_did_panel`); ``cband=True`` needs ``bstrap=True`` and puts the uniform
    band in ``conf_*_uniform`` (``conf_low``/``conf_high`` stay pointwise); clustering is honoured
    by the analytic SEs too.

    With covariates, a cell whose propensity logit is separated (no overlap, e.g. a one-unit
    cohort outside the comparison units' covariate range) is reported as R `did` does with
    ``on_separation="na"`` (default): NA estimate and inference, a ``note`` on its row, one
    AttributionWarning naming the cohorts and periods; the headline averages the estimable cells
    (and says so) and ``aggte`` needs ``na_rm=True``. ``on_separation="raise"`` makes it an error.
    """
    control_group = check_control_group(control_group, CS_CONTROL_GROUPS)  # type: ignore[assignment]
    check_option("est_method", est_method, EstMethod)
    check_option("on_separation", on_separation, OnSeparation)
    check_option("base_period", base_period, BasePeriod)
    alpha = check_alpha(alpha)
    bstrap = check_bool("bstrap", bstrap)
    cband = check_bool("cband", cband)
    allow_unbalanced_panel = check_bool("allow_unbalanced_panel", allow_unbalanced_panel)
    biters = check_biters(biters)
    if cband and not bstrap:
        raise OptionError(
            "cband=True needs the multiplier bootstrap",
            fix="pass bstrap=True for a uniform band, or cband=False for pointwise intervals",
        )
    clustervars = resolve_clustervars(clustervars, cluster)
    seed = check_optional_seed(seed)
    anticipation = check_anticipation(anticipation)
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
    require_never_treated_for_cs(panel)
    require_covariates(panel, covariates)

    cells = plan_cells(
        panel.periods,
        np.concatenate([[0.0], panel.cohorts]),
        control_group=control_group,
        base_period=base_period,
        anticipation=panel.anticipation,
    )
    infl: Influence
    separated = None
    if covariates:
        frame = unit_rows(panel, covariates)
        att, infl, separated = gt_with_covariates(
            frame,
            cells,
            covariates,
            est_method,
            periods=panel.periods,
            balanced=panel.balanced,
            on_separation=on_separation,
        )
    else:
        mom = cohort_moments(panel)
        att, M = gt_from_moments(mom, cells)
        infl = AffineInfluence(M=M, moments=mom)
    if separated is not None and separated.any():
        warnings.warn(
            separation_note(cells, separated, covariates), AttributionWarning, stacklevel=2
        )
    cells, att, infl, separated = drop_inestimable(cells, att, infl, base_period, separated)
    cell_means = (
        cell_means_from_rows(frame, cells, panel.periods)
        if covariates
        else cell_means_from_moments(mom, cells)
    )
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
        "on_separation": on_separation,
    }
    return _att_gt_result(
        cells,
        att,
        infl,
        separated=separated,
        cell_means=cell_means,
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
    control_group = check_control_group(control_group, CS_CONTROL_GROUPS)  # type: ignore[assignment]
    check_option("base_period", base_period, BasePeriod)
    alpha = check_alpha(alpha)
    bstrap, cband = check_bool("bstrap", bstrap), check_bool("cband", cband)
    biters = check_biters(biters)
    anticipation = check_anticipation(anticipation)
    if cband and not bstrap:
        raise OptionError("cband=True needs the multiplier bootstrap", fix="pass bstrap=True")
    seed = check_optional_seed(seed)
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
    cells, att, infl, _ = drop_inestimable(
        cells, att, AffineInfluence(M=M, moments=moments), base_period
    )
    treated = labels > 0
    return _att_gt_result(
        cells,
        att,
        infl,
        cell_means=cell_means_from_moments(moments, cells),
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


def _att_gt_result(
    cells: list[Cell],
    att: np.ndarray,
    infl: Influence,
    *,
    options: dict,
    data: Any,
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
    separated: np.ndarray | None = None,
    cell_means: np.ndarray | None = None,
) -> AttGtResult:
    """Inference, the tidy table, the headline and the pre-test for estimated cells.

    NA cells carry a ``note`` saying why (`separated` marks propensity separation; the others had
    no treated or comparison observations); the headline says when it leaves cells out."""
    clustered = bool(clustervars)
    inf = infer(
        att,
        infl,
        cluster=clustered,
        alpha=alpha,
        bstrap=bstrap,
        biters=biters,
        cband=cband,
        seed=seed,
    )
    groups = np.array([c.group for c in cells])
    times = np.array([c.time for c in cells])
    post = np.array([c.post for c in cells])
    table = _tidy(
        [f"ATT(g={g:g},t={t:g})" for g, t in zip(groups, times, strict=True)],
        att,
        inf.std_error,
        alpha=alpha,
        keys={"group": groups, "time": times, "event_time": times - groups},
        band=inf.crit if cband else None,
        reference=np.array([c.reference for c in cells], bool),
    )
    table["post"] = post
    missing = ~np.isfinite(att)
    if missing.any():
        sep = np.zeros(len(att), bool) if separated is None else np.asarray(separated, bool)
        note = np.where(sep, SEPARATION_NOTE, EMPTY_NOTE)
        old = table["note"] if "note" in table.columns else pd.Series([None] * len(table))
        table["note"] = np.where(missing, note, old.to_numpy(object))
    wald, wald_p, wald_df = wald_pretest(att, inf.vcov, ~post)
    try:  # the headline: what aggte(type="simple") reports, over the estimable cells
        simple = aggregate(
            groups,
            times,
            att,
            infl,
            type="simple",
            na_rm=True,
            clustered=clustered,
            alpha=alpha,
            bstrap=bstrap,
            biters=biters,
            cband=False,
            seed=seed,
        )
    except DesignError as err:
        raise DesignError(
            "no post-treatment ATT(g,t) can be estimated, so there is no overall ATT",
            fix="check the cohorts and periods: every treated cohort needs periods from its "
            "adoption on and a comparison group there",
        ) from err
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
        checks=(
            pretrend_check(
                wald, wald_df, wald_p, alpha=alpha, what="pre-treatment ATT(g,t) (R `did` pre-test)"
            ),
        ),
        overall=_overall(simple, alpha=alpha, label=_headline_label(options, missing & post)),
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
        cell_means=cell_means,
        treated_mean=_treated_mean(simple.overall_weights, cell_means),
    )


def _treated_mean(weights: np.ndarray, cell_means: np.ndarray | None) -> float | None:
    """The treated cells' mean observed outcome under an aggregation's weights (None if unknown)."""
    if cell_means is None:
        return None
    m = weighted_mean(weights, cell_means)
    return m if math.isfinite(m) else None


def aggte(
    result: AttGtResult,
    *,
    type: AggType = "simple",
    min_e: float = -math.inf,
    max_e: float = math.inf,
    balance_e: int | None = None,
    na_rm: bool = False,
    bstrap: bool | None = None,
    biters: int | None = None,
    cband: bool | None = None,
    alpha: float | None = None,
    seed: int | None = None,
) -> AggteResult:
    """Aggregate ATT(g,t) like R `did`'s aggte; options left None are taken from `result`.

    - "simple": average of post-treatment ATT(g,t) weighted by cohort size;
    - "dynamic": event study by e = t - g (min_e, max_e, balance_e); overall = mean over e >= 0;
    - "group": average post-treatment effect per cohort; overall weights cohorts by size;
    - "calendar": average effect per period among treated cohorts; overall = mean over periods.

    The headline is the overall ATT (``result.overall``, also ``overall_att`` / ``overall_se``);
    with ``cband=True`` the rows' uniform band is in ``conf_*_uniform``.
    """
    if not isinstance(result, AttGtResult):
        raise OptionError(
            f"aggte needs the result of att_gt, got {builtins.type(result).__name__}",
            fix="call aggte(att_gt(...), type=...)",
        )
    check_option("type", type, AggType)
    min_e = check_event_time("min_e", min_e)
    max_e = check_event_time("max_e", max_e)
    if min_e > max_e:
        raise OptionError(f"min_e={min_e:g} is larger than max_e={max_e:g}")
    if balance_e is not None:
        balance_e = check_int("balance_e", balance_e, minimum=0, maximum=MAX_EVENT_TIME)
    na_rm = check_bool("na_rm", na_rm)
    bstrap = check_bool("bstrap", result.bstrap if bstrap is None else bstrap)
    cband = check_bool("cband", result.cband if cband is None else cband)
    biters = check_biters(result.biters if biters is None else biters)
    alpha = result.alpha if alpha is None else check_alpha(alpha)
    seed = result.seed if seed is None else check_seed(seed)
    if cband and not bstrap:
        raise OptionError(
            "cband=True needs the multiplier bootstrap",
            fix="pass bstrap=True for a uniform band, or cband=False for pointwise intervals",
        )

    tab = result.table
    agg = aggregate(
        tab["group"].to_numpy(float),
        tab["time"].to_numpy(float),
        tab["estimate"].to_numpy(float),
        result.influence,
        type=type,
        min_e=min_e,
        max_e=max_e,
        balance_e=balance_e,
        na_rm=na_rm,
        clustered=bool(result.clustervars),
        alpha=alpha,
        bstrap=bstrap,
        biters=biters,
        cband=cband,
        seed=seed,
    )
    if type == "simple":
        table = wald_table(["ATT"], agg.estimate, agg.std_error, alpha=alpha)
    else:
        key, short = {"dynamic": ("event_time", "e"), "group": ("group", "g")}.get(
            type, ("time", "t")
        )
        keys = np.asarray(agg.keys, float)
        universal_ref = type == "dynamic" and result.base_period == "universal"
        table = _tidy(
            [f"ATT({short}={k:g})" for k in agg.keys],
            agg.estimate,
            agg.std_error,
            alpha=alpha,
            keys={key: agg.keys},
            band=agg.crit if cband else None,
            reference=(keys == -1 - result.anticipation) if universal_ref else None,
        )
    options = {
        "type": type,
        "min_e": min_e,
        "max_e": max_e,
        "balance_e": balance_e,
        "na_rm": na_rm,
        "bstrap": bstrap,
        "biters": biters,
        "cband": cband,
        **{f"att_gt.{k}": v for k, v in result.provenance.options.items()},
    }
    yname = result.provenance.options.get("yname")
    label = _att_label(yname, type)
    n_na = int(np.sum(~np.isfinite(tab["estimate"].to_numpy(float))))
    if n_na:
        label += f", over the estimable cells only ({n_na} NA ATT(g,t) left out by na_rm=True)"
    return AggteResult(
        design=f"did.aggte.{type}",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design=f"did.aggte.{type}",
            data=result.provenance.data,
            options=options,
            seed=seed if (bstrap or cband) else None,
        ),
        checks=result.checks,
        type=type,
        overall=_overall(agg, alpha=alpha, label=label),
        min_e=min_e,
        max_e=max_e,
        balance_e=None if balance_e is None else int(balance_e),
        na_rm=na_rm,
        bstrap=bstrap,
        biters=biters,
        cband=cband,
        seed=seed,
        critical_value=float(agg.crit),
        n_units=result.n_units,
        vcov=agg.vcov,
        influence=agg.influence,
        treated_mean=_treated_mean(agg.overall_weights, result.cell_means),
        treated_means=None
        if result.cell_means is None
        else np.array([weighted_mean(a, result.cell_means) for a in agg.weights]),
    )


# ------------------------------------------------------------------------------------------------
# fixed-effects regressions: twfe, did_2x2, event_study, sun_abraham
# ------------------------------------------------------------------------------------------------
@user_columns(
    columns=("yname", "tname", "idname", "treatment", "cluster", "covariates", "weights"),
    outcome="yname",
)
def twfe(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    treatment: str,
    cluster: str | None = None,
    covariates: Sequence[str] | None = None,
    vcov: FeVcov = "CR1",
    weights: str | None = None,
    alpha: float = 0.05,
) -> TwfeResult:
    """Static two-way fixed-effects DiD ``y ~ treatment (+ covariates) | idname + tname``.

    The treatment column must be 0/1 and absorbing (once 1, a unit stays 1); panels may be
    unbalanced. Standard errors: CR1 clustered on `cluster` (default `idname`) with fixest's
    small-sample convention, or ``vcov="HC1"`` / ``"iid"`` (`fixed_effects` module docstring);
    match ``pyfixest.feols(..., vcov={"CRV1": ...} | "hetero" | "iid")``. `weights` names a
    column of positive regression weights (weighted least squares, pyfixest's
    ``feols(..., weights=...)``; they may vary by row).
    """
    wcol = None if weights is None else column_name(weights, "weights")
    req = validate_fe_panel(
        data,
        design="twfe",
        yname=yname,
        idname=idname,
        tname=tname,
        cluster=cluster,
        covariates=covariates,
        vcov=vcov,
        binary={"treatment": treatment},
    )
    alpha = check_alpha(alpha)
    assert req.shape is not None
    df, w = _pull_weighted(req, wcol, what="twfe", show=[idname, tname])
    require_binary(
        df,
        treatment,
        show=[idname, tname],
        what="treatment column",
        fix="code the treatment as 1 for treated unit-periods and 0 otherwise "
        "(for a continuous exposure use the DML design)",
    )
    require_absorbing(df, idname=idname, tname=tname, treatment=treatment)
    d = df[treatment].astype(float)
    if d.nunique() < 2:
        raise DesignError(
            f"treatment {treatment!r} never varies (all {int(d.iloc[0])})",
            columns=[treatment],
            fix="the panel needs both treated and untreated unit-periods",
        )
    covs = list(req.covariates)
    return _coefficient_result(
        df,
        req,
        treated=d.to_numpy() == 1.0,
        design="did.twfe",
        yname=yname,
        x=df[[treatment, *covs]].to_numpy(float),
        fe=[codes(df[idname]), codes(df[tname])],
        terms=[treatment, *covs],
        weights=w,
        alpha=alpha,
        n_rows=req.shape.n_rows,
        options={
            "yname": yname,
            "tname": tname,
            "idname": idname,
            "treatment": treatment,
            "cluster": req.cluster,
            "covariates": covs,
            "vcov": req.vcov,
            "weights": wcol,
            "alpha": alpha,
        },
        label=f"effect of {treatment} on {yname} (two-way fixed effects"
        + (f", weighted by {wcol})" if wcol else ")"),
        n_units=req.shape.n_units,
        n_periods=len(req.shape.periods),
    )


@user_columns(
    columns=("yname", "group", "post", "idname", "cluster", "covariates", "weights"),
    outcome="yname",
)
def did_2x2(
    data: Data,
    *,
    yname: str,
    group: str,
    post: str,
    idname: str | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] | None = None,
    vcov: FeVcov = "CR1",
    weights: str | None = None,
    alpha: float = 0.05,
) -> TwfeResult:
    """The canonical 2×2 DiD: ``y ~ group:post (+ covariates) | FE``.

    With `idname` (a panel) the fixed effects are unit + post, so `group` is absorbed; without it
    (repeated cross-sections) they are group + post. The term in `tidy()` is ``"{group}:{post}"``.
    `group` must be constant within a unit; both are 0/1. CR1 clustered on `cluster` (default
    `idname`; required for cross-sections, since errors are rarely independent there), or
    ``vcov="HC1"`` / ``"iid"``. `weights` names a column of positive regression weights
    (weighted least squares, as pyfixest's ``feols(..., weights=...)``).
    """
    wcol = None if weights is None else column_name(weights, "weights")
    req = validate_fe_panel(
        data,
        design="did_2x2",
        yname=yname,
        idname=idname,
        cluster=cluster,
        covariates=covariates,
        vcov=vcov,
        binary={"group": group, "post": post},
    )
    alpha = check_alpha(alpha)
    show = [c for c in (idname, group, post) if c is not None]
    df, w = _pull_weighted(req, wcol, what="did_2x2", show=show)
    for c in (group, post):
        require_binary(df, c, show=[c])
    require_2x2_cells(df, group=group, post=post, idname=idname)
    fe = [codes(df[idname]) if idname is not None else codes(df[group]), codes(df[post])]
    term = f"{group}:{post}"
    covs = list(req.covariates)
    x = np.column_stack([df[group].to_numpy(float) * df[post].to_numpy(float), df[covs]])
    return _coefficient_result(
        df,
        req,
        treated=x[:, 0] == 1.0,
        design="did.2x2",
        yname=yname,
        x=x,
        fe=fe,
        terms=[term, *covs],
        weights=w,
        alpha=alpha,
        n_rows=len(df),
        options={
            "yname": yname,
            "group": group,
            "post": post,
            "idname": idname,
            "cluster": req.cluster,
            "covariates": covs,
            "vcov": req.vcov,
            "weights": wcol,
            "alpha": alpha,
        },
        label=f"effect of {group} × {post} on {yname} (2×2 DiD"
        + (f", weighted by {wcol})" if wcol else ")"),
        n_units=int(df[idname].nunique()) if idname else len(df),
        n_periods=2,
    )


def _pull_weighted(
    req: Any, wcol: str | None, *, what: str, show: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The regression's rows, with the weights checked as a column before the pull and in every
    pulled row after it (None without weights)."""
    if wcol is not None:
        require_weights(req.table, None, wcol, show=[], role=what)
    df = pull(req.table, [*req.columns, *([wcol] if wcol else [])], what=what)
    w = None if wcol is None else require_weights(None, df, wcol, show=show, role=what)
    return df, w


def _coefficient_result(
    df: pd.DataFrame,
    req: Any,
    *,
    treated: np.ndarray,
    design: str,
    yname: str,
    x: np.ndarray,
    fe: list[np.ndarray],
    terms: list[str],
    weights: np.ndarray | None,
    alpha: float,
    n_rows: int,
    options: dict[str, Any],
    label: str,
    n_units: int,
    n_periods: int,
) -> TwfeResult:
    """Fit ``y ~ x | fe`` and wrap the coefficients as a TwfeResult (twfe and the 2×2 DiD).

    `treated` marks the treated rows (treatment 1; group × post 1): their (regression-weighted)
    mean outcome is the result's `treated_mean`, from which `baseline` subtracts the coefficient."""
    y = df[yname].to_numpy(float)
    fit = fit_fe_ols(
        df[yname].to_numpy(float),
        x,
        fe,
        None if req.cluster is None else df[req.cluster].to_numpy(),
        names=terms,
        vcov=req.vcov,
        weights=weights,
    )
    se = np.sqrt(np.diag(fit.vcov))
    table = wald_table(terms, fit.coef, se, alpha=alpha, df=fit.df_t)
    return TwfeResult(
        design=design,
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design=design,
            data=fingerprint(req.table, n_rows=n_rows),
            options=options,
        ),
        headline_label=label,
        n_obs=fit.n_obs,
        n_units=n_units,
        n_periods=n_periods,
        n_clusters=fit.n_clusters,
        vcov_type=VCOV_NOTES[req.vcov],
        vcov=fit.vcov,
        treated_mean=float(dummy_means(y, treated[:, None].astype(float), weights)[0]),
    )


def _event_result(
    *,
    design: str,
    event_times: np.ndarray,
    coef: np.ndarray,
    vcov: np.ndarray,
    alpha: float,
    dof: int | None,
    provenance: Provenance,
    label: str,
    ref: int,
    n_obs: int,
    n_units: int,
    n_clusters: int | None,
    estimator: str,
    vcov_type: str,
    extra: pd.DataFrame | None = None,
    treated_means: np.ndarray | None = None,
) -> EventStudyResult:
    """The event-study table (pointwise intervals + sup-t band), its pre-trend check, the result.

    `treated_means` (one per event time): the treated rows' mean outcome at that event time,
    weighted within it as its coefficient weights its cells; the result's `baseline` averages the
    post-period ones as the headline averages the coefficients."""
    event_times = np.asarray(event_times, dtype=np.int64)
    if not (event_times >= 0).any():
        raise DesignError(
            f"the event study has no post-period coefficient (event times {event_times.tolist()})",
            fix="include event times >= 0 (widen the window)",
        )
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    ucrit = uniform_critical_value(vcov, alpha, seed=config.get().seed)
    if dof is not None and np.isfinite(ucrit):
        # scale the normal sup-t value by the t/normal ratio so small-G bands are not too narrow
        ucrit *= critical_value(alpha, dof) / critical_value(alpha)
    table = _tidy(
        [f"ATT(e={int(e)})" for e in event_times],
        coef,
        se,
        alpha=alpha,
        df=dof,
        keys={"event_time": event_times},
        band=ucrit,
    )
    return EventStudyResult(
        design=design,
        table=table,
        alpha=alpha,
        provenance=provenance,
        checks=(_pretrend(event_times, coef, vcov, alpha),),
        headline_label=label,
        ref=int(ref),
        n_obs=int(n_obs),
        n_units=int(n_units),
        n_clusters=n_clusters,
        uniform_crit=float(ucrit),
        estimator=estimator,
        vcov_type=vcov_type,
        dof=dof,
        vcov=vcov,
        extra=extra,
        treated_means=None if treated_means is None else np.asarray(treated_means, float),
    )


@user_columns(columns=("yname", "tname", "idname", "gname", "cluster", "weights"), outcome="yname")
def event_study(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    ref: int = -1,
    window: tuple[int, int] | None = None,
    cluster: str | None = None,
    vcov: FeVcov = "CR1",
    weights: str | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """TWFE dynamic event study ``y ~ Σ_{e≠ref} 1[t-g=e] | idname + tname``.

    `gname` is the first treated period (0 = never treated, R `did`'s convention); never-treated
    units have every event-time dummy 0. With `window=(lo, hi)`, treated-unit rows whose event time
    lies outside [lo, hi] are dropped (not binned) and reported in `n_obs`. Matches pyfixest
    ``feols("y ~ i(rel_time, ref=ref) | id + t", vcov={"CRV1": cluster})``. Under staggered
    adoption with heterogeneous effects these coefficients mix cohorts with non-convex weights
    (Sun & Abraham 2021) — see :func:`sun_abraham`. `weights` names a column of positive
    regression weights (weighted least squares, pyfixest's ``feols(..., weights=...)``; they may
    vary by row).
    """
    wcol = None if weights is None else column_name(weights, "weights")
    ref = check_ref(ref)
    win = check_window(window, ref=ref)
    alpha = check_alpha(alpha)
    vcov, cl = check_fe_vcov(vcov, cluster, default=idname)
    panel = validate_did_panel(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        clustervars=cl,
        allow_unbalanced_panel=True,
    )
    t = panel.table
    if wcol is not None:
        require_weights(t, None, wcol, show=[], role="event_study")
    # the renamed table's cohort column becomes the effective cohort (0 = never treated within
    # the sample); no user column can meet it (`user_columns`)
    df = pull(
        t.mutate(**{gname: panel.cohort()}),
        [yname, tname, idname, *([cl] if cl else []), *([wcol] if wcol else []), gname],
        what="event_study",
    )
    if wcol is not None:  # every row, also those the window drops
        require_weights(None, df, wcol, show=[idname, tname], role="event_study")
    frame, rel = relative_time(df, tname=tname, cohort=gname, window=win)
    w = None if wcol is None else frame[wcol].to_numpy(float)
    seen = set(rel[np.isfinite(rel)].astype(int))
    times = np.array(sorted(seen - {ref}), dtype=np.int64)
    require_on_grid(
        ref,
        sorted(seen),
        what="the reference event time (among those observed for treated units)",
        name="ref",
        columns=[tname, gname],
        fix="choose a ref among the observed event times, or widen the window",
        error=DesignError,
    )
    if len(times) == 0:
        raise DesignError("no event time besides the reference is observed", columns=[gname])
    x = (rel[:, None] == times[None, :]).astype(float)
    treated_means = dummy_means(frame[yname].to_numpy(float), x, w)
    fit = fit_fe_ols(
        frame[yname].to_numpy(float),
        x,
        [codes(frame[idname]), codes(frame[tname])],
        None if cl is None else frame[cl].to_numpy(),
        names=[f"e={e}" for e in times],
        vcov=vcov,
        weights=w,
    )
    return _event_result(
        design="did.event_study",
        event_times=times,
        coef=fit.coef,
        vcov=fit.vcov,
        alpha=alpha,
        dof=fit.df_t,
        provenance=Provenance(
            design="did.event_study",
            data=fingerprint(t, n_rows=panel.n_rows),
            options={
                "yname": yname,
                "tname": tname,
                "idname": idname,
                "gname": gname,
                "ref": ref,
                "window": list(win) if win else None,
                "cluster": cl,
                "vcov": vcov,
                "weights": wcol,
                "alpha": alpha,
            },
            seed=config.get().seed,
        ),
        label=f"effect of adoption ({gname}) on {yname}, average over post-treatment periods",
        ref=ref,
        n_obs=fit.n_obs,
        n_units=int(frame[idname].nunique()),
        n_clusters=fit.n_clusters,
        estimator="twfe",
        vcov_type=VCOV_NOTES[vcov],
        treated_means=treated_means,
    )


@user_columns(columns=("yname", "tname", "idname", "gname", "cluster", "weights"), outcome="yname")
def sun_abraham(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    ref: int = -1,
    control_group: ControlGroup = "nevertreated",
    control: SaControl | None = None,
    cluster: str | None = None,
    vcov: FeVcov = "CR1",
    weights: str | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """Sun & Abraham interaction-weighted event study (`sunab` module docstring for the method).

    `gname` is the first treated period, 0 for never treated. ``control_group="nevertreated"``
    needs never-treated units; ``"lasttreated"`` uses the last-treated cohort as the control and
    drops every row from its adoption period on. ``control="never"|"last"`` is the deprecated
    spelling. The cohort-specific coefficients are in ``result.cohort_effects`` (columns group,
    event_time, n_obs, estimate, std_error, weight).

    `weights` names a column of positive regression weights: the saturated regression is weighted
    least squares (pyfixest's ``feols(..., weights=...)``) and each event time's IW aggregate
    weights the cohorts by their summed regression weights at that event time (column ``w_sum`` of
    ``cohort_effects``), not by row counts: the weighted coefficients describe the weighted
    population, so the cohort mix they are averaged over is that population's mix too (see the
    `sunab` module docstring).
    """
    wcol = None if weights is None else column_name(weights, "weights")
    ref = check_ref(ref)
    control_group = sun_abraham_control_group(control, control_group)  # type: ignore[assignment]
    alpha = check_alpha(alpha)
    vcov, cl = check_fe_vcov(vcov, cluster, default=idname)
    panel = validate_did_panel(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        clustervars=cl,
        allow_unbalanced_panel=True,
        require_never_treated=control_group == "nevertreated",
        alternative_control="lasttreated",
    )
    t = panel.table
    if wcol is not None:
        require_weights(t, None, wcol, show=[], role="sun_abraham")
    df = pull(  # the cohort column as the effective cohort, as in event_study
        t.mutate(**{gname: panel.cohort()}),
        [yname, tname, idname, *([cl] if cl else []), *([wcol] if wcol else []), gname],
        what="sun_abraham",
    )
    if wcol is not None:  # every row, also those the last-treated sample drops
        require_weights(None, df, wcol, show=[idname, tname], role="sun_abraham")
    if control_group == "lasttreated":
        df = last_treated_sample(df, cohorts=panel.cohorts, tname=tname, gname=gname)
    w = None if wcol is None else df[wcol].to_numpy(float)
    g = df[gname].to_numpy(float)
    rel = np.where(g > 0, np.round(df[tname].to_numpy(float) - g), np.nan)
    cells, x, names = interaction_design(g, rel, ref=ref, tname=tname, gname=gname, weights=w)
    fit = fit_fe_ols(
        df[yname].to_numpy(float),
        x,
        [codes(df[idname]), codes(df[tname])],
        None if cl is None else df[cl].to_numpy(),
        names=names,
        vcov=vcov,
        weights=w,
    )
    cell_means = dummy_means(df[yname].to_numpy(float), x, w)
    es, nu, v_nu, share = iw_aggregate(
        cells["group"].to_numpy(),
        cells["event_time"].to_numpy(),
        fit.coef,
        fit.vcov,
        cells["n_obs" if w is None else "w_sum"].to_numpy(),
    )
    cohort_effects = cells.assign(
        group=cells["group"].astype(np.int64),
        event_time=cells["event_time"].astype(np.int64),
        estimate=fit.coef,
        std_error=np.sqrt(np.diag(fit.vcov)),
        weight=share.sum(axis=0),
    )
    return _event_result(
        design="did.sun_abraham",
        event_times=es,
        coef=nu,
        vcov=v_nu,
        alpha=alpha,
        dof=fit.df_t,
        provenance=Provenance(
            design="did.sun_abraham",
            data=fingerprint(t, n_rows=panel.n_rows),
            options={
                "yname": yname,
                "tname": tname,
                "idname": idname,
                "gname": gname,
                "ref": ref,
                "control_group": control_group,
                "cluster": cl,
                "vcov": vcov,
                "weights": wcol,
                "alpha": alpha,
            },
            seed=config.get().seed,
        ),
        label=f"effect of adoption ({gname}) on {yname}, average over post-treatment periods "
        "(Sun & Abraham)",
        ref=ref,
        n_obs=fit.n_obs,
        n_units=int(df[idname].nunique()),
        n_clusters=fit.n_clusters,
        estimator="sun_abraham",
        vcov_type=VCOV_NOTES[vcov],
        extra=cohort_effects,
        treated_means=share @ cell_means,  # the IW shares of the coefficients, per event time
    )


# ------------------------------------------------------------------------------------------------
# diagnostics on event studies: pretrend_test, honest_did
# ------------------------------------------------------------------------------------------------
def pretrend_test(result: Any) -> Check:
    """Joint Wald (chi-square) test that all pre-period event-study coefficients are zero.

    Works for any result with the ``event_study() -> (event_times, estimates, vcov)`` protocol
    (EventStudyResult, Callaway–Sant'Anna dynamic aggregation). Pre-periods are event times below
    -1 for results that include the reference -1 with zero variance, otherwise every event time < 0.
    Returns a `Check` (statistic = chi², df, p_value; ``passed`` when p >= the result's alpha, i.e.
    no evidence against parallel pre-trends); event-study results carry it in ``checks`` already.
    """
    check_event_result(result, "pretrend_test")
    times, est, vcov = result.event_study()
    times = np.asarray(times, dtype=float)
    est = np.asarray(est, dtype=float)
    vcov = np.asarray(vcov, dtype=float)
    pre = (times < 0) & (np.diag(vcov) > 0)
    if not pre.any():
        raise DesignError(
            "the event study has no pre-period coefficient to test",
            fix="estimate leads (event times < 0 other than the reference)",
        )
    stat, dof, p = wald_chi2(est[pre], vcov[np.ix_(pre, pre)])
    alpha = float(getattr(result, "alpha", config.get().alpha))
    return pretrend_check(
        stat,
        dof,
        p,
        alpha=alpha,
        what=f"pre-period coefficients (event times {', '.join(f'{e:g}' for e in times[pre])})",
    )


def honest_did(
    result: Any,
    *,
    method: HonestMethod = "smoothness",
    M: float | Sequence[float] | None = None,
    Mbar: float | Sequence[float] | None = None,
    e: int = 0,
    alpha: float = 0.05,
    inference: HonestInference | None = None,
) -> HonestResult:
    """Rambachan–Roth sensitivity of the event-time-`e` effect to violations of parallel trends.

    `result` is anything with ``event_study() -> (event_times, estimates, vcov)``. Smoothness uses
    the optimal FLCI for each M in `M` (default: 10 values from 0 to the largest pre-period second
    difference plus two standard errors of β_e); relative magnitudes inverts the ARP conditional
    least-favourable hybrid test for each M̄ in `Mbar` (default 0, 0.5, …, 2) — `honest` module
    docstring. Headline: θ with its conventional interval; the breakdown value is a check.
    """
    method = check_honest_options(method, M, Mbar)  # type: ignore[assignment]
    alpha = check_alpha(alpha)
    check_event_result(result, "honest_did")
    parts = split_event_study(*result.event_study())
    e = check_target_event_time(e, parts.post_times)
    sens = honest_arrays(
        parts.beta,
        parts.sigma,
        parts.n_pre,
        method=method,
        M=M,
        Mbar=Mbar,
        l_vec=(parts.post_times == e).astype(float),
        alpha=alpha,
        inference=inference,
    )
    table, breakdown, grid = sens.table, sens.breakdown, sens.grid
    n_units = getattr(result, "sample_size", None)
    return HonestResult(
        design="did.honest_did",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.honest_did",
            data=getattr(getattr(result, "provenance", None), "data", None),
            options={
                "method": method,
                "grid": grid.tolist(),
                "e": e,
                "inference": sens.inference,
                "alpha": alpha,
                "source": getattr(result, "design", builtins.type(result).__name__),
            },
            seed=config.get().seed,
        ),
        checks=(breakdown_check(breakdown, method=method, e=e),),
        method=method,
        e=e,
        breakdown=breakdown,
        n_units=n_units if isinstance(n_units, int) else None,
        treated_mean=_event_treated_mean(result, e),
    )


def _event_treated_mean(result: Any, e: int) -> float | None:
    """The treated mean outcome a result reports at event time `e` (its `treated_means` row)."""
    means = getattr(result, "treated_means", None)
    table = getattr(result, "table", None)
    if means is None or not isinstance(table, pd.DataFrame) or "event_time" not in table.columns:
        return None
    at_e = np.asarray(means, float)[(table["event_time"] == e).to_numpy()]
    return float(at_e[0]) if len(at_e) == 1 and math.isfinite(at_e[0]) else None


# ------------------------------------------------------------------------------------------------
# per-component rollouts from a launch log: launch_event_study, rollout_overlap, stacked_did
# ------------------------------------------------------------------------------------------------
@user_columns(
    columns=("yname", "unit", "time", "cluster"),
    outcome="yname",
    tables=2,
    log=1,
    log_unit="unit",
    names={COHORT: "start_period"},
)
def launch_event_study(
    panel: Data,
    launch_log: Data,
    *,
    component: str,
    yname: str,
    unit: str,
    time: str,
    control_group: ControlGroup = "nevertreated",
    cluster: str | None = None,
    method: LaunchMethod = "cs",
    alpha: float = 0.05,
) -> EventStudyResult:
    """Event study of one component's launches: cohort = its start period on each unit.

    `unit` names the unit column of both tables (the launch log's is ``unit`` by its contract),
    `time` the panel's period column. ``method="cs"`` (default): Callaway & Sant'Anna ``att_gt``
    (universal base period; control_group "nevertreated" — the units the component never reached —
    or "notyettreated") aggregated with ``aggte(type="dynamic")``; intervals from the influence
    function (normal). ``method="sun_abraham"``: the Sun & Abraham IW estimator (control_group
    "nevertreated" or "lasttreated"), CR1 clustered. Other components' launches are ignored here;
    check them with :func:`rollout_overlap` or use :func:`stacked_did`.
    """
    component = column_name(component, "component")
    check_option("method", method, LaunchMethod)
    control_group = check_control_group(  # type: ignore[assignment]
        control_group, CS_CONTROL_GROUPS if method == "cs" else SA_CONTROL_GROUPS
    )
    alpha = check_alpha(alpha)
    yname, unit, time = (
        column_name(yname, "yname"),
        column_name(unit, "unit"),
        column_name(time, "time"),
    )
    p, log = as_table(panel), as_table(launch_log)
    require_columns(p, {unit: "key", time: "integer", yname: "numeric"}, role="panel")
    check_launch_log(log, unit=unit, component=component)
    require_log_units_in_panel(p, log, component=component, unit=unit)
    t = cohorts_from_log(p, log, component=component, unit=unit)
    if method == "sun_abraham":
        res = sun_abraham.__wrapped__(  # type: ignore[attr-defined]
            t,
            yname=yname,
            tname=time,
            idname=unit,
            gname=COHORT,
            control_group=control_group,
            cluster=cluster,
            alpha=alpha,
        )
    else:
        res = _cs_event_study(
            t,
            yname=yname,
            tname=time,
            idname=unit,
            control_group=control_group,
            cluster=cluster,
            alpha=alpha,
        )
    design = f"did.launch_event_study[{component}]"
    options = dict(res.provenance.options) | {"component": component, "method": method}
    return dataclasses.replace(
        res,
        design=design,
        provenance=dataclasses.replace(res.provenance, design=design, options=options),
        headline_label=f"effect of {component} on {yname}, average over post-launch periods",
    )


def _cs_event_study(
    t: ir.Table,
    *,
    yname: str,
    tname: str,
    idname: str,
    control_group: str,
    cluster: str | None,
    alpha: float,
) -> EventStudyResult:
    """att_gt (universal base) → aggte(dynamic) as an EventStudyResult without the reference."""
    gt = att_gt.__wrapped__(  # type: ignore[attr-defined]
        t,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=COHORT,
        control_group=control_group,  # type: ignore[arg-type]
        base_period="universal",
        cluster=cluster,
        alpha=alpha,
    )
    agg = aggte(gt, type="dynamic")
    times, est, vcov = agg.event_study()
    times = np.asarray(times, dtype=np.int64)
    est, vcov = np.asarray(est, float), np.asarray(vcov, float)
    keep = np.diag(vcov) > 0  # the universal base period is reported as 0 with variance 0
    ref = int(times[~keep][0]) if (~keep).any() else -1
    means = agg.treated_means
    return _event_result(
        design="did.cs_dynamic",
        event_times=times[keep],
        coef=est[keep],
        vcov=vcov[np.ix_(keep, keep)],
        alpha=alpha,
        dof=None,
        provenance=agg.provenance,
        label=f"effect on {yname}, average over post-treatment event times",
        ref=ref,
        n_obs=int(gt.provenance.data.n_rows) if gt.provenance.data else 0,
        n_units=int(gt.n_units),
        n_clusters=int(gt.n_units)
        if cluster is None or cluster == idname
        else count_distinct(t, cluster),
        estimator="callaway_santanna",
        vcov_type="influence-function (Callaway & Sant'Anna 2021), normal intervals",
        treated_means=None if means is None else np.asarray(means, float)[keep],
    )


@user_columns(columns=("unit",), log=0, log_unit="unit")
def rollout_overlap(launch_log: Data, *, window: int, unit: str = "unit") -> OverlapReport:
    """Flag launches of different components on the same unit within `window` periods.

    Returns an OverlapReport (table: unit, component_a, component_b, start_a, start_b, gap;
    ``to_check()`` for a result's checks) and emits a DesignWarning with the report's text when
    any pair is found. `unit` defaults to the launch-log contract's column.
    """
    window = check_periods("window", window)
    log = as_table(launch_log)
    check_launch_log(log, unit=unit)
    df = pull(log, [unit, "component", "start_period"], what="rollout_overlap")
    df = df.rename(columns={unit: "unit"})
    report = OverlapReport(
        window=window,
        table=overlap_pairs(df, window),
        n_units=int(df["unit"].nunique()),
        n_launches=len(df),
    )
    if not report.passed:
        warnings.warn(report.text, DesignWarning, stacklevel=2)
    return report


@user_columns(
    columns=("yname", "unit", "time", "cluster"), outcome="yname", tables=2, log=1, log_unit="unit"
)
def stacked_did(
    panel: Data,
    launch_log: Data,
    *,
    component: str,
    yname: str,
    unit: str,
    time: str,
    window: tuple[int, int],
    ref: int = -1,
    control_group: ControlGroup = "notyettreated",
    cluster: str | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """Stacked event study (Cengiz et al. 2019) for one component.

    For each cohort g of the component: a sub-experiment with the units it reached at g (treated)
    and, as controls, the units it had not reached by g + window[1] (control_group="notyettreated",
    the default: not yet or never treated) or never reached ("nevertreated"), over the periods
    g + window[0] … g + window[1]; units where *another* component launched inside that calendar
    window are left out of the sub-experiment. The stacked data are fit with
    ``y ~ Σ_{e≠ref} 1[treated, t-g=e] | sub-experiment×unit + sub-experiment×period``, CR1 clustered
    on `cluster` (default the unit, so a unit in several sub-experiments is one cluster).
    Cohorts whose window does not fit inside the panel's periods are left out with a DesignWarning
    (``result.provenance.options['dropped_cohorts']``).
    """
    component = column_name(component, "component")
    win = check_window(window)
    if win is None:
        raise OptionError("stacked_did needs window=(first, last) event times")
    lo, hi = win
    ref = check_ref(ref)
    if not lo <= ref <= hi:
        raise OptionError(f"ref={ref} must be an integer event time inside window={list(win)}")
    if lo >= 0:
        raise OptionError(f"window={list(win)} needs at least one pre-period (first < 0)")
    control_group = check_control_group(control_group, STACKED_CONTROL_GROUPS)  # type: ignore[assignment]
    alpha = check_alpha(alpha)
    yname, unit, time = (
        column_name(yname, "yname"),
        column_name(unit, "unit"),
        column_name(time, "time"),
    )
    cluster = unit if cluster is None else column_name(cluster, "cluster")
    p, log = as_table(panel), as_table(launch_log)
    spec = {unit: "key", time: "integer", yname: "numeric", cluster: "key"}
    require_columns(p, spec, role="panel")
    require_complete(p, list(spec), role="panel")
    require_unique(p, [unit, time], what="(unit, period) rows")
    check_launch_log(log, unit=unit, component=component)
    require_log_units_in_panel(p, log, component=component, unit=unit)
    df = pull(p, [unit, time, yname, cluster], what="stacked_did")
    launches = pull(log, ["component", unit, "start_period"], what="stacked_did launch log")
    stacks = stack_cohorts(
        df,
        launches,
        component=component,
        unit=unit,
        time=time,
        keep=[unit, time, yname, cluster],
        window=win,
        ref=int(ref),
        control_group=control_group,
    )
    if stacks.outside:
        periods = np.sort(df[time].unique())
        warnings.warn(
            f"stacked_did: cohorts {stacks.outside} of {component!r} are left out because the "
            f"window {list(win)} around them does not fit inside periods "
            f"{int(periods[0])}..{int(periods[-1])}",
            DesignWarning,
            stacklevel=2,
        )
    st = stacks.frame
    treated_means = dummy_means(st[yname].to_numpy(float), stacks.x, None)
    fit = fit_fe_ols(
        st[yname].to_numpy(float),
        stacks.x,
        stacks.fe,
        st[cluster].to_numpy(),
        names=[f"e={e}" for e in stacks.event_times],
    )
    return _event_result(
        design=f"did.stacked_did[{component}]",
        event_times=stacks.event_times,
        coef=fit.coef,
        vcov=fit.vcov,
        alpha=alpha,
        dof=fit.df_t,
        provenance=Provenance(
            design=f"did.stacked_did[{component}]",
            data=fingerprint(p, n_rows=len(df)),
            options={
                "component": component,
                "yname": yname,
                "unit": unit,
                "time": time,
                "window": [lo, hi],
                "ref": int(ref),
                "control_group": control_group,
                "cluster": cluster,
                "alpha": alpha,
                "cohorts": stacks.used,
                "dropped_cohorts": stacks.dropped,
            },
            seed=config.get().seed,
        ),
        label=f"effect of {component} on {yname}, average over post-launch periods (stacked)",
        ref=int(ref),
        n_obs=fit.n_obs,
        n_units=int(st[unit].nunique()),
        n_clusters=fit.n_clusters,
        estimator="stacked",
        vcov_type=VCOV_NOTES["CR1"],
        treated_means=treated_means,
    )
