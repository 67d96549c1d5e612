"""Refuters: re-run an estimator on deliberately modified data and say whether the estimate behaves as
a valid design's must (Sharma & Kiciman's dowhy refuters, with bounded simulation counts).

The estimator protocol is `Estimator`: a callable ``(data, confounders) -> Result`` whose tidy table
has a row with ``term`` equal to the treatment column (at.dml and graph.backdoor_regression do), e.g.
``lambda d, w: at.dml(d, outcome="y", treatments=["t"], confounders=w)``. The refuters pass the
confounders so that the random-common-cause refuter can add one.

- placebo treatment: the treatment permuted across rows has no effect; the mean placebo estimate must
  be zero within its own spread (the estimate's rank among the placebos is reported too);
- random common cause: an independent random column added to the confounders must not move the
  estimate (by more than the normal critical value times the estimate's standard error);
- data subset: given the data, estimates on random subsets of a fraction f scatter around the
  full-data estimate; a t-test on their own spread says whether their mean agrees with it (valid for
  estimators with random folds too);
- unobserved confounder: a simulated hidden confounder U, with partial correlation `strength` with the
  treatment and with the outcome given the observed confounders, in the direction that works against
  the estimate, is planted in both; the check passes when the estimate's conclusion (significant with
  its sign, or not significant) survives every replicate. The strongest observed confounder's partial
  correlations are reported as a benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from attribution.errors import DesignError
from attribution.graph.ols import covariate_columns, residualise
from attribution.results import Check, Result

__all__ = [
    "Estimator",
    "data_subset",
    "estimate_of",
    "placebo_treatment",
    "random_common_cause",
    "unobserved_confounder",
]

Estimator = Callable[[pd.DataFrame, Sequence[str]], Result]


def estimate_of(
    result: Any, treatment: str
) -> tuple[float, float | None, float | None, float | None]:
    """(estimate, std_error, conf_low, conf_high) of `treatment`'s row, else of the headline."""
    if not isinstance(result, Result):
        raise DesignError(
            f"the estimator returned {type(result).__name__}, not an attribution Result",
            fix="pass a callable (data, confounders) -> Result, e.g. "
            "lambda d, w: at.dml(d, outcome=..., treatments=[...], confounders=w)",
        )
    tab = result.tidy()
    rows = tab.loc[tab["term"] == treatment]
    if len(rows):
        r = rows.iloc[0]
        vals = [r["estimate"], r["std_error"], r["conf_low"], r["conf_high"]]
    else:
        h = result.headline
        vals = [h.estimate, h.std_error, h.conf_low, h.conf_high]
    out = [float(vals[0])] + [
        None if v is None or not math.isfinite(float(v)) else float(v) for v in vals[1:]
    ]
    return out[0], out[1], out[2], out[3]


def _fresh_name(columns: Sequence[str], base: str) -> str:
    name, i = base, 0
    while name in columns:
        i += 1
        name = f"{base}_{i}"
    return name


def placebo_treatment(
    data: pd.DataFrame,
    estimator: Estimator,
    *,
    treatment: str,
    confounders: Sequence[str],
    estimate: float,
    n_reps: int,
    rng: np.random.Generator,
    alpha: float,
) -> Check:
    draws = []
    for _ in range(n_reps):
        d = data.copy()
        d[treatment] = rng.permutation(d[treatment].to_numpy())
        draws.append(estimate_of(estimator(d, list(confounders)), treatment)[0])
    p = np.asarray(draws)
    mean, sd = float(p.mean()), float(p.std(ddof=1))
    t = mean / (sd / math.sqrt(n_reps)) if sd > 0 else (0.0 if mean == 0 else math.inf)
    pval = float(2 * stats.t.sf(abs(t), n_reps - 1)) if math.isfinite(t) else 0.0
    rank_p = (1 + int((np.abs(p) >= abs(estimate)).sum())) / (n_reps + 1)
    passed = pval >= alpha
    return Check(
        name="refuter: placebo treatment",
        passed=passed,
        detail=(
            f"with {treatment} permuted across rows ({n_reps} times) the estimate averages "
            f"{mean:.4g} (SD {sd:.4g}), "
            + (
                "consistent with no effect"
                if passed
                else "NOT zero: the estimator finds an effect of a treatment that has none"
            )
            + f"; {int((np.abs(p) >= abs(estimate)).sum())} of the {n_reps} placebo estimates are at "
            f"least as large in magnitude as the actual {estimate:.4g} (permutation p = {rank_p:.3g})"
        ),
        statistic=mean,
        p_value=pval,
    )


def random_common_cause(
    data: pd.DataFrame,
    estimator: Estimator,
    *,
    treatment: str,
    confounders: Sequence[str],
    estimate: float,
    std_error: float | None,
    n_reps: int,
    rng: np.random.Generator,
    alpha: float,
) -> Check:
    name = _fresh_name(list(data.columns), "random_common_cause")
    draws = []
    for _ in range(n_reps):
        d = data.copy()
        d[name] = rng.standard_normal(len(d))
        draws.append(estimate_of(estimator(d, [*confounders, name]), treatment)[0])
    shift = float(np.mean(draws)) - estimate
    crit = float(stats.norm.ppf(1 - alpha / 2))
    if std_error is None:
        return Check(
            "refuter: random common cause",
            None,
            f"the estimate moved by {shift:.4g} on average; no standard error to judge it by",
            statistic=shift,
        )
    z = shift / std_error
    passed = abs(z) < crit
    return Check(
        name="refuter: random common cause",
        passed=passed,
        detail=(
            f"adding an independent random confounder ({n_reps} times) moved the estimate by "
            f"{shift:.4g} on average ({z:.2f} standard errors): "
            + ("stable" if passed else "the estimate is sensitive to an irrelevant covariate")
        ),
        statistic=z,
        p_value=float(2 * stats.norm.sf(abs(z))),
    )


def data_subset(
    data: pd.DataFrame,
    estimator: Estimator,
    *,
    treatment: str,
    confounders: Sequence[str],
    estimate: float,
    n_reps: int,
    fraction: float,
    rng: np.random.Generator,
    alpha: float,
) -> Check:
    """Given the data, subset estimates are iid around the full-data estimate (up to O(1/n)), so a
    t-test on their own spread is valid for any estimator, including ones with random folds."""
    n = len(data)
    k = round(fraction * n)
    draws = []
    for _ in range(n_reps):
        idx = np.sort(rng.choice(n, size=k, replace=False))
        sub = data.iloc[idx].reset_index(drop=True)
        draws.append(estimate_of(estimator(sub, list(confounders)), treatment)[0])
    p = np.asarray(draws)
    shift = float(p.mean()) - estimate
    sd = float(p.std(ddof=1))
    if sd > 0:
        t = shift / (sd / math.sqrt(n_reps))
        pval = float(2 * stats.t.sf(abs(t), n_reps - 1))
    else:
        t, pval = 0.0, 1.0 if shift == 0 else 0.0
    passed = pval >= alpha
    return Check(
        name="refuter: data subset",
        passed=passed,
        detail=(
            f"estimates on {n_reps} random {fraction:.0%} subsets average {p.mean():.4g} "
            f"(SD {sd:.4g}) against {estimate:.4g} on all rows: "
            + ("consistent" if passed else "they disagree more than their spread explains")
        ),
        statistic=t,
        df=n_reps - 1,
        p_value=pval,
    )


def strongest_confounder(
    data: pd.DataFrame, *, treatment: str, outcome: str, confounders: Sequence[str]
) -> tuple[str | None, float]:
    """The observed confounder with the largest min(partial corr with treatment, with outcome),
    each partial on the other confounders (categorical ones by their dummies' best combination)."""
    best, value = None, 0.0
    ty = data[[treatment, outcome]].to_numpy(float)
    for c in confounders:
        others = [o for o in confounders if o != c]
        res_ty = residualise(ty, data, others)
        cols, _, _ = covariate_columns(data[c], c)
        xc = residualise(np.column_stack(cols), data, others)
        strengths = []
        for j in range(2):  # multiple correlation of the confounder's columns with T, then Y
            v = res_ty[:, j]
            coef, *_ = np.linalg.lstsq(xc, v, rcond=None)
            fit = xc @ coef
            denom = np.sqrt((fit**2).sum() * (v**2).sum())
            strengths.append(float(abs(fit @ v) / denom) if denom > 0 else 0.0)
        s = min(strengths)
        if np.isfinite(s) and s > value:
            best, value = c, s
    return best, value


def unobserved_confounder(
    data: pd.DataFrame,
    estimator: Estimator,
    *,
    treatment: str,
    outcome: str,
    confounders: Sequence[str],
    estimate: float,
    conf_low: float | None,
    conf_high: float | None,
    strength: float,
    n_reps: int,
    rng: np.random.Generator,
) -> Check:
    """Plant a hidden U correlated `strength` with the treatment and −sign(estimate)·`strength`
    with the outcome (the direction that works against the estimate) and re-estimate without it."""
    bench, bench_value = strongest_confounder(
        data, treatment=treatment, outcome=outcome, confounders=confounders
    )
    t = data[treatment].to_numpy(float)
    y = data[outcome].to_numpy(float)
    binary = set(np.unique(t)) <= {0.0, 1.0}
    resid = residualise(np.column_stack([t, y]), data, list(confounders))
    sd_t, sd_y = resid.std(axis=0)  # U's strength is a partial correlation given the confounders
    lean = strength / math.sqrt(1 - strength**2)
    against = -1.0 if estimate > 0 else 1.0
    significant = conf_low is not None and conf_high is not None and (conf_low > 0 or conf_high < 0)
    draws, kept = [], []
    for _ in range(n_reps):
        u = rng.standard_normal(len(t))
        d = data.copy()
        if binary:  # flip treatment towards U with probability rising in |U|
            flip = rng.random(len(t)) < np.clip(strength * np.abs(u), 0, 1)
            d[treatment] = np.where(flip, (u > 0).astype(float), t).astype(data[treatment].dtype)
        else:
            d[treatment] = t + lean * sd_t * u
        d[outcome] = y + against * lean * sd_y * u
        est, _, lo, hi = estimate_of(estimator(d, list(confounders)), treatment)
        draws.append(est)
        sig = lo is not None and hi is not None and (lo > 0 or hi < 0)
        kept.append(sig == significant and (not significant or np.sign(est) == np.sign(estimate)))
    p = np.asarray(draws)
    passed = all(kept)
    conclusion = (
        f"{'positive' if estimate > 0 else 'negative'} and significant"
        if significant
        else "not significant"
    )
    bench_text = (
        f" (for comparison, the strongest observed confounder, {bench}, has partial correlation "
        f"{bench_value:.2g} with both)"
        if bench is not None
        else ""
    )
    return Check(
        name="refuter: unobserved confounder",
        passed=passed,
        detail=(
            f"a simulated hidden confounder with partial correlation {strength:.2g} with the "
            f"treatment and the outcome given the confounders{bench_text}, pushing against the estimate, moves it from "
            f"{estimate:.4g} to {p.mean():.4g} on average ({n_reps} replicates); "
            + (
                f"the conclusion ({conclusion}) survives"
                if passed
                else f"the conclusion ({conclusion}) changes in {n_reps - sum(kept)} of {n_reps} "
                "replicates"
            )
        ),
        statistic=float(p.mean() - estimate),
    )
