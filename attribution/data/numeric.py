"""Numeric range of an outcome, checked in the engine before any estimate (hardening classes 2 and 3).

Double-precision moments fail silently at the edges: integers beyond 2**53 lose their low bits in the
cast to float (an effect of 1 on values near 2**62 becomes 0), squares of values beyond ~1e154
overflow to infinity, and squares of values below ~1e-154 underflow to zero (a zero standard error).
A constant outcome has no variance to estimate. One aggregate finds all of these; each is a typed
error naming the column and the fix.
"""

from __future__ import annotations

import math

import ibis.expr.types as ir

from attribution.data.checks import is_missing
from attribution.errors import DataError, EstimationError

__all__ = [
    "FLOAT_EXACT_INT",
    "MAX_MAGNITUDE",
    "MIN_MAGNITUDE",
    "check_outcome",
    "check_range",
    "range_aggregates",
]

FLOAT_EXACT_INT = 2**53
"""Largest magnitude up to which every integer is exact in a double."""
MAX_MAGNITUDE = 1e150
"""Largest |value| whose squares and cross-products (sums over 1e8 rows) stay finite."""
MIN_MAGNITUDE = 1e-150
"""Smallest nonzero |spread| whose squares stay normal doubles."""


def check_outcome(table: ir.Table, column: str, *, label: str | None = None) -> None:
    """Refuse an outcome a double-precision estimate cannot handle (one engine aggregate).

    `label` is the user's name for the column in messages (default: `column`). A design that
    already scans the outcome can compute `range_aggregates` in that scan and call `check_range`.
    """
    aggs = range_aggregates(table, column)
    if aggs is None:
        return  # the design's type check names a non-numeric outcome
    row = table.aggregate(**aggs).execute().iloc[0]
    check_range(row[LO], row[HI], integer=table[column].type().is_integer(), name=label or column)


LO, HI = "__at_lo", "__at_hi"
"""Names of the range aggregates (reserved internal names)."""


def range_aggregates(table: ir.Table, column: str) -> dict[str, ir.Value] | None:
    """The outcome's smallest and largest finite value as aggregates named `LO` and `HI` (None for a
    non-numeric column). Missing and infinite values are the completeness check's to name."""
    col = table[column]
    typ = col.type()
    if not (typ.is_numeric() or typ.is_boolean()):
        return None
    x = col.cast("float64") if typ.is_boolean() else col
    finite = ~is_missing(x)
    return {LO: x.min(where=finite), HI: x.max(where=finite)}


def check_range(lo: object, hi: object, *, integer: bool, name: str) -> None:
    """The checks on an outcome's finite range (see the module docstring); `name` as the user
    wrote it. No values (NULL / NaN bounds) pass: the completeness check names them."""
    if lo is None or hi is None or _isnan(lo) or _isnan(hi):
        return
    if integer and max(abs(int(lo)), abs(int(hi))) > FLOAT_EXACT_INT:  # type: ignore[call-overload]
        raise DataError(
            f"outcome {name!r} holds integers up to {max(abs(int(lo)), abs(int(hi))):,}, beyond "  # type: ignore[call-overload]
            f"2**53 = {FLOAT_EXACT_INT:,}: their low digits are lost in double precision",
            columns=[name],
            fix="subtract a baseline (e.g. the minimum) or change the unit before estimating",
        )
    lo, hi = float(lo), float(hi)  # type: ignore[arg-type]
    big = max(abs(lo), abs(hi))
    if big > MAX_MAGNITUDE:
        raise EstimationError(
            f"outcome {name!r} reaches {big:.3g}: its squares overflow double precision",
            columns=[name],
            fix="rescale the outcome (e.g. divide by a power of ten) before estimating",
        )
    if lo == hi:
        raise EstimationError(
            f"outcome {name!r} is constant ({_plain(lo)} in every row): there is no variation "
            "to estimate an effect from",
            columns=[name],
            fix="check that the right column is passed as the outcome",
        )
    if hi - lo < MIN_MAGNITUDE:
        raise EstimationError(
            f"outcome {name!r} varies only by {hi - lo:.3g}: its squares underflow double precision",
            columns=[name],
            fix="rescale the outcome (e.g. multiply by a power of ten) before estimating",
        )


def _isnan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _plain(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:.6g}"
