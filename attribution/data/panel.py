"""Panel structure checks shared by the panel designs (DiD, synthetic control)."""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np

from attribution import config
from attribution.data.checks import require_unique
from attribution.errors import DataError

__all__ = ["PanelShape", "check_panel"]


@dataclass(frozen=True)
class PanelShape:
    n_units: int
    n_rows: int
    periods: np.ndarray  # sorted distinct time values
    balanced: bool


def check_panel(
    table: ir.Table, *, unit: str, time: str, require_balanced: bool = True
) -> PanelShape:
    """One row per (unit, time); with `require_balanced`, every unit observed in every period.

    Raises DataError naming duplicated (unit, time) pairs or units with gaps.
    """
    require_unique(
        table, [unit, time], what="(unit, time) rows", fix=f"keep one row per {unit} and {time}"
    )
    periods = np.sort(table.select(time).distinct().execute()[time].to_numpy())
    per_unit = table.group_by(unit).aggregate(n_periods=table.count())
    sizes = per_unit.aggregate(n_units=per_unit.count(), n_rows=per_unit.n_periods.sum())
    counts = sizes.execute().iloc[0]  # one engine job for both counts
    n_units = int(counts["n_units"])
    if n_units == 0:
        raise DataError("the panel is empty", columns=[unit, time])
    n_rows = int(counts["n_rows"])
    balanced = n_rows == n_units * len(periods)
    if require_balanced and not balanced:
        short = per_unit.filter(per_unit.n_periods < len(periods))
        n_short = int(short.count().execute())
        sample = short.order_by(short.n_periods).limit(config.get().example_rows).execute()
        raise DataError(
            f"unbalanced panel: {n_short:,} of {n_units:,} units are not observed in all "
            f"{len(periods)} periods of {time!r}",
            columns=[unit, time],
            rows=sample,
            fix="fill or drop those units explicitly, or allow an unbalanced panel where the design supports it",
        )
    return PanelShape(n_units=n_units, n_rows=n_rows, periods=periods, balanced=balanced)
