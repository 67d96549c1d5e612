"""Engine queries of the holdout readout beyond what `at.experiment` computes: the arm and surface
values (small DISTINCT queries)."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from attribution.data.engine import require_columns

__all__ = ["arm_values", "distinct_values", "surface_values"]

_MAX_ARMS = 50
_MAX_SURFACES = 10_000


def distinct_values(table: ir.Table, column: str, *, limit: int) -> list[Any]:
    """The distinct non-missing values of `column` (one DISTINCT query, at most `limit` read)."""
    require_columns(table, {column: "key"}, role="holdout_readout")
    values = table.select(column).distinct().limit(limit).execute()[column]
    return [v for v in values.tolist() if v is not None and v == v]


def arm_values(table: ir.Table, arm: str) -> list[Any]:
    """The distinct values of `arm` (at most 50 are read: a readout compares two)."""
    return distinct_values(table, arm, limit=_MAX_ARMS)


def surface_values(table: ir.Table, surface: str) -> list[str]:
    """The surfaces, as text."""
    return sorted(str(v) for v in distinct_values(table, surface, limit=_MAX_SURFACES))
