"""What `dml` takes from the engine: completeness and variation checks as aggregates, then one pull
of exactly the role columns (through `engine.fetch`, which refuses more than `max_pull_rows`).

Nuisance models need unit-level rows, so this is a design that really pulls; nothing else leaves the
engine and no row is ever dropped silently (missing values are a DataError naming the column).
"""

from __future__ import annotations

import dataclasses

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution.data.checks import require_complete
from attribution.data.engine import fetch
from attribution.data.roles import Roles, internal
from attribution.errors import DataError, DesignError

__all__ = ["Pulled", "pull"]


@dataclasses.dataclass(frozen=True)
class Pulled:
    y: np.ndarray
    t: np.ndarray  # (n, p) float, or (n,) raw values for a discrete treatment
    w: np.ndarray  # confounders, categorical ones one-hot encoded (float64, or float32 on request)
    x: np.ndarray | None  # effect modifiers, encoded the same way
    x_frame: pd.DataFrame | None  # the modifiers as pulled (user-facing levels)
    clusters: np.ndarray | None
    encoded: tuple[str, ...]  # user names of categorical columns that were one-hot encoded


def _is_categorical(typ: object) -> bool:
    return typ.is_string() or typ.is_boolean()  # type: ignore[attr-defined]


def pull(
    roles: Roles,
    *,
    treatments: tuple[str, ...],
    discrete: bool,
    float32: bool = False,
) -> Pulled:
    """The role columns as arrays; `float32=True` holds the confounder matrix (the widest array) in
    float32, half the memory, for learners that bin their features anyway."""
    table = roles.table
    c_y, c_t = roles["outcome"], roles.many("treatments")
    c_w, c_x = roles.many("confounders"), roles.many("effect_modifiers")
    c_cl = roles.names["cluster"]
    cols = [c_y, *c_t, *c_w, *c_x, *([c_cl] if c_cl else [])]
    schema = table.schema()
    for c in (*c_w, *c_x):
        typ = schema[c]
        if not (typ.is_numeric() or typ.is_string() or typ.is_boolean()):
            raise DataError(
                f"column {c!r} is {typ}: confounders and effect modifiers must be numeric, "
                "boolean or string (categorical)",
                columns=[c],
                fix="cast it to a number, or to a string to treat it as categories",
            )
    require_complete(table, cols, role="dml")  # no silent row drops
    _check_variation(table, c_t, c_cl)
    frame = fetch(table.select(*cols), what="dml nuisance models")
    if frame.empty:
        raise DataError("the table is empty", columns=cols, fix="pass a table with rows")
    encoded: list[str] = []
    w = _encode(frame[list(c_w)], schema, encoded, np.float32 if float32 else np.float64)
    x = _encode(frame[list(c_x)], schema, encoded) if c_x else None
    t = frame[list(c_t)]
    t_arr = t.iloc[:, 0].to_numpy() if discrete else t.to_numpy(dtype=float)
    return Pulled(
        y=frame[c_y].to_numpy(dtype=float),
        t=t_arr,
        w=w,
        x=x,
        x_frame=frame[list(c_x)].copy() if c_x else None,
        clusters=None if c_cl is None else frame[c_cl].to_numpy(),
        encoded=tuple(roles.user[c] for c in dict.fromkeys(encoded)),
    )


def _encode(
    frame: pd.DataFrame, schema: object, encoded: list[str], dtype: type = np.float64
) -> np.ndarray:
    """Numeric columns as floats; categorical ones as indicators of every level but the first.

    Filled column by column into one preallocated matrix (no stacking of per-column copies, which
    would hold the matrix twice)."""
    levels: dict[str, np.ndarray] = {}
    width = 0
    for c in frame.columns:
        if _is_categorical(schema[c]):  # type: ignore[index]
            levels[c] = np.unique(frame[c].astype(str))
            width += len(levels[c]) - 1
            encoded.append(c)
        else:
            width += 1
    out = np.empty((len(frame), width), dtype=dtype)
    j = 0
    for c in frame.columns:
        if c in levels:
            vals = frame[c].astype(str).to_numpy()
            for lev in levels[c][1:]:
                out[:, j] = vals == lev
                j += 1
        else:
            out[:, j] = frame[c].to_numpy(dtype=dtype)
            j += 1
    return out


def _check_variation(table: ir.Table, c_t: tuple[str, ...], c_cl: str | None) -> None:
    """A treatment that never varies identifies nothing; one cluster gives no clustered SE."""
    aggs = {}
    for i, c in enumerate(c_t):
        col = table[c].cast("float64") if table[c].type().is_boolean() else table[c]
        aggs[internal(f"lo_{i}")] = col.min()
        aggs[internal(f"hi_{i}")] = col.max()
    if c_cl is not None:
        aggs[internal("clusters")] = table[c_cl].nunique()
    row = table.aggregate(**aggs).execute().iloc[0]
    for i, c in enumerate(c_t):
        lo, hi = row[internal(f"lo_{i}")], row[internal(f"hi_{i}")]
        if lo is None or pd.isna(lo) or lo == hi:
            raise DesignError(
                f"treatment {c!r} does not vary (every row has the same value"
                + ("" if lo is None or pd.isna(lo) else f", {_plain(lo)}")
                + "): there is no exposure contrast to estimate an effect from",
                columns=[c],
                fix="check the column passed in treatments",
            )
    if c_cl is not None:
        g = int(row[internal("clusters")])
        if g < 2:
            raise DesignError(
                f"cluster column {c_cl!r} has {g} value(s): cluster-robust standard errors need at "
                "least two clusters",
                columns=[c_cl],
                fix="cluster on a column with many values (users, markets), or pass cluster=None",
            )


def _plain(v: object) -> str:
    v = v.item() if isinstance(v, np.generic) else v
    return f"{int(v)}" if isinstance(v, float) and v.is_integer() else str(v)
