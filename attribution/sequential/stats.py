"""Engine aggregates of sequential monitoring: per-look, per-arm cumulative moments of a unit mean.

Interim implementation for a `Mean` (or `Proportion`) metric until the experiment family's
`designs/experiment/stats.cumulative_moments` is merged; `monitor` reads only the columns documented
in `cumulative_moments` below, so switching is a change of this one call.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from attribution.data.engine import accurate_sum
from attribution.data.roles import internal

__all__ = ["LOOK", "SUM", "SUM_SQ", "N", "cumulative_moments", "mixed_units"]

LOOK, N, SUM, SUM_SQ = internal("look"), internal("n"), internal("sum"), internal("sum_sq")


def cumulative_moments(
    table: ir.Table, *, arm: str, unit: str, value: str, time: str
) -> pd.DataFrame:
    """Per look (each distinct time value) and arm: units seen so far and the sums of their
    cumulative values, in one engine query.

    A unit's value at look d is the sum of its rows with time ≤ d (a unit counts from its first
    row on). Columns: `arm`, `LOOK` (the time value), `N` (units), `SUM` and `SUM_SQ` (Σ and Σ² of
    the per-unit cumulative values, compensated sums where the engine has them). Nothing unit-level
    leaves the engine.
    """
    per_day = table.group_by([arm, unit, time]).aggregate(
        **{internal("v"): accurate_sum(table, table[value])}
    )
    looks = per_day.select(**{LOOK: per_day[time]}).distinct()
    joined = looks.join(per_day, per_day[time] <= looks[LOOK])
    per_unit = joined.group_by([LOOK, arm, unit]).aggregate(
        **{internal("y"): accurate_sum(joined, joined[internal("v")])}
    )
    y = per_unit[internal("y")]
    out = per_unit.group_by([LOOK, arm]).aggregate(
        **{
            N: per_unit.count(),
            SUM: accurate_sum(per_unit, y),
            SUM_SQ: accurate_sum(per_unit, y * y),
        }
    )
    return out.order_by([LOOK, arm]).execute()


def mixed_units(table: ir.Table, *, arm: str, unit: str) -> tuple[int, pd.DataFrame]:
    """Units that appear in more than one arm: their number and a few examples."""
    per_unit = table.group_by(unit).aggregate(**{internal("arms"): table[arm].nunique()})
    bad = per_unit.filter(per_unit[internal("arms")] > 1)
    n = int(bad.count().execute())
    examples = bad.select(unit).limit(5).execute() if n else pd.DataFrame()
    return n, examples
