"""The synthetic family's public entry points: thin orchestration, validate → gather → math → result.

- `fit`: SDID (Arkhangelsky et al. 2021) with SC and DiD as comparators, one or many treated units,
  staggered adoption;
- `synthetic_control`: Abadie–Diamond–Hainmueller with predictor weights V, with in-space placebo
  and conformal inference;
- `conformal_interval`: Chernozhukov–Wüthrich–Zhu intervals for a fitted result or a table;
- `in_space_placebo`, `in_time_placebo`, `leave_one_out`: ADH's robustness checks.

Requests are checked in `request`, the panel comes out of the engine once (`panel`), the math runs
on arrays (`sdid`, `inference`, `covariates`, `problem`, `adh`, `placebo`, `conformal`) and
`tables` assembles the results defined in `results`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution import config
from attribution.data.engine import Data, as_table, fingerprint
from attribution.designs.synth import inference as inf
from attribution.designs.synth import placebo as pl
from attribution.designs.synth import request as rq
from attribution.designs.synth import tables
from attribution.designs.synth.adh import diagnose, fit_arrays, leave_one_out_paths, rmspe
from attribution.designs.synth.conformal import conformal_arrays, pre_period_gaps
from attribution.designs.synth.covariates import project_covariates
from attribution.designs.synth.panel import prepare_panel
from attribution.designs.synth.problem import (
    SCProblem,
    SpecialPredictor,
    as_time,
    build_problem,
    truncated_panel,
)
from attribution.designs.synth.results import (
    ConformalResult,
    SyntheticControlResult,
    SynthResult,
)
from attribution.designs.synth.sdid import estimate_att
from attribution.errors import DesignError, OptionError
from attribution.options import (
    Jackknife,
    Permutation,
    SeMethod,
    SynthMethod,
    VMethod,
    check_alpha,
    check_float,
    check_option,
)
from attribution.results import Provenance

__all__ = [
    "conformal_interval",
    "fit",
    "in_space_placebo",
    "in_time_placebo",
    "leave_one_out",
    "synthetic_control",
]


# -- SDID / SC / DiD --------------------------------------------------------------------------


def fit(
    data: Data,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    method: SynthMethod = "sdid",
    se_method: SeMethod | None = "placebo",
    covariates: Sequence[str] | None = None,
    n_reps: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
    jackknife: Jackknife | None = None,
) -> SynthResult:
    """Average effect on the treated unit-periods by SDID (Arkhangelsky et al. 2021), SC or DiD.

    Parameters
    ----------
    data: long panel (pandas DataFrame or Ibis table), one row per (unit, time), balanced.
    outcome, unit, time, treatment: column names; `treatment` is 0/1 for treated unit-periods
        (block or staggered adoption; it must never switch off).
    method: "sdid" (unit and time weights, with intercepts), "sc" (synthdid's sc_estimate: unit
        weights without intercept, no time weights), "did" (uniform weights).
    se_method: "placebo" (Algorithm 4; needs more never-treated than treated units),
        "jackknife" (ω, λ fixed; ≥ 2 treated units per adoption cohort), "bootstrap"
        (Algorithm 2; ≥ 2 treated units), or None (no standard error).
    covariates: time-varying covariates, partialled out as in the "projected" approach (Kranz
        2022; Clarke et al. 2023): β̂ from a two-way fixed-effects regression of the outcome on
        the covariates over the untreated unit-periods, then the design runs on Y − Xβ̂.
    n_reps: placebo / bootstrap replications (default `config.n_placebo`).
    seed: seed for the replications (default `config.seed`).
    alpha: 1 − confidence level of the normal intervals (default `config.alpha`).
    zeta_omega, zeta_lambda: override the ridge penalties ζ_ω (default (N_tr·T_post)^{1/4}·σ̂, or
        10⁻⁶σ̂ for SC) and ζ_λ (default 10⁻⁶σ̂) for every cohort; between 0 and 1e100 (ζ² must stay
        a finite double; values far above the outcome's scale already make the weights uniform).
    jackknife: the staggered-adoption jackknife convention (only with se_method="jackknife").
        "stata" (default, as Stata `sdid` and synthdid-py): in each leave-one-unit-out replicate
        the ATT's cohort weights are recomputed from the kept treated units × post periods, and a
        cohort's SE is taken over all N replicates. "fixed_weights": the cohort weights stay at
        their full-sample values (the estimand averages over the observed adoption design) and a
        cohort's SE is taken over its own units; this was the default before and covered 94.5%
        in our staggered simulation against 97.8% for "stata". One cohort: both coincide.
    """
    method = check_option("method", method, SynthMethod)
    if se_method is not None:
        se_method = check_option("se_method", se_method, SeMethod)
    cfg = config.get()
    alpha = check_alpha(cfg.alpha if alpha is None else alpha)
    seed = rq.check_seed(cfg.seed if seed is None else seed)
    n_reps = rq.check_reps(n_reps, se_method, cfg.n_placebo)
    zeta_omega = rq.check_zeta("zeta_omega", zeta_omega, method, allowed=("sdid", "sc"))
    zeta_lambda = rq.check_zeta("zeta_lambda", zeta_lambda, method, allowed=("sdid",))
    rq.check_treatment_name(treatment)
    if jackknife is not None:
        jackknife = check_option("jackknife", jackknife, Jackknife)
        if se_method != "jackknife":
            raise OptionError(
                f"jackknife={jackknife!r} has no effect with se_method={se_method!r}",
                fix="drop jackknife, or use se_method='jackknife'",
            )
    jk = "stata" if jackknife is None else jackknife

    table = as_table(data)
    panel = prepare_panel(
        table, outcome=outcome, unit=unit, time=time, treatment=treatment, covariates=covariates
    )
    Y = panel.Y
    beta = None
    if panel.X:
        Y, beta = project_covariates(panel)

    rq.check_pre_periods(panel, method)
    att, fits, w = estimate_att(
        Y,
        panel.cohorts(),
        np.flatnonzero(panel.donors),
        method,
        zeta_omega=zeta_omega,
        zeta_lambda=zeta_lambda,
    )

    reps, se, cohort_se = None, math.nan, np.full(len(fits), np.nan)
    if se_method is not None:
        rq.check_se_feasible(se_method, fits, panel)
        se, cohort_se, reps, _ = inf.standard_error(
            Y, fits, se_method, n_reps=n_reps, seed=seed, jackknife=jk
        )

    design = {"sdid": "synth.sdid", "sc": "synth.sc", "did": "synth.did"}[method]
    prov = Provenance(
        design=design,
        data=fingerprint(table, n_rows=panel.n_rows),
        options={
            "outcome": outcome,
            "unit": unit,
            "time": time,
            "treatment": treatment,
            "method": method,
            "se_method": se_method,
            "covariates": list(panel.X),
            "n_reps": n_reps,
            "zeta_omega": zeta_omega,
            "zeta_lambda": zeta_lambda,
            "jackknife": jk if se_method == "jackknife" else None,
        },
        seed=seed if se_method in ("placebo", "bootstrap") else None,
    )
    return tables.sdid_result(
        panel=panel,
        Y=Y,
        fits=fits,
        weights=w,
        att=att,
        se=se,
        cohort_se=cohort_se,
        reps=reps,
        beta=beta,
        method=method,
        se_method=se_method,
        n_reps=n_reps,
        alpha=alpha,
        provenance=prov,
    )


# -- ADH synthetic control ----------------------------------------------------------------------


def synthetic_control(
    data: Data,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    treatment_start: Any,
    predictors: Sequence[str] | None = None,
    special_predictors: Sequence[SpecialPredictor] | None = None,
    pre_period: Sequence[Any] | None = None,
    optimize_v: bool = True,
    alpha: float | None = None,
    placebo: bool = True,
    conformal: bool = True,
    seed: int | None = None,
    donors: Sequence[Any] | None = None,
    v: pd.Series | Mapping[str, float] | None = None,
    v_method: VMethod = "pre_period",
    validation_start: Any = None,
    training_special_predictors: Sequence[SpecialPredictor] | None = None,
    v_floor: float | None = None,
) -> SyntheticControlResult:
    """Abadie–Diamond–Hainmueller synthetic control for one treated unit.

    - `predictors`: covariate columns, each averaged over `pre_period`.
    - `special_predictors`: ``(column, periods, "mean")`` triples as R Synth's
      ``special.predictors``; `column` may be the outcome (lagged outcomes), `periods` one period or
      a list. With neither given, every pre-period outcome is a predictor. Covariates may have
      missing values: each predictor is the mean over the periods that have data (R Synth's
      ``mean(na.rm = TRUE)``); a unit with no data at all in a predictor's periods is an error.
      Periods from `treatment_start` on are allowed with a DesignWarning (they may carry the
      effect into the predictors).
    - `donors`: the donor pool (R Synth's ``controls.identifier``); other units play no role,
      not even in the predictors' scaling. Default: every other unit.
    - `v`: fixed predictor weights (R Synth's ``custom.v``): a Series or mapping by predictor
      label (the index of `result.predictor_weights`; a bare column name where it labels one
      predictor), non-negative, not all zero, normalised to sum 1. No V search is run.
    - `v_method`: "pre_period" (default: V minimises the outcome MSPE over `pre_period`, as
      Synth) or "cross_validation" (Abadie, Diamond & Hainmueller 2015, Section 3): the window is
      split at `validation_start` (default: its second half); V is chosen with the predictors
      measured in the training part (`predictors` averaged there; `training_special_predictors`,
      one for one with `special_predictors`, default the same ones, which must then lie in the
      training part) to minimise the outcome MSPE over the validation part, and that V is then
      applied to the main specification to get W.
    - `v_floor`: every searched predictor weight is at least this (0 ≤ v_floor < 1/k), to keep V
      away from the corner solutions where one predictor takes all the weight and the others
      play no role (Kuosmanen et al. 2021); a searched V with ≥ 99% on one predictor is warned
      about (DesignWarning naming it).
    - `pre_period`: the periods whose outcome MSPE chooses V (Synth's ``time.optimize.ssr``) and over
      which `predictors` are averaged; default every period before `treatment_start`.
    - `optimize_v=False` uses equal weights on the standardised predictors.
    - `placebo`: in-space placebos (every donor in turn, V re-fitted) → RMSPE-ratio p-value.
    - `conformal`: per-period conformal intervals, the constant-effect interval and the sharp-null
      p-value (CWZ 2021).
    - `seed`: only used by randomised conformal permutations; the default ones are deterministic.
    - `treated_unit` must be a unit of the panel and `treatment_start` one of its periods, with at
      least one period before it.

    Predictors are divided by their standard deviation across the treated unit and the donors (as
    Synth). Where the inner problem has many solutions (the treated unit inside the donors' hull
    on the predictors), the W with the best pre-period outcome fit is taken. For a given V, W is
    Synth's (checked to 1e-3 against R Synth / pysyncon on the Basque data; in fact ~1e-7 against
    the exact QP solution). Published weights also depend on Synth's optimiser for V: V is not
    identified (different optimisers reach different V with the same W, e.g. R's loss.w 0.2467
    against pysyncon's 0.1737 for Cataluña 0.851 / Madrid 0.149 on the Basque data, or a
    different W: pysyncon stops at Cataluña 1.0 on R's ?synth example), so compare W and the
    pre-period MSPE, not V (tests/reference/synth/basque/README.md).
    """
    alpha = check_alpha(config.get().alpha if alpha is None else alpha)
    rq.check_flags(optimize_v=optimize_v, placebo=placebo, conformal=conformal)
    seed = rq.check_optional_seed(seed)
    specials = rq.normalise_specials(special_predictors)
    preds = rq.normalise_predictors(predictors)
    v_method = check_option("v_method", v_method, VMethod)
    if training_special_predictors is not None and not isinstance(
        training_special_predictors, list | tuple
    ):
        raise OptionError(
            "training_special_predictors must be a list of (column, periods, 'mean') triples, "
            f"got {type(training_special_predictors).__name__}",
            fix="e.g. training_special_predictors=[('gdpcap', range(1960, 1965), 'mean')]",
        )
    train_specials = (
        None
        if training_special_predictors is None
        else rq.normalise_specials(training_special_predictors)
    )
    _check_v_options(v, v_method, optimize_v, validation_start, train_specials, v_floor)
    covs = list(
        dict.fromkeys(
            [
                *preds,
                *(c for c, _, _ in [*specials, *(train_specials or [])] if c != outcome),
            ]
        )
    )
    table = as_table(data)
    panel = prepare_panel(
        table,
        outcome=outcome,
        unit=unit,
        time=time,
        covariates=covs or None,
        missing_covariates=True,
    )
    problem = build_problem(
        panel,
        treated_unit=treated_unit,
        treatment_start=treatment_start,
        predictors=preds,
        special_predictors=specials,
        pre_period=pre_period,
        optimize_v=bool(optimize_v),
        donors=donors,
        v=v,
        v_floor=0.0 if v_floor is None else float(v_floor),
        v_method=v_method,
        validation_start=validation_start,
        training_special_predictors=train_specials,
    )
    options = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated_unit": treated_unit,
        "treatment_start": treatment_start,
        "predictors": preds,
        "special_predictors": [(c, _jsonable_periods(p), op) for c, p, op in specials],
        "pre_period": None if pre_period is None else _jsonable_periods(list(pre_period)),
        "optimize_v": bool(optimize_v),
        "placebo": bool(placebo),
        "conformal": bool(conformal),
        "donors": None if donors is None else _jsonable_periods(list(donors)),
        "v": None if v is None else {str(k): float(x) for k, x in dict(v).items()},
        "v_method": v_method,
        "validation_start": _jsonable_periods([validation_start])[0],
        "training_special_predictors": None
        if train_specials is None
        else [(c, _jsonable_periods(p), op) for c, p, op in train_specials],
        "v_floor": v_floor,
    }
    prov = Provenance(
        design="synthetic control (ADH)",
        data=fingerprint(table, n_rows=panel.n_rows),
        options=options,
        seed=seed,
    )
    return _estimate_problem(
        problem,
        alpha=alpha,
        placebo=bool(placebo),
        conformal=bool(conformal),
        seed=seed,
        provenance=prov,
        outcome=outcome,
        treatment_start=as_time(treatment_start, problem.times),
    )


def _check_v_options(
    v: Any,
    v_method: str,
    optimize_v: bool,
    validation_start: Any,
    train_specials: Any,
    v_floor: float | None,
) -> None:
    """OptionError for V options that contradict each other or would have no effect."""
    if v_floor is not None:
        check_float("v_floor", v_floor, low=0.0, high=1.0, high_open=True)
    searched = v is None and bool(optimize_v)
    if not searched and v_method == "cross_validation":
        raise OptionError(
            "v_method='cross_validation' searches V; it cannot be combined with "
            + ("a fixed v" if v is not None else "optimize_v=False"),
            fix="drop v_method, or drop v / optimize_v=False",
        )
    if not searched and v_floor is not None:
        raise OptionError(
            "v_floor bounds a searched V; it has no effect with "
            + ("a fixed v" if v is not None else "optimize_v=False"),
            fix="drop v_floor",
        )
    if v_method != "cross_validation" and (
        validation_start is not None or train_specials is not None
    ):
        raise OptionError(
            "validation_start and training_special_predictors need v_method='cross_validation'",
            fix="add v_method='cross_validation', or drop them",
        )


def _jsonable_periods(periods: list) -> list:
    return [p.item() if isinstance(p, np.generic) else p for p in periods]


def _estimate_problem(
    problem: SCProblem,
    *,
    alpha: float,
    placebo: bool,
    conformal: bool,
    seed: int | None,
    provenance: Provenance,
    outcome: str,
    treatment_start: Any,
) -> SyntheticControlResult:
    """Fit, diagnose and (optionally) run placebo and conformal inference on a built problem."""
    fit_ = fit_arrays(problem)
    y1 = problem.Y[problem.treated]
    gap = y1 - fit_.synthetic
    n_pre = problem.n_pre
    pre, _ = rmspe(gap, n_pre)
    diagnostics = diagnose(problem, gap, pre, v=fit_.v)

    gaps = table = p_value = None
    note = "not run: placebo=False"
    if placebo and len(problem.pool) >= 2:
        gaps = pl.placebo_gaps(problem)
        table, p_value = pl.placebo_table(
            gaps, gap, n_pre, treated_unit=problem.units[problem.treated]
        )
    elif placebo:
        diagnostics["placebo"] = "skipped: in-space placebos need at least two donors"
        note = "not run: in-space placebos need at least two donors"

    conf = None
    if conformal:
        conf = conformal_arrays(
            y1, problem.Y[problem.pool], n_pre, alpha=alpha, centre=gap[n_pre:], seed=seed
        )
    return tables.adh_result(
        problem,
        fit_,
        alpha=alpha,
        provenance=provenance,
        outcome=outcome,
        treatment_start=treatment_start,
        diagnostics=diagnostics,
        placebo_gaps=gaps,
        placebo_table=table,
        p_value=p_value,
        conf=conf,
        placebo_note=note,
    )


def in_space_placebo(
    result: SyntheticControlResult, *, max_pre_mspe_ratio: float | None = None
) -> tuple[pd.DataFrame, float]:
    """The in-space placebo table and p-value for a fitted result (re-used if already computed).

    `max_pre_mspe_ratio`: drop placebos whose pre-period MSPE exceeds this multiple of the
    treated unit's before ranking (ADH 2010 use 20, 5 and 2); a positive number, or None to
    keep all.
    """
    rq.check_result(result, SyntheticControlResult, function="in_space_placebo")
    if max_pre_mspe_ratio is not None:
        max_pre_mspe_ratio = check_float(
            "max_pre_mspe_ratio", max_pre_mspe_ratio, low=0.0, low_open=True
        )
    problem = result.problem
    gaps = result.placebo_gaps if result.placebo_gaps is not None else pl.placebo_gaps(problem)
    treated_gap = (result.treated_path - result.synthetic_path).to_numpy()
    table, p = pl.placebo_table(gaps, treated_gap, problem.n_pre, treated_unit=result.treated_unit)
    if max_pre_mspe_ratio is None:
        return table, p
    return pl.exclude_poor_fits(table, max_pre_mspe_ratio)


def in_time_placebo(
    result: SyntheticControlResult,
    *,
    placebo_start: Any,
    special_predictors: Sequence[SpecialPredictor] | None = None,
    pre_period: Sequence[Any] | None = None,
) -> SyntheticControlResult:
    """Re-run the design as if treatment had started at `placebo_start` (before the real start).

    Only periods before the real treatment start are used. Predictors averaged over the default
    window follow the new date; special predictors must be restated with periods before
    `placebo_start` (pass `special_predictors`), otherwise the call fails rather than silently
    dropping them. Returns a result whose gaps should be near zero if the design is credible.
    """
    rq.check_result(result, SyntheticControlResult, function="in_time_placebo")
    problem = result.problem
    times = problem.times
    placebo_start = as_time(placebo_start, times)
    rq.check_placebo_start(times, problem.n_pre, placebo_start)
    opts = dict(result.provenance.options)
    tsp = opts.get("training_special_predictors")
    specials = rq.normalise_specials(
        special_predictors
        if special_predictors is not None
        else (opts.get("special_predictors") or None)
    )
    new = build_problem(
        truncated_panel(problem, problem.n_pre, outcome=result.outcome),
        treated_unit=result.treated_unit,
        treatment_start=placebo_start,
        predictors=list(opts.get("predictors") or []),
        special_predictors=specials,
        pre_period=pre_period,
        optimize_v=problem.optimize_v,
        v_floor=problem.v_floor,
        v_method="cross_validation" if problem.cv_X is not None else "pre_period",
        training_special_predictors=rq.normalise_specials(tsp) if tsp else None,
        late_predictors="raise",
    )
    if problem.v_fixed is not None:  # the same fixed V, predictor by predictor
        if len(problem.v_fixed) != len(new.predictor_names):
            raise DesignError(
                f"the fixed v has {len(problem.v_fixed)} weights but the in-time placebo has "
                f"{len(new.predictor_names)} predictors",
                fix="give special_predictors matching the original ones one for one",
            )
        new = dataclasses.replace(new, v_fixed=problem.v_fixed)
    opts.update(
        treatment_start=placebo_start,
        in_time_placebo_of=result.treatment_start,
        special_predictors=[(c, list(p), op) for c, p, op in specials],
        pre_period=None if pre_period is None else list(pre_period),
        placebo=False,
        conformal=False,
    )
    prov = Provenance(
        design="synthetic control (ADH), in-time placebo",
        data=result.provenance.data,
        options=opts,
        seed=result.provenance.seed,
    )
    return _estimate_problem(
        new,
        alpha=result.alpha,
        placebo=False,
        conformal=False,
        seed=result.provenance.seed,
        provenance=prov,
        outcome=result.outcome,
        treatment_start=placebo_start,
    )


def leave_one_out(result: SyntheticControlResult, *, min_weight: float = 1e-3) -> pd.DataFrame:
    """Re-fit dropping, in turn, each donor with weight above `min_weight` (ADH 2015, Section 5).

    Returns a long frame (dropped, time, synthetic, gap): how much the synthetic path depends on
    any single donor. `min_weight` is a weight threshold in [0, 1).
    """
    rq.check_result(result, SyntheticControlResult, function="leave_one_out")
    min_weight = check_float("min_weight", min_weight, low=0.0, high=1.0, high_open=True)
    return leave_one_out_paths(result.problem, result.unit_weights, min_weight=min_weight)


# -- conformal inference --------------------------------------------------------------------------


def conformal_interval(
    source: SyntheticControlResult | Data,
    *,
    alpha: float | None = None,
    grid: np.ndarray | None = None,
    permutation: Permutation = "moving_block",
    q: float = 1.0,
    n_reps: int | None = None,
    seed: int | None = None,
    outcome: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    treated_unit: Any = None,
    treatment_start: Any = None,
    n_permutations: int | None = None,
) -> ConformalResult:
    """Conformal confidence sets and p-values for a synthetic control's effect path.

    `source` is a `SyntheticControlResult` (its data and gaps are re-used) or a long panel table,
    then with `outcome`, `unit`, `time`, `treated_unit` and `treatment_start`. `grid`: candidate
    effects to test (default: an adaptive grid around each gap, refined by bisection).
    `permutation`: "moving_block" (cyclic shifts; deterministic) or "iid" (`n_reps` random
    permutations drawn with `seed`; default `config.n_boot`). `n_permutations` is the deprecated
    name of `n_reps`. `q`: order of the test statistic, 1 ≤ q ≤ 100 or inf (the sup norm).
    With a fitted result, the table arguments (`outcome` … `treatment_start`) are refused.
    """
    alpha = check_alpha(config.get().alpha if alpha is None else alpha)
    q = rq.check_conformal_options(permutation, q)
    n_reps = rq.replications(n_reps, n_permutations)
    seed = rq.check_optional_seed(seed)
    grid = rq.check_grid(grid)
    if isinstance(source, SyntheticControlResult):
        rq.check_result_request(
            outcome=outcome,
            unit=unit,
            time=time,
            treated_unit=treated_unit,
            treatment_start=treatment_start,
        )
        problem = source.problem
        centre = source.gaps.to_numpy()[problem.n_pre :]
        tu = source.treated_unit
        data_fp = source.provenance.data
    else:
        rq.check_table_request(
            outcome=outcome,
            unit=unit,
            time=time,
            treated_unit=treated_unit,
            treatment_start=treatment_start,
        )
        table = as_table(source)
        panel = prepare_panel(table, outcome=outcome, unit=unit, time=time)  # type: ignore[arg-type]
        problem = build_problem(
            panel,
            treated_unit=treated_unit,
            treatment_start=treatment_start,
            predictors=[],
            special_predictors=[],
            pre_period=None,
            optimize_v=False,
        )
        centre = None
        tu = treated_unit
        data_fp = fingerprint(table, n_rows=panel.n_rows)
    y1, Y0 = problem.Y[problem.treated], problem.Y[problem.pool]
    res = conformal_arrays(
        y1,
        Y0,
        problem.n_pre,
        alpha=alpha,
        centre=centre,
        grid=grid,
        permutation=permutation,
        q=q,
        n_reps=n_reps,
        seed=seed,
    )
    prov = Provenance(
        design="synthetic control, conformal inference (CWZ 2021)",
        data=data_fp,
        options={
            "permutation": permutation,
            "q": q,
            "n_reps": n_reps,
            "grid": None if grid is None else f"{len(np.asarray(grid))} points",
        },
        seed=seed,
    )
    if centre is None:
        centre = pre_period_gaps(y1, Y0, problem.n_pre)
    return tables.conformal_result(
        res,
        centre=centre,
        times=problem.times,
        n_pre=problem.n_pre,
        treated_unit=tu,
        n_units=len(problem.units),
        treated_mean=float(np.mean(y1[problem.n_pre :])),
        alpha=alpha,
        permutation=permutation,
        q=q,
        provenance=prov,
    )
