"""Engine aggregates of sequential monitoring: per-look, per-arm moments of a metric.

Each look's moments are the experiment family's `designs.experiment.stats.unit_moments` over the
rows with time ≤ look (what its `cumulative_moments` does), so `monitor` estimates a metric exactly
as `at.experiment` does: means, proportions, ratios (delta method) and CUPED, from per-arm sums
computed in the engine. The look is kept in the reserved column `LOOK` (the one
`cumulative_moments` uses), which no user column can meet.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
import pandas as pd

from attribution.data.roles import internal
from attribution.designs.experiment.stats import LOOK, unit_moments
from attribution.metrics import Metric

__all__ = ["LOOK", "look_moments", "looks", "mixed_units"]


def looks(table: ir.Table, *, time: str) -> list[Any]:
    """The distinct time values, in order: one look each."""
    return sorted(table.select(time).distinct().execute()[time].tolist())


def look_moments(
    table: ir.Table, *, arm: str, unit: str, metric: Metric, time: str, at: list[Any]
) -> pd.DataFrame:
    """`unit_moments` of `metric` per look in `at` (rows with time ≤ look), with the look in
    `LOOK`; CUPED slopes are pooled over the arms of one look (``attrs["by"]``)."""
    parts = []
    for look in at:
        sub = table.filter(table[time] <= look)
        part = unit_moments(sub, arm=arm, unit=unit, metrics=[metric])
        parts.append(part.assign(**{LOOK: look}))
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(parts[0].attrs)
    out.attrs["by"] = (LOOK,)
    return out


def mixed_units(table: ir.Table, *, arm: str, unit: str) -> tuple[int, pd.DataFrame]:
    """Units that appear in more than one arm: their number and a few examples."""
    per_unit = table.group_by(unit).aggregate(**{internal("arms"): table[arm].nunique()})
    bad = per_unit.filter(per_unit[internal("arms")] > 1)
    n = int(bad.count().execute())
    examples = bad.select(unit).limit(5).execute() if n else pd.DataFrame()
    return n, examples
