"""Panel structure checks shared by the panel designs (DiD, synthetic control).

`check_panel` runs the data contracts' registered ``unique`` and ``balanced_panel`` checks, so a
panel design and the ``surface_panel`` contract judge balance with the same engine query.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np

from attribution.data.checks import require_unique
from attribution.data.contracts.checks import run_check, table_check
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
    balance = run_check(
        table,
        table_check("balanced_panel", {"unit": unit, "time": time}),
        # example units are fetched only when they are reported
        n_examples=None if require_balanced else 0,
    )
    stats = balance.stats
    n_units = stats["n_units"]
    if n_units == 0:
        raise DataError("the panel is empty", columns=[unit, time])
    periods = np.sort(table.select(time).distinct().execute()[time].to_numpy())
    if require_balanced and not balance.passed:
        raise DataError(
            f"unbalanced panel: {balance.n_failing:,} of {n_units:,} units are not observed in all "
            f"{stats['n_periods']} periods of {time!r}",
            columns=[unit, time],
            rows=balance.examples,
            fix="fill or drop those units explicitly, or allow an unbalanced panel where the design supports it",
        )
    return PanelShape(
        n_units=n_units, n_rows=stats["n_rows"], periods=periods, balanced=balance.passed
    )
