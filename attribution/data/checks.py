"""Engine-side checks designs raise on: missing values, infinities, duplicated keys.

The rules themselves are the data contracts' registered checks (`attribution.data.contracts.checks`):
`duplicated_keys` runs the ``unique`` check and `require_complete` counts through the same
one-aggregate query as the contracts' column rules; this module turns failures into DataError.
Each check is an Ibis expression evaluated where the data live; only counts and a few example rows
come back.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from attribution import config
from attribution.data.contracts.checks import (
    count_rows,
    is_infinite,
    is_missing,
    run_check,
    table_check,
)
from attribution.errors import DataError

__all__ = [
    "count_where",
    "duplicated_keys",
    "examples",
    "is_infinite",
    "is_missing",
    "require_complete",
    "require_unique",
]


def count_where(table: ir.Table, predicate: ir.BooleanValue) -> int:
    return int(table.filter(predicate).count().execute())


def examples(
    table: ir.Table, predicate: ir.BooleanValue, columns: Sequence[str], n: int | None = None
) -> pd.DataFrame:
    """A few rows matching `predicate`, restricted to `columns`."""
    n = n or config.get().example_rows
    return table.filter(predicate).select(*columns).limit(n).execute()


def require_complete(
    table: ir.Table, columns: Sequence[str], *, role: str = "", context: Sequence[str] = ()
) -> None:
    """Raise DataError if any of `columns` holds NULL/NaN/inf, naming the column, count and rows.

    `context` columns (keys, arms) are shown beside the bad values so the rows can be found.
    """
    cols = [c for c in columns if c is not None]
    if not cols:
        return
    _, counts = count_rows(table, {c: is_missing(table[c]) for c in cols})
    bad = [c for c in cols if counts[c] > 0]
    if bad:
        pred = ibis.or_(*[is_missing(table[c]) for c in bad])
        detail = ", ".join(f"{c!r}: {int(counts[c]):,} rows" for c in bad)
        raise DataError(
            f"{role + ': ' if role else ''}missing or non-finite values ({detail})",
            columns=bad,
            rows=examples(table, pred, list(dict.fromkeys([*context, *cols]))),
            fix="drop or impute these rows explicitly before estimating; nothing is dropped silently",
        )


def duplicated_keys(
    table: ir.Table, keys: Sequence[str], n: int | None = None
) -> tuple[int, pd.DataFrame]:
    """Number of key combinations that occur more than once, and a few of them with their counts.

    The contracts' registered ``unique`` check, run on `keys`.
    """
    res = run_check(table, table_check("unique", {"columns": list(keys)}), n_examples=n or None)
    return res.n_failing, res.examples


def require_unique(
    table: ir.Table, keys: Sequence[str], *, what: str, fix: str | None = None
) -> None:
    """Raise DataError if `keys` do not identify rows uniquely."""
    count, sample = duplicated_keys(table, keys)
    if count:
        raise DataError(
            f"{count:,} duplicated {what} ({', '.join(keys)} occur more than once)",
            columns=list(keys),
            rows=sample,
            fix=fix or f"keep one row per ({', '.join(keys)})",
        )
