"""Placebo inference for the ADH synthetic control: in-space and in-time placebos.

In-space (Abadie, Diamond & Hainmueller 2010, Section 3; 2015, Section 4): every donor in turn is
treated as if it had been treated, with the remaining donors as its pool and V re-fitted; the
treated unit's post/pre RMSPE ratio is ranked among all of them, and the permutation p-value is
rank / (J + 1). In-time (ADH 2015, Section 5): the same specification with a fake treatment date
inside the pre-period, using only the data before the real treatment; a credible design shows no
"effect" there. The entry points (`in_space_placebo`, `in_time_placebo`) are in `api`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.synth.adh import fit_arrays, rmspe
from attribution.designs.synth.problem import SCProblem
from attribution.errors import DesignError, OptionError

__all__ = ["exclude_poor_fits", "permutation_p_value", "placebo_gaps", "placebo_table"]


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


def exclude_poor_fits(table: pd.DataFrame, max_pre_mspe_ratio: float) -> tuple[pd.DataFrame, float]:
    """The placebo table without placebos whose pre-period MSPE exceeds `max_pre_mspe_ratio` × the
    treated unit's (ADH 2010 use 20, 5 and 2), re-ranked, with the treated unit's p-value."""
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
