"""Entry points of the holdout family: `cumulative_impact` (the sum of launch wins, corrected for the
winner's curse and shrunk, beside the holdout) and `holdout_readout` (the holdout per surface and
period).

Thin orchestration: request checks (request.py) → math (winners_curse.py, shrinkage.py,
launch_sums.py) → results (results.py); the readout runs `at.experiment` (its engine moments and
delta-method inference) and keeps its per-period rows (readout.py; stats.py reads the arm values).
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from attribution.data.engine import Data, as_table, fingerprint
from attribution.designs.experiment.api import experiment
from attribution.designs.holdout import launch_sums, readout
from attribution.designs.holdout import request as req
from attribution.designs.holdout import stats as engine_stats
from attribution.designs.holdout.results import (
    OVERALL,
    CumulativeImpactResult,
    HoldoutReadoutResult,
)
from attribution.errors import AttributionWarning, OptionError
from attribution.inference import critical_value
from attribution.metrics import Mean
from attribution.options import ImpactMethod, check_alpha, check_float, check_option, plain
from attribution.results import Provenance, Result

__all__ = ["cumulative_impact", "holdout_readout"]


def cumulative_impact(
    launches: Data | list[Result] | tuple[Result, ...],
    *,
    estimate: str = "estimate",
    std_error: str = "std_error",
    launch: str = "launch",
    shipped: str | None = None,
    surface: str | None = None,
    alpha: float = 0.05,
    threshold: float | None = None,
    holdout: Result | tuple[float, float] | None = None,
    method: ImpactMethod = "winners_curse",
) -> CumulativeImpactResult:
    """What a train of shipped launches added together: the naive sum of their wins, the sum
    corrected for the winner's curse, and a random-effects shrunk sum — beside the holdout.

    Why: a launch ships because its test came out significantly positive, so shipped estimates are
    selected high and their sum overstates the total (the winner's curse); a holdout measures the
    total directly but noisily. Setting the two side by side says whether the launch wins add up.

    Parameters
    ----------
    launches: one row per launch *test*, shipped or not (the correction and the prior need every
        tested launch), as a DataFrame or Ibis table with columns `launch`, `estimate`,
        `std_error` (and optionally `shipped`, `surface`); or a sequence of Results, whose
        headlines are used (each shipped by the selection rule).
    shipped: 0/1 or boolean column marking the launches that shipped. Default: the selection rule
        estimate / std_error > threshold.
    surface: column naming each launch's surface; adds per-surface rows.
    alpha: intervals are (1 − alpha); also sets the default threshold z_{1−alpha/2}.
    threshold: the z-value a launch had to beat to ship (the b of Lee & Shen 2018).
    holdout: what the holdout measured: a Result (its headline; e.g. `holdout_readout`) or an
        (estimate, std_error) pair; its row joins the table and a check says whether it agrees.
        A `holdout_readout` result with `surface=` also adds its last period per surface. The
        two must be in the same units: launch effects as absolute differences of the metric per
        unit and period on their surface, so that they add up to the holdout's overall effect
        (the metric summed over surfaces).
    method: the headline: "winners_curse" (the Lee & Shen plug-in correction) or "shrinkage"
        (the DerSimonian–Laird empirical-Bayes sum).

    Rows (term × surface): "naive" Σ_{shipped} X_i with SE √Σσ_i² (the shipped set held fixed);
    "winners_curse" Σ_{shipped} X_i − Σ_{all} σ_i φ(b − X_i/σ_i) with the parametric-bootstrap SE;
    "shrinkage" Σ_{shipped} E[a_i | X_i] under a normal random-effects prior, with its posterior SE
    (see `winners_curse` and `shrinkage` modules for formulas and references); "holdout".
    """
    alpha = check_alpha(alpha)
    for name, value in (("estimate", estimate), ("std_error", std_error), ("launch", launch)):
        req.check_column(name, value)
    req.check_column("shipped", shipped, optional=True)
    req.check_column("surface", surface, optional=True)
    req.check_columns_distinct(
        estimate=estimate, std_error=std_error, launch=launch, shipped=shipped, surface=surface
    )
    b = critical_value(alpha) if threshold is None else check_float("threshold", threshold)
    method = check_option("method", method, ImpactMethod)
    held = req.holdout_number(holdout)
    frame = req.launch_frame(
        launches,
        estimate=estimate,
        std_error=std_error,
        launch=launch,
        shipped=shipped,
        surface=surface,
    )

    sums = launch_sums.launch_sums(frame, threshold=b, shipped_given=shipped is not None)
    rows = list(sums.rows)
    if held is not None:
        rows.append(("holdout", OVERALL, held[0], held[1] ** 2, 0))
    if isinstance(holdout, HoldoutReadoutResult) and surface is not None:
        rows += launch_sums.holdout_by_surface(holdout.table, sums.names)
    table = launch_sums.impact_table(rows, sums.n_shipped, alpha=alpha)
    per_launch = sums.per_launch if surface is not None else sums.per_launch.drop(columns="surface")
    checks = launch_sums.impact_checks(table, sums, method=method, alpha=alpha, threshold=b)
    options: dict[str, Any] = {
        "estimate": estimate,
        "std_error": std_error,
        "launch": launch,
        "shipped": shipped,
        "surface": surface,
        "threshold": b,
        "method": method,
        "holdout": None if held is None else list(held),
    }
    data = None
    if isinstance(launches, pd.DataFrame) or hasattr(launches, "schema"):
        data = fingerprint(as_table(launches), n_rows=len(frame))
    return CumulativeImpactResult(
        design="cumulative_impact",
        table=table,
        alpha=alpha,
        provenance=Provenance(design="cumulative_impact", data=data, options=options),
        checks=checks,
        method=method,
        threshold=b,
        launches=per_launch,
        prior=sums.prior,
    )


def holdout_readout(
    data: Data,
    *,
    arm: str,
    unit: str,
    metric: str,
    surface: str,
    time: str,
    holdout: str = "holdout",
    covariate: str | None = None,
    holdout_share: float | None = None,
    alpha: float = 0.05,
) -> HoldoutReadoutResult:
    """The holdout's readout: treatment − holdout mean `metric` per unit, per surface and overall
    (summed over surfaces), per period `time`, so the build-up of the launches is visible.

    Why: a global holdout (units kept on the old models on every surface) measures what all
    shipped launches together added; per period the effect should grow as launches ship.

    Built on `at.experiment` (one `Mean(metric, covariate=covariate)`, the holdout as control,
    `surface=` and `time=`): its moments are computed in the engine and nothing unit-level comes
    back; this function keeps the per-period rows (surface × period, and period alone as the
    "overall" surface) and names them ``effect(surface=<s>,t=<time>)`` / ``effect(t=<time>)``.

    data: one row per unit × surface × period (several rows of a unit in a cell are summed).
    arm: column naming each unit's arm; the value `holdout` (matched as text) marks the holdout,
        the one other value the treated population.
    unit: the randomisation unit (checked to sit in one arm). metric: the numeric outcome.
    surface, time: the surface and period columns.
    covariate: a pre-period column for CUPED (as in `at.experiment`: averaged over the unit's rows
        in a cell).
    holdout_share: the planned share of units in the holdout, for the sample-ratio-mismatch
        check (without it the check is left out: an equal split is not a holdout's plan).
    alpha: intervals are (1 − alpha), pointwise per row (no multiplicity correction).
    """
    alpha = check_alpha(alpha)
    for name, value in (
        ("arm", arm),
        ("unit", unit),
        ("metric", metric),
        ("surface", surface),
        ("time", time),
    ):
        req.check_column(name, value)
    req.check_column("covariate", covariate, optional=True)
    req.check_columns_distinct(
        arm=arm, unit=unit, metric=metric, surface=surface, time=time, covariate=covariate
    )
    if not isinstance(holdout, str) or not holdout:
        raise OptionError(
            f"holdout={plain(holdout)} must be the value of {arm!r} that marks the holdout",
            fix="e.g. holdout='holdout'",
        )
    share = (
        None
        if holdout_share is None
        else check_float(
            "holdout_share", holdout_share, low=0.0, high=1.0, low_open=True, high_open=True
        )
    )
    table = as_table(data)
    held, treated = readout.holdout_arms(
        engine_stats.arm_values(table, arm), arm=arm, holdout=holdout
    )
    surfaces = engine_stats.surface_values(table, surface)
    allocation = None if share is None else {held: share, treated: 1.0 - share}
    with warnings.catch_warnings():
        if allocation is None:  # the default equal split is not a holdout's plan
            warnings.filterwarnings(
                "ignore", message="sample-ratio mismatch", category=AttributionWarning
            )
        res = experiment(
            table,
            arm=arm,
            unit=unit,
            metrics=[Mean(metric, covariate=covariate)],
            control=held,
            surface=surface,
            time=time,
            correction="none",
            alpha=alpha,
            allocation=allocation,
        )
    tidy = res.tidy()
    checks = tuple(c for c in res.checks if allocation is not None or c.name != "SRM")
    if allocation is None:
        checks = (readout.arms_check(tidy, holdout=held, treated=treated), *checks)
    return HoldoutReadoutResult(
        design="holdout_readout",
        table=readout.readout_table(tidy, metric=metric, surfaces=surfaces),
        alpha=alpha,
        provenance=Provenance(
            design="holdout_readout",
            data=res.provenance.data,
            options={
                "arm": arm,
                "unit": unit,
                "metric": metric,
                "surface": surface,
                "time": time,
                "holdout": holdout,
                "covariate": covariate,
                "holdout_share": share,
            },
        ),
        checks=checks,
        metric=metric,
        surfaces=tuple(surfaces),
        n_units=readout.units(tidy),
        covariate=covariate,
    )
