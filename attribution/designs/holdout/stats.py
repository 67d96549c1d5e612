"""Engine aggregates of the holdout readout: per arm × surface × period moments of the per-unit
metric, in one grouped aggregate, plus the assignment checks.

Until `at.experiment` (exp-core, issue 11) lands, the readout computes its own moments here; the
function is self-contained so the readout can switch to `experiment.stats.unit_moments` later.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from attribution.data.checks import require_complete
from attribution.data.engine import accurate_sum, require_columns
from attribution.data.numeric import check_outcome
from attribution.data.roles import internal, select_roles
from attribution.designs.holdout.results import OVERALL
from attribution.errors import DataError, DesignError
from attribution.options import plain
from attribution.results import Check

__all__ = ["ReadoutMoments", "readout_moments"]

SURFACE = internal("surface")
N, SUM, SUM_SQ = internal("n"), internal("sum"), internal("sum_sq")
SUM_X, SUM_XX, SUM_XY = internal("sum_x"), internal("sum_xx"), internal("sum_xy")
IS_HOLDOUT, _VALUE = internal("is_holdout"), internal("value")
_COV = internal("covariate_value")
_ALL = internal("all_surfaces")


_PLAIN = {
    IS_HOLDOUT: "is_holdout",
    SURFACE: "surface",
    N: "n",
    SUM: "sum",
    SUM_SQ: "sum_sq",
    SUM_X: "sum_x",
    SUM_XX: "sum_xx",
    SUM_XY: "sum_xy",
}
"""The documented names of the moments handed to the math (readout.py)."""


@dataclass(frozen=True)
class ReadoutMoments:
    """`moments`: one row per (is_holdout, surface, time) with n (units), sum, sum_sq of the
    per-unit metric and, with a covariate, sum_x, sum_xx, sum_xy (surface OVERALL = summed over
    surfaces); plus what provenance and checks need."""

    moments: pd.DataFrame
    surfaces: tuple[str, ...]
    n_units: int
    n_rows: int
    arm_units: tuple[int, int]
    """Units in the holdout and in the treated arm."""
    checks: tuple[Check, ...]


def readout_moments(
    table: ir.Table,
    *,
    arm: str,
    unit: str,
    metric: str,
    surface: str,
    time: str,
    holdout: str,
    covariate: str | None = None,
) -> ReadoutMoments:
    """Per (holdout?, surface, time): units n, Σ y and Σ y² of the per-unit sum of `metric` (one
    grouped aggregate over the per-unit sums, with `accurate_sum`); the sum over surfaces enters as
    one more surface, so the overall row carries the correlation of a unit's surfaces. With a
    `covariate`, also Σx, Σx², Σxy of its per-unit sum (for CUPED)."""
    spec = {arm: "key", unit: "key", metric: "numeric", surface: "key", time: "key"}
    if covariate is not None:
        spec[covariate] = "numeric"
    require_columns(table, spec, role="holdout_readout")
    roles = select_roles(
        table,
        {
            "arm": arm,
            "unit": unit,
            "metric": metric,
            "surface": surface,
            "time": time,
            "covariate": covariate,
        },
    )
    with roles.user_names():
        t = roles.table
        c_arm, c_unit, c_y = roles["arm"], roles["unit"], roles["metric"]
        c_s, c_t = roles["surface"], roles["time"]
        c_x = roles.names["covariate"]
        require_complete(t, [c_y, c_arm, c_unit, c_s, c_t, c_x], role="holdout_readout")
        check_outcome(t, c_y, label=metric)
        if c_x is not None:
            check_outcome(t, c_x, label=covariate)
        arms = t.group_by(c_arm).aggregate(**{N: t[c_unit].nunique()}).execute()
        values = arms[c_arm].astype(str).tolist()
        if str(holdout) not in values:
            raise DesignError(
                f"no row has {arm} == {holdout!r}; the arms found are {values[:10]}",
                columns=[arm],
                fix="pass holdout= the value that marks the holdout",
            )
        if len(values) != 2:
            raise DesignError(
                f"{arm!r} has {len(values)} value(s) {values[:10]}; the readout compares the "
                f"holdout {holdout!r} with one treated arm",
                columns=[arm],
                fix="filter the table to the holdout and the treated population",
            )
        per_unit_arms = t.group_by(c_unit).aggregate(k=t[c_arm].nunique())
        mixed = int(per_unit_arms.filter(per_unit_arms.k > 1).count().execute())
        if mixed:
            raise DesignError(
                f"{mixed:,} unit(s) of {unit!r} appear in more than one arm of {arm!r}",
                columns=[unit, arm],
                fix="a held-out unit must stay held out: fix the assignment log or the join",
            )
        surfaces = tuple(
            str(s) for s in t.select(c_s).distinct().execute()[c_s].sort_values().tolist()
        )
        if OVERALL in surfaces:
            raise DataError(
                f"{surface!r} has a surface named {OVERALL!r}, the label of the all-surface rows",
                columns=[surface],
                fix="rename that surface before calling",
            )
        base = t.mutate(
            **{
                IS_HOLDOUT: t[c_arm].cast("string") == str(holdout),
                SURFACE: t[c_s].cast("string"),
                _VALUE: t[c_y].cast("float64"),
                _COV: (t[c_x] if c_x is not None else t[c_y]).cast("float64"),
            }
        )
        by_surface = base.group_by([IS_HOLDOUT, c_t, c_unit, SURFACE]).aggregate(
            **{_VALUE: base[_VALUE].sum(), _COV: base[_COV].sum()}
        )
        overall = base.group_by([IS_HOLDOUT, c_t, c_unit]).aggregate(
            **{SURFACE: ibis.literal(_ALL), _VALUE: base[_VALUE].sum(), _COV: base[_COV].sum()}
        )
        units = by_surface.union(overall.select(by_surface.columns))
        y, x = units[_VALUE], units[_COV]
        aggs = {N: units.count(), SUM: accurate_sum(units, y), SUM_SQ: accurate_sum(units, y * y)}
        if c_x is not None:
            aggs[SUM_X] = accurate_sum(units, x)
            aggs[SUM_XX] = accurate_sum(units, x * x)
            aggs[SUM_XY] = accurate_sum(units, x * y)
        moments = units.group_by([IS_HOLDOUT, SURFACE, c_t]).aggregate(**aggs).execute()
        n_rows = int(t.count().execute())
    moments = moments.rename(columns={c_t: "time", **_PLAIN})
    moments["surface"] = moments["surface"].replace({_ALL: OVERALL})
    counts = dict(zip(arms[c_arm].astype(str), arms[N].astype(int), strict=True))
    treated = next(v for v in values if v != str(holdout))
    check = Check(
        "arms",
        None,
        f"{counts[str(holdout)]:,} units in the holdout ({plain(holdout)}) and "
        f"{counts[treated]:,} in the treated arm ({treated})",
    )
    return ReadoutMoments(
        moments=moments,
        surfaces=surfaces,
        n_units=int(sum(counts.values())),
        n_rows=n_rows,
        arm_units=(counts[str(holdout)], counts[treated]),
        checks=(check,),
    )
