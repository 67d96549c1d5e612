"""Placebo inference for the ADH synthetic control: in-space and in-time placebos.

In-space (Abadie, Diamond & Hainmueller 2010, Section 3; 2015, Section 4): every donor in turn is
treated as if it had been treated, with the remaining donors as its pool and V re-fitted; the
treated unit's post/pre RMSPE ratio is ranked among all of them, and the permutation p-value is
rank / (J + 1). In-time (ADH 2015, Section 5): the same specification with a fake treatment date
inside the pre-period, using only the data before the real treatment; a credible design shows no
"effect" there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.synth.adh import (
    SCProblem,
    SyntheticControlResult,
    as_time,
    build_problem,
    estimate_problem,
    fit_arrays,
    rmspe,
)
from attribution.designs.synth.panel import SynthPanel
from attribution.errors import DesignError, OptionError
from attribution.results import Provenance

__all__ = [
    "in_space_placebo",
    "in_time_placebo",
    "permutation_p_value",
    "placebo_gaps",
    "placebo_table",
]


def placebo_gaps(problem: SCProblem) -> pd.DataFrame:
    """Gap paths (periods × donors) of the in-space placebos: each donor fitted on the others.

    The actually treated unit is left out of every placebo pool (its outcome is affected), and V is
    re-fitted for every placebo, as in ADH (2010). The fits run through the compiled solver one
    after another.
    """
    pool = problem.pool
    if len(pool) < 2:
        raise DesignError(
            "in-space placebos need at least two donors",
            fix="add donor units or run without placebo inference",
        )
    out = np.empty((len(problem.times), len(pool)))
    for j, unit in enumerate(pool):
        fit = fit_arrays(problem, treated=int(unit), pool=pool[pool != unit])
        out[:, j] = problem.Y[unit] - fit.synthetic
    return pd.DataFrame(out, index=problem.times, columns=problem.units[pool])


def permutation_p_value(treated_stat: float, placebo_stats: np.ndarray) -> float:
    """(1 + #{placebos with a statistic ≥ the treated one}) / (J + 1): ties count against."""
    s = np.asarray(placebo_stats, dtype=float)
    return float((1 + np.sum(s >= treated_stat)) / (len(s) + 1))


def placebo_table(
    gaps: pd.DataFrame, treated_gap: np.ndarray, n_pre: int, *, treated_unit: Any
) -> tuple[pd.DataFrame, float]:
    """Pre/post RMSPE and their ratio for the treated unit and every placebo, ranked.

    Returns the table (unit, treated, pre_rmspe, post_rmspe, ratio, pre_mspe_vs_treated, rank)
    sorted by rank (1 = largest ratio), and the treated unit's permutation p-value = rank/(J + 1)
    computed over all placebos. `pre_mspe_vs_treated` lets a reader apply ADH's exclusion of
    placebos fitted much worse than the treated unit (e.g. > 5× its pre-period MSPE).
    """
    tp, tq = rmspe(treated_gap, n_pre)
    rows = [{"unit": treated_unit, "treated": True, "pre_rmspe": tp, "post_rmspe": tq}]
    for unit in gaps.columns:
        p, q = rmspe(gaps[unit].to_numpy(), n_pre)
        rows.append({"unit": unit, "treated": False, "pre_rmspe": p, "post_rmspe": q})
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = table["post_rmspe"] / table["pre_rmspe"]
        table["pre_mspe_vs_treated"] = (table["pre_rmspe"] / tp) ** 2
    table["rank"] = table["ratio"].rank(ascending=False, method="max").astype("int64")
    p_value = permutation_p_value(float(table["ratio"].iloc[0]), table["ratio"].iloc[1:].to_numpy())
    return table.sort_values(
        ["rank", "treated"], ascending=[True, False], ignore_index=True
    ), p_value


def in_space_placebo(
    result: SyntheticControlResult, *, max_pre_mspe_ratio: float | None = None
) -> tuple[pd.DataFrame, float]:
    """The in-space placebo table and p-value for a fitted result (re-used if already computed).

    `max_pre_mspe_ratio`: drop placebos whose pre-period MSPE exceeds this multiple of the
    treated unit's before ranking (ADH 2010 use 20, 5 and 2); None keeps all.
    """
    problem = result.problem
    gaps = result.placebo_gaps if result.placebo_gaps is not None else placebo_gaps(problem)
    treated_gap = (result.treated_path - result.synthetic_path).to_numpy()
    table, p = placebo_table(gaps, treated_gap, problem.n_pre, treated_unit=result.treated_unit)
    if max_pre_mspe_ratio is None:
        return table, p
    if not max_pre_mspe_ratio > 0:
        raise OptionError(f"max_pre_mspe_ratio must be positive, got {max_pre_mspe_ratio!r}")
    keep = table["treated"] | (table["pre_mspe_vs_treated"] <= max_pre_mspe_ratio)
    kept = table[keep].copy()
    kept["rank"] = kept["ratio"].rank(ascending=False, method="max").astype("int64")
    tr = kept[kept["treated"]]
    p = permutation_p_value(
        float(tr["ratio"].iloc[0]), kept.loc[~kept["treated"], "ratio"].to_numpy()
    )
    return kept.sort_values("rank", ignore_index=True), p


def in_time_placebo(
    result: SyntheticControlResult,
    *,
    placebo_start: Any,
    special_predictors: Sequence[tuple[str, Any, str]] | None = None,
    pre_period: Sequence[Any] | None = None,
) -> SyntheticControlResult:
    """Re-run the design as if treatment had started at `placebo_start` (before the real start).

    Only periods before the real treatment start are used. Predictors averaged over the default
    window follow the new date; special predictors must be restated with periods before
    `placebo_start` (pass `special_predictors`), otherwise the call fails rather than silently
    dropping them. Returns a result whose gaps should be near zero if the design is credible.
    """
    from attribution.designs.synth.adh import _normalise_specials

    problem = result.problem
    times = problem.times
    real = problem.n_pre
    pre_times = times[:real]
    placebo_start = as_time(placebo_start, times)
    try:
        n_fake = int(np.sum(np.asarray(pre_times < placebo_start)))
    except TypeError as exc:
        raise DesignError(
            f"placebo_start {placebo_start!r} cannot be compared with the periods", columns=[]
        ) from exc
    if n_fake == 0 or n_fake >= real:
        raise DesignError(
            f"placebo_start {placebo_start!r} must fall strictly inside the pre-period "
            f"({times[0]!r} < placebo_start ≤ {times[real - 1]!r}) with a pre-period before it",
            fix=f"choose a date between {times[1]!r} and {times[real - 1]!r}",
        )
    opts = dict(result.provenance.options)
    specials = (
        _normalise_specials(special_predictors)
        if special_predictors is not None
        else _normalise_specials(opts.get("special_predictors") or None)
    )
    predictors = list(opts.get("predictors") or [])
    panel = _truncated_panel(result, real)
    new = build_problem(
        panel,
        treated_unit=result.treated_unit,
        treatment_start=placebo_start,
        predictors=predictors,
        special_predictors=specials,
        pre_period=pre_period,
        optimize_v=problem.optimize_v,
    )
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
    return estimate_problem(
        new,
        alpha=result.alpha,
        placebo=False,
        conformal=False,
        seed=result.provenance.seed,
        provenance=prov,
        outcome=result.outcome,
        treatment_start=placebo_start,
    )


def _truncated_panel(result: SyntheticControlResult, n_keep: int) -> SynthPanel:
    """The result's panel restricted to its first `n_keep` periods (covariates re-attached)."""
    problem = result.problem
    X = {k: v[:, :n_keep] for k, v in problem.covariates.items()}
    n = len(problem.units)
    return SynthPanel(
        Y=problem.Y[:, :n_keep],
        units=problem.units,
        times=problem.times[:n_keep],
        W=None,
        treated=np.zeros(n, dtype=bool),
        adoption=np.full(n, -1, dtype=np.int64),
        X=X,
        outcome=result.outcome,
        unit=str(problem.units.name),
        time=str(problem.times.name),
    )
