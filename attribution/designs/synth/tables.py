"""What each synthetic-design result reports, assembled from the fits: tidy tables, weight tables,
diagnostics and checks (`attribution.results.Check`).

The pre-period fit is judged the same way for every design: the RMSE of the pre-period gap
(treated − synthetic; after the intercept for SDID and DiD) as a share of the cross-unit standard
deviation of the pre-period outcome, averaged over pre-periods. Above `adh.POOR_FIT_SHARE` (0.25,
i.e. more than 1/16 of the cross-sectional variance left unexplained) the check fails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.synth.adh import POOR_FIT_SHARE, SCFit, rmspe
from attribution.designs.synth.conformal import ConformalArrays
from attribution.designs.synth.panel import SynthPanel
from attribution.designs.synth.problem import SCProblem
from attribution.designs.synth.results import (
    ConformalResult,
    SyntheticControlResult,
    SynthResult,
)
from attribution.designs.synth.sdid import CohortFit
from attribution.inference import wald_table
from attribution.results import Check, Provenance

__all__ = ["MIN_EFFECTIVE_DONORS", "adh_result", "conformal_result", "sdid_result"]

MIN_EFFECTIVE_DONORS = 2.0
"""Below two effective donors (1/Σω²) the synthetic comparison rests on essentially one unit."""


# -- SDID / SC / DiD ----------------------------------------------------------------------------


def sdid_result(
    *,
    panel: SynthPanel,
    Y: np.ndarray,
    fits: list[CohortFit],
    weights: np.ndarray,
    att: float,
    se: float,
    cohort_se: np.ndarray,
    reps: np.ndarray | None,
    beta: pd.Series | None,
    method: str,
    se_method: str | None,
    n_reps: int | None,
    alpha: float,
    provenance: Provenance,
) -> SynthResult:
    """The SynthResult of a fit: ATT and per-cohort rows, weights, diagnostics and checks."""
    T = Y.shape[1]
    times = panel.times
    donors = panel.units[fits[0].controls]
    groups = [times[f.spec.adoption] for f in fits]

    # No standard error was asked for (se_method=None): inference columns are NA by request. With
    # one, the ATT's must exist (the guard raises); a cohort's may not (one treated unit under the
    # jackknife), which is said with a warning, as R synthdid reports NA.
    overall_mode = "absent" if se_method is None else "raise"
    cohort_mode = "absent" if se_method is None else "warn"
    ctab = wald_table(
        [f"ATT(g={g})" for g in groups],
        [f.tau for f in fits],
        cohort_se,
        alpha=alpha,
        degenerate=cohort_mode,
    ).drop(columns="note", errors="ignore")
    tidy = wald_table(["ATT"], [att], [se], alpha=alpha, degenerate=overall_mode)
    if len(fits) > 1:
        tidy = pd.concat([tidy, ctab], ignore_index=True)
    tidy["group"] = pd.Series([None] + (groups if len(fits) > 1 else []), dtype=object)
    diag_rows = [_cohort_diagnostics(Y, f) for f in fits]
    cohorts = pd.DataFrame(
        {
            "group": groups,
            "adoption_index": [f.spec.adoption for f in fits],
            "n_treated": [len(f.treated) for f in fits],
            "n_post": [T - f.spec.adoption for f in fits],
            "weight": weights,
        }
    )
    cohorts = pd.concat([cohorts, ctab.drop(columns="term")], axis=1)
    cohorts["zeta_omega"] = [f.spec.zeta_omega for f in fits]
    cohorts["zeta_lambda"] = [f.spec.zeta_lambda for f in fits]
    cohorts["noise_level"] = [f.spec.noise_level for f in fits]
    cohorts = pd.concat([cohorts, pd.DataFrame(diag_rows)], axis=1)

    unit_w = pd.Series(
        sum(wk * f.omega for wk, f in zip(weights, fits, strict=True)),
        index=donors,
        name="omega",
    )
    max_a = max(f.spec.adoption for f in fits)
    lam = np.zeros(max_a)
    for wk, f in zip(weights, fits, strict=True):
        lam[: f.spec.adoption] += wk * f.lam
    time_w = pd.Series(lam, index=times[:max_a], name="lambda")

    long = []
    for g, f in zip(groups, fits, strict=True):
        long.append(
            pd.DataFrame({"group": g, "kind": "unit", "label": list(donors), "weight": f.omega})
        )
        long.append(
            pd.DataFrame(
                {
                    "group": g,
                    "kind": "time",
                    "label": list(times[: f.spec.adoption]),
                    "weight": f.lam,
                }
            )
        )
    cohort_weights = pd.concat(long, ignore_index=True)

    main = int(np.argmax([len(f.treated) for f in fits]))
    diagnostics = {
        **diag_rows[main],
        "n_units": int(Y.shape[0]),
        "n_periods": int(T),
        "n_treated_units": int(sum(len(f.treated) for f in fits)),
        "n_never_treated": len(fits[0].controls),
        "n_cohorts": len(fits),
    }
    return SynthResult(
        design=provenance.design,
        table=tidy,
        alpha=alpha,
        provenance=provenance,
        checks=_sdid_checks(method, diag_rows, groups, n_donors=len(donors)),
        method=method,
        se_method=se_method,
        estimate=att,
        std_error=float(se),
        unit_weights=unit_w,
        time_weights=time_w,
        cohorts=cohorts,
        cohort_weights=cohort_weights,
        diagnostics=diagnostics,
        n_reps=n_reps,
        beta=beta,
        treated_mean=_treated_post_mean(panel.Y, fits, weights),
        Y=Y,
        units=panel.units,
        times=panel.times,
        treated=panel.treated.copy(),
        adoption=panel.adoption.copy(),
        omegas=tuple(f.omega for f in fits),
        lambdas=tuple(f.lam for f in fits),
        replicates=reps,
    )


def _treated_post_mean(Y: np.ndarray, fits: list[CohortFit], weights: np.ndarray) -> float:
    """Mean observed outcome of each cohort's treated units over its post periods, averaged with
    the ATT's cohort weights. `Y` is the outcome itself (not the covariate-projected one), so the
    baseline is on the outcome's scale."""
    means = [float(Y[f.treated, f.spec.adoption :].mean()) for f in fits]
    return float(np.dot(weights, means))


def _cohort_diagnostics(Y: np.ndarray, f: CohortFit) -> dict:
    """Pre-period fit of the weighted donors (with intercept unless SC) and weight concentration."""
    a = f.spec.adoption
    gap = Y[f.treated, :a].mean(axis=0) - f.omega @ Y[f.controls, :a]
    if f.spec.method != "sc":
        gap = gap - gap.mean()
    lam_sq = float(np.sum(f.lam**2))
    pre_rmse = float(np.sqrt(np.mean(gap**2)))
    rows = np.r_[f.treated, f.controls]
    return {
        "pre_rmse": pre_rmse,
        "pre_rmse_share": _share(pre_rmse, Y[rows, :a]),
        "n_donors": int(np.count_nonzero(f.omega > 0)),
        "effective_donors": float(1.0 / np.sum(f.omega**2)),
        "effective_periods": float(1.0 / lam_sq) if lam_sq > 0 else math.nan,
    }


def _share(pre_rmse: float, Y_pre: np.ndarray) -> float:
    """`pre_rmse` over the mean (over pre-periods) cross-unit SD of the outcome in `Y_pre`."""
    spread = float(np.mean(np.std(Y_pre, axis=0, ddof=1))) if Y_pre.shape[0] > 1 else 0.0
    return pre_rmse / spread if spread > 0 else math.inf


def _pre_fit_check(rmse: float, share: float, *, what: str, where: str = "") -> Check:
    ok = share <= POOR_FIT_SHARE
    return Check(
        name="pre-period fit",
        passed=ok,
        detail=(
            f"{what} is {rmse:.4g}, {share:.2f} × the cross-unit SD of the pre-period outcome"
            f"{where}; {'within' if ok else 'above'} the {POOR_FIT_SHARE} that marks a poor fit"
        ),
        statistic=share,
    )


def _sdid_checks(
    method: str, diag_rows: list[dict], groups: list[Any], *, n_donors: int
) -> tuple[Check, ...]:
    shares = [d["pre_rmse_share"] for d in diag_rows]
    k = int(np.argmax(shares))
    where = (
        f" (worst of {len(shares)} cohorts: first treated {groups[k]})" if len(shares) > 1 else ""
    )
    what = "pre-period RMSE of the weighted donors" + (
        " (after the intercept)" if method != "sc" else ""
    )
    checks = [_pre_fit_check(diag_rows[k]["pre_rmse"], shares[k], what=what, where=where)]
    if method in ("sdid", "sc"):
        effective = [d["effective_donors"] for d in diag_rows]
        j = int(np.argmin(effective))
        eff = effective[j]
        where = f" in the cohort first treated {groups[j]}" if len(effective) > 1 else ""
        checks.append(
            Check(
                name="effective donors",
                passed=eff >= MIN_EFFECTIVE_DONORS,
                detail=(
                    f"the unit weights spread over {eff:.1f} effective donors (1/Σω²) of "
                    f"{n_donors}{where}; below {MIN_EFFECTIVE_DONORS:g} the comparison rests on "
                    "one donor"
                ),
                statistic=eff,
            )
        )
    return tuple(checks)


# -- ADH -------------------------------------------------------------------------------------------


def adh_result(
    problem: SCProblem,
    fit: SCFit,
    *,
    alpha: float,
    provenance: Provenance,
    outcome: str,
    treatment_start: Any,
    diagnostics: dict[str, Any],
    placebo_gaps: pd.DataFrame | None,
    placebo_table: pd.DataFrame | None,
    p_value: float | None,
    conf: ConformalArrays | None,
    placebo_note: str,
) -> SyntheticControlResult:
    """The SyntheticControlResult of an ADH fit with its placebo and conformal inference (if run).

    `placebo_note` says why the in-space placebo did not run when `p_value` is None.
    """
    y1 = problem.Y[problem.treated]
    gap = y1 - fit.synthetic
    n_pre = problem.n_pre
    pre, post = rmspe(gap, n_pre)
    ratio = post / pre if pre > 0 else np.inf
    times = problem.times
    treated_unit = problem.units[problem.treated]
    unit_weights = pd.Series(fit.w, index=problem.units[problem.pool], name="weight")
    predictor_weights = pd.Series(fit.v, index=list(problem.predictor_names), name="v")
    X = problem.X
    balance = pd.DataFrame(
        {
            "predictor": list(problem.predictor_names),
            "treated": X[:, problem.treated],
            "synthetic": X[:, problem.pool] @ fit.w,
            "donor_mean": X[:, problem.pool].mean(axis=1),
            "v": fit.v,
        }
    )
    post_idx = np.arange(n_pre, len(times))
    est = float(gap[post_idx].mean())
    sharp = None if conf is None else conf.sharp_null_p_value
    inference = [
        *(["p: in-space placebo (RMSPE ratio)"] if p_value is not None else []),
        *(["interval: conformal, constant effect"] if conf is not None else []),
    ]
    rows = [
        {
            "term": "ATT",
            "estimate": est,
            "std_error": np.nan,
            "conf_low": conf.average_low if conf is not None else np.nan,
            "conf_high": conf.average_high if conf is not None else np.nan,
            "p_value": p_value if p_value is not None else np.nan,
            "time": None,
            "inference": "; ".join(inference) or "none",
        }
    ]
    for k, t in enumerate(post_idx):
        rows.append(
            {
                "term": f"gap(t={times[t]})",
                "estimate": float(gap[t]),
                "std_error": np.nan,
                "conf_low": conf.low[k] if conf is not None else np.nan,
                "conf_high": conf.high[k] if conf is not None else np.nan,
                "p_value": conf.p_zero[k] if conf is not None else np.nan,
                "time": times[t],
                "inference": "conformal" if conf is not None else "none",
            }
        )
    checks = [
        _pre_fit_check(
            pre,
            diagnostics["pre_rmspe_share_of_cross_unit_sd"],
            what=f"pre-period RMSPE of synthetic {treated_unit}",
        ),
        _hull_check(treated_unit, diagnostics["predictors_outside_donor_range"]),
        _placebo_check(treated_unit, placebo_table, p_value, ratio, alpha, placebo_note),
        _sharp_null_check(sharp, alpha, note="not run: conformal=False"),
    ]
    return SyntheticControlResult(
        design=provenance.design,
        table=_with_time_key(rows),
        alpha=alpha,
        provenance=provenance,
        checks=tuple(checks),
        estimate=est,
        treated_unit=treated_unit,
        treatment_start=treatment_start,
        outcome=outcome,
        treated_path=pd.Series(y1, index=times, name="treated"),
        synthetic_path=pd.Series(fit.synthetic, index=times, name="synthetic"),
        unit_weights=unit_weights,
        predictor_weights=predictor_weights,
        balance=balance,
        pre_rmspe=pre,
        post_rmspe=post,
        rmspe_ratio=float(ratio),
        mspe_lower_bound=fit.mspe_lower_bound,
        placebo=placebo_table,
        p_value=p_value,
        sharp_null_p_value=sharp,
        diagnostics=diagnostics,
        placebo_gaps=placebo_gaps,
        problem=problem,
    )


def _with_time_key(rows: list[dict]) -> pd.DataFrame:
    """The tidy table with `time` kept as the periods themselves (object: None on summary rows)."""
    table = pd.DataFrame(rows)
    table["time"] = pd.Series([r["time"] for r in rows], dtype=object)
    return table


def _hull_check(treated_unit: Any, outside: Sequence[str]) -> Check:
    if outside:
        detail = (
            f"predictor(s) {list(outside)} of {treated_unit} lie beyond every donor's value, so no "
            "synthetic control can match them"
        )
    else:
        detail = f"every predictor of {treated_unit} lies within the donors' range"
    return Check(
        name="donors' convex hull",
        passed=not outside,
        detail=detail,
        statistic=float(len(outside)),
    )


def _placebo_check(
    treated_unit: Any,
    table: pd.DataFrame | None,
    p_value: float | None,
    ratio: float,
    alpha: float,
    note: str,
) -> Check:
    if p_value is None or table is None:
        return Check(name="in-space placebo", passed=None, detail=note)
    rank = int(table.loc[table["treated"], "rank"].iloc[0])
    stands_out = p_value <= alpha
    return Check(  # inference about the effect, not a test of the design: not pass/fail
        name="in-space placebo",
        passed=None,
        detail=(
            f"{treated_unit}'s post/pre-period RMSPE ratio ({ratio:.3g}) ranks {rank} of "
            f"{len(table)} units, p = {p_value:.3g}: the gap "
            f"{'stands out from' if stands_out else 'does not stand out from'} the placebo gaps "
            f"at alpha = {alpha:g}"
        ),
        statistic=ratio,
        p_value=p_value,
    )


def _sharp_null_check(p: float | None, alpha: float, *, note: str, how: str = "") -> Check:
    if p is None:
        return Check(name="conformal sharp null", passed=None, detail=note)
    rejected = p <= alpha
    return Check(  # inference about the effect, not a test of the design: not pass/fail
        name="conformal sharp null",
        passed=None,
        detail=(
            f"the null of no effect in any post period is {'rejected' if rejected else 'not rejected'} "
            f"at alpha = {alpha:g}: conformal p = {p:.3g}{how}"
        ),
        p_value=p,
    )


# -- conformal -------------------------------------------------------------------------------------


def conformal_result(
    res: ConformalArrays,
    *,
    centre: np.ndarray,
    times: pd.Index,
    n_pre: int,
    treated_unit: Any,
    n_units: int,
    alpha: float,
    permutation: str,
    q: float,
    provenance: Provenance,
    treated_mean: float | None = None,
) -> ConformalResult:
    """The ConformalResult: one row per post period (gaps `centre`) and the constant-effect row."""
    rows = [
        {
            "term": f"gap(t={times[n_pre + k]})",
            "estimate": float(centre[k]),
            "std_error": np.nan,
            "conf_low": res.low[k],
            "conf_high": res.high[k],
            "p_value": res.p_zero[k],
            "time": times[n_pre + k],
        }
        for k in range(len(centre))
    ]
    rows.append(
        {
            "term": "constant effect",
            "estimate": float(np.mean(centre)),
            "std_error": np.nan,
            "conf_low": res.average_low,
            "conf_high": res.average_high,
            "p_value": res.sharp_null_p_value,
            "time": None,
        }
    )
    how = f" ({permutation.replace('_', '-')} permutations, q = {q:g})"
    return ConformalResult(
        design=provenance.design,
        table=_with_time_key(rows),
        alpha=alpha,
        provenance=provenance,
        checks=(_sharp_null_check(res.sharp_null_p_value, alpha, note="", how=how),),
        sharp_null_p_value=res.sharp_null_p_value,
        permutation=permutation,
        q=float(q),
        treated_unit=treated_unit,
        n_units=int(n_units),
        treated_mean=treated_mean,
    )
