"""Sufficient statistics of an online experiment, computed in the engine.

Rows are first aggregated to one row per randomisation unit (a user with many rows counts once),
then per arm (× the `by` keys: segment, surface, time) the engine returns the unit count and, for
every value column the metrics need, the sum of the per-unit values and every cross-product of
them. Means, variances and covariances of any metric (ratio, covariate, the joint covariance across
metrics) follow from these in `delta.py`; nothing unit-level ever leaves the engine.

Per-unit aggregation of each column (`ValueColumn.how`):

- ``sum``: a `Mean`'s column and a `Ratio`'s numerator and denominator (the unit's total);
- ``max``: a `Proportion`'s 0/1 column (did the unit ever convert);
- ``mean``: covariates (a pre-period value repeated on every row of a unit stays that value);
- ``count``: with `cluster=`, the number of units of each cluster (the cluster is then the
  independent unit and a `Mean` becomes the ratio Σ value / Σ units over clusters).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution.data.engine import accurate_sum
from attribution.data.numeric import FLOAT_EXACT_INT, MIN_MAGNITUDE
from attribution.data.roles import internal, select_roles
from attribution.metrics import Metric, Proportion, Ratio, as_metric

__all__ = [
    "ARM",
    "LOOK",
    "Layout",
    "N",
    "ValueColumn",
    "cumulative_moments",
    "layout_for",
    "metric_moments",
    "metric_pairs",
    "moments_query",
    "shift_name",
    "sum_name",
    "unit_moments",
]

How = Literal["sum", "max", "mean", "count"]

ARM = internal("arm")
N = internal("n")
ROWS = internal("rows")
MIXED_ARM = internal("mixed_arm")
MIXED_SEGMENT = internal("mixed_segment")
UNITS = internal("units")
NN_ARM = internal("nn_arm")
NULL_UNIT = internal("null_unit")
DUPLICATE_KEYS = internal("duplicate_keys")
NULLS = internal("nulls")
FLAGGED = internal("flagged")
LOOK = internal("look")
CANCELLATION_LIMIT = 1e4
"""Largest mean²/variance of a column for which Σv²/n − v̄² keeps 12 digits; above it the sums are
taken again around the pooled mean (a shift), which removes the cancellation."""


@dataclass(frozen=True)
class ValueColumn:
    """One per-unit value: a user column and how its rows are aggregated to the unit."""

    column: str
    how: How


@dataclass(frozen=True)
class Layout:
    """The value columns of a moments frame, in index order (`sum_<i>`, `sum_<i>_<j>`)."""

    columns: tuple[ValueColumn, ...]

    def index(self, column: str, how: How) -> int:
        return self.columns.index(ValueColumn(column, how))

    def __len__(self) -> int:
        return len(self.columns)


def _metric_value_columns(metric: Metric) -> list[ValueColumn]:
    if isinstance(metric, Ratio):
        cols = [ValueColumn(metric.numerator, "sum"), ValueColumn(metric.denominator, "sum")]
    elif isinstance(metric, Proportion):
        cols = [ValueColumn(metric.column, "max")]  # type: ignore[attr-defined]
    else:
        cols = [ValueColumn(metric.column, "sum")]  # type: ignore[attr-defined]
    return cols + [ValueColumn(c, "mean") for c in metric.covariate_columns]


def layout_for(metrics: Sequence[Metric], *, cluster: bool = False) -> Layout:
    """The value columns `metrics` need (each once), plus the unit count per cluster."""
    cols: list[ValueColumn] = []
    for m in metrics:
        cols += _metric_value_columns(m)
    if cluster:
        cols.append(ValueColumn(UNITS, "count"))
    return Layout(tuple(dict.fromkeys(cols)))


def metric_pairs(metrics: Sequence[Metric], layout: Layout) -> set[tuple[int, int]]:
    """The cross-products each metric needs on its own (its value and covariate columns, and the
    unit count with clusters): enough for every metric's variance, not for covariances across
    metrics."""
    extra = [layout.index(UNITS, "count")] if ValueColumn(UNITS, "count") in layout.columns else []
    out: set[tuple[int, int]] = set()
    for m in metrics:
        idx = [layout.columns.index(vc) for vc in _metric_value_columns(m)] + extra
        out |= {(min(a, b), max(a, b)) for a in idx for b in idx}
    return out


def sum_name(i: int, j: int | None = None) -> str:
    """Internal name of Σ v_i (or Σ v_i v_j) over units, shifted (see `moments_query`)."""
    return internal(f"sum_{i}") if j is None else internal(f"sum_{i}_{j}")


def shift_name(i: int) -> str:
    """Internal name of the constant subtracted from v_i before the sums (0 unless needed)."""
    return internal(f"shift_{i}")


def check_name(kind: str, i: int) -> str:
    """Internal names of the per-column checks: nn (non-null rows), lo/hi (unit-value range),
    zero (units whose value is 0; ``check_name(f"zero_{n}", d)``: those of them whose column n
    is not 0), bad01 (rows whose value is neither 0 nor 1)."""
    return internal(f"{kind}_{i}")


def moments_query(
    table: ir.Table,
    *,
    arm: str,
    unit: str,
    values: Mapping[ValueColumn, str],
    layout: Layout,
    by: Sequence[str] = (),
    segment: str | None = None,
    cluster: str | None = None,
    shift: Sequence[float] | None = None,
    zero: Sequence[tuple[int, int]] = (),
    binary: Sequence[int] = (),
    pairs: Collection[tuple[int, int]] | None = None,
    checks: bool = True,
    key_codes: tuple[str, Mapping[Any, int]] | None = None,
    direct: bool = False,
    exact_pairs: Collection[tuple[int, int]] | None = None,
    screen: bool = False,
) -> ir.Table:
    """The engine query of `unit_moments` on a table whose columns are internal names.

    `values` maps each value column of `layout` to the internal column holding it (for the
    ``count`` column: ignored). `by` are row keys (surface, time); `segment` a unit attribute (a
    unit must keep one segment, as it keeps one arm). `shift` is subtracted from each per-unit
    value before the sums (sums of squares around a constant near the mean lose no digits).
    `pairs` limits the cross-products to these (i, j), i ≤ j (default: all); `checks=False` leaves
    out the data checks (a later pass over data the first pass has checked). Products outside
    `exact_pairs` (default: none outside) use the engine's plain sum instead of `accurate_sum`: the
    covariances across metrics feed only the joint covariance, not the published estimates, and
    compensated sums of every cross-product cost about as much as the rest of the pass.

    `zero` lists each ratio's (numerator, denominator) indices: the checks count the units (not
    clusters) whose denominator is 0, and those of them whose numerator is not.

    `key_codes` = (row key, {value: 2^k}) adds the count of units with two rows of the same key
    value (`DUPLICATE_KEYS`): per unit Σ code = OR of the codes exactly when no value repeats. When
    none repeats, a pass by that key may run with `direct=True`: every row is already one unit ×
    key, and the rows → units aggregation (a hash table as large as the data) is skipped.

    `screen=True` (with `checks`) replaces the checks that matter only on bad data by one count
    of flagged rows (`FLAGGED`: a NULL arm or value, a proportion not 0/1) and leaves out the
    per-arm counts of units with a value (the units, when nothing is NULL) and the unit-value
    ranges (lo/hi), which the sums bound (`_ranges_clear`): about 50 fewer aggregates on clean
    data. `metric_moments` reruns with every check when the screen does not clear the data.
    """
    d = len(layout)
    shift = [0.0] * d if shift is None else list(shift)
    keys = [*by] + ([segment] if segment else [])
    screen = screen and checks
    flags: list[ir.BooleanValue] = [table[arm].isnull()]
    # -- rows → units --------------------------------------------------------------------------
    # `ck` aggregates serve the data checks only; a later pass (checks=False) leaves them out
    aggs: dict[str, ir.Value] = {ARM: table[arm].min(), ROWS: table.count()}
    ck: dict[str, ir.Value] = {internal("arm_hi"): table[arm].max()}
    if not screen:
        ck[NN_ARM] = table[arm].count()
    if segment:
        aggs[internal("seg_lo")] = table[segment].min()
        ck[internal("seg_hi")] = table[segment].max()
    for i, vc in enumerate(layout.columns):
        if vc.how == "count":
            continue
        col = table[values[vc]].cast("float64")
        if vc.how == "sum":
            aggs[internal(f"v{i}")] = col.sum()
        elif vc.how == "max":
            aggs[internal(f"v{i}")] = col.max()
        else:
            aggs[internal(f"v{i}")] = col.mean()
        if i in binary:
            bad = (col != 0.0) & (col != 1.0)
            flags.append(bad)
            if not screen:
                ck[check_name("bad01", i)] = bad.cast("int64").sum()
    value_cols = list(dict.fromkeys(values[vc] for vc in layout.columns if vc.how != "count"))
    flags += [table[c].isnull() for c in value_cols]
    if screen:  # one aggregate: rows with a NULL arm or value, or a proportion not 0/1
        ck[FLAGGED] = ibis.or_(*flags).fill_null(True).cast("int64").sum()
    elif value_cols:  # one aggregate counts the NULLs of every value column (request.py names them)
        nulls = [table[c].isnull().cast("int64") for c in value_cols]
        ck[NULLS] = functools.reduce(operator.add, nulls).sum()
    if key_codes is not None and checks:
        key, codes = key_codes
        code = table[key].cases(*codes.items(), else_=0).cast("int64")
        ck[internal("kor")] = code.bit_or()
        ck[internal("ksum")] = code.sum()
    group = [*by, unit] if cluster is None else [*by, cluster, unit]
    if direct:  # one row per unit × key already (see `key_codes`): the rows are the units
        sel: dict[str, ir.Value] = {ARM: table[arm], ROWS: ibis.literal(1, type="int64")}
        sel |= {k: table[k] for k in by}
        if segment:
            sel[internal("seg_lo")] = table[segment]
        for i, vc in enumerate(layout.columns):
            if vc.how != "count":
                sel[internal(f"v{i}")] = table[values[vc]].cast("float64")
        units = table.select(**sel)
    else:
        units = table.group_by(group).aggregate(**aggs, **(ck if checks else {}))
    if segment:
        units = units.mutate(**{segment: units[internal("seg_lo")]})
    level = units
    if cluster is not None:  # units → clusters: sums of unit values and the number of units
        c_aggs: dict[str, ir.Value] = {
            ARM: units[ARM].min(),
            ROWS: units[ROWS].sum(),
            UNITS: units.count(),
        }
        c_ck: dict[str, ir.Value] = {
            internal("arm_hi"): units[internal("arm_hi")].max() if checks else units[ARM].max(),
            NULL_UNIT: units[unit].isnull().cast("int64").sum(),
        }
        if screen:
            c_ck[FLAGGED] = units[FLAGGED].sum()
        elif checks:
            c_ck[NN_ARM] = units[NN_ARM].sum()
            c_ck[NULLS] = units[NULLS].sum()
        if segment:
            c_aggs[internal("seg_lo")] = units[internal("seg_lo")].min()
            if checks:
                c_ck[internal("seg_hi")] = units[internal("seg_hi")].max()
        for i, vc in enumerate(layout.columns):
            if vc.how == "count":
                continue
            c_aggs[internal(f"v{i}")] = units[internal(f"v{i}")].sum()
            if checks and not screen and i in binary:
                c_ck[check_name("bad01", i)] = units[check_name("bad01", i)].sum()
        for n_, d_ in zero if checks else ():  # zero denominators are counted over units
            z = units[internal(f"v{d_}")] == 0.0
            c_ck[check_name("zero", d_)] = z.cast("int64").sum()
            nz = z & (units[internal(f"v{n_}")] != 0.0)
            c_ck[check_name(f"zero_{n_}", d_)] = nz.cast("int64").sum()
        level = units.group_by([*by, cluster]).aggregate(**c_aggs, **(c_ck if checks else {}))
        if segment:
            level = level.mutate(**{segment: level[internal("seg_lo")]})
    # -- units (clusters) → arms ---------------------------------------------------------------
    v = []
    for i, vc in enumerate(layout.columns):
        raw = level[UNITS].cast("float64") if vc.how == "count" else level[internal(f"v{i}")]
        v.append(raw - ibis.literal(float(shift[i]), type="float64") if shift[i] else raw)
    out: dict[str, ir.Value] = {N: level.count(), ROWS: level[ROWS].sum()}
    if screen:
        out[FLAGGED] = level[FLAGGED].sum()
    elif checks:
        out[NN_ARM] = level[NN_ARM].sum()
        out[NULLS] = level[NULLS].sum() if value_cols else ibis.literal(0, type="int64")
    if checks:
        out[NULL_UNIT] = (
            level[NULL_UNIT].sum()
            if cluster is not None
            else level[unit].isnull().cast("int64").sum()
        )
        out[MIXED_ARM] = (level[ARM] != level[internal("arm_hi")]).cast("int64").sum()
        if key_codes is not None and cluster is None:
            dup = level[internal("ksum")] != level[internal("kor")]
            out[DUPLICATE_KEYS] = dup.cast("int64").sum()
        if segment:
            mixed = level[internal("seg_lo")] != level[internal("seg_hi")]
            out[MIXED_SEGMENT] = mixed.cast("int64").sum()
    for i, vc in enumerate(layout.columns):
        out[sum_name(i)] = accurate_sum(level, v[i])
        for j in range(i, d):
            if pairs is None or (i, j) in pairs:
                prod = v[i] * v[j]
                plain = exact_pairs is not None and (i, j) not in exact_pairs
                out[sum_name(i, j)] = prod.sum() if plain else accurate_sum(level, prod)
        if vc.how == "count" or not checks:
            continue
        raw = level[internal(f"v{i}")]
        if not screen:
            out[check_name("nn", i)] = raw.count()  # units (clusters) with a value
            out[check_name("lo", i)] = raw.min()
            out[check_name("hi", i)] = raw.max()
        if i in binary and not screen:
            out[check_name("bad01", i)] = level[check_name("bad01", i)].sum()
    for n_, d_ in zero if checks else ():  # units (not clusters) whose denominator is 0
        z_name, nz_name = check_name("zero", d_), check_name(f"zero_{n_}", d_)
        if cluster is not None:
            out[z_name], out[nz_name] = level[z_name].sum(), level[nz_name].sum()
        else:
            z = level[internal(f"v{d_}")] == 0.0
            out[z_name] = z.cast("int64").sum()
            out[nz_name] = (z & (level[internal(f"v{n_}")] != 0.0)).cast("int64").sum()
    return level.group_by([ARM, *keys]).aggregate(**out)


def metric_moments(
    table: ir.Table,
    *,
    arm: str,
    unit: str,
    values: Mapping[ValueColumn, str],
    layout: Layout,
    by: Sequence[str] = (),
    segment: str | None = None,
    cluster: str | None = None,
    zero: Sequence[tuple[int, int]] = (),
    binary: Sequence[int] = (),
    pairs: Collection[tuple[int, int]] | None = None,
    checks: bool = True,
    key_codes: tuple[str, Mapping[Any, int]] | None = None,
    direct: bool = False,
    exact_pairs: Collection[tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Run `moments_query`; rerun around the pooled means where a column's location dwarfs its
    spread. With `checks`, the first query screens the rows (see `moments_query`); only when a
    row is flagged does it run again with every check, so errors name the problem exactly as
    before; on clean data the per-row check columns are filled in (no NULLs: every unit has a
    value, every row an arm). `frame.attrs`: ``layout``, ``arm`` (the arm column) and ``by`` (the key columns); the
    constant subtracted from each column is in the ``__at_shift_<i>`` columns."""
    kw: dict[str, Any] = {
        "arm": arm,
        "unit": unit,
        "values": values,
        "layout": layout,
        "by": by,
        "segment": segment,
        "cluster": cluster,
        "zero": zero if checks else (),
        "binary": binary if checks else (),
        "pairs": pairs,
        "checks": checks,
        "key_codes": key_codes,
        "direct": direct,
        "exact_pairs": exact_pairs,
        "screen": checks,
    }
    frame = moments_query(table, **kw).execute()
    if checks and (int(frame[FLAGGED].sum()) or not _ranges_clear(frame, layout)):
        kw["screen"] = False  # every check, counted exactly, so errors read as before
        frame = moments_query(table, **kw).execute()
    elif checks:
        frame = _screened(frame, layout, binary=kw["binary"])
    d = len(layout)
    shift = np.zeros(d)
    n = float(frame[N].sum())
    if n > 0:
        s1 = np.array([frame[sum_name(i)].sum() for i in range(d)], dtype=float)
        s2 = np.array([frame[sum_name(i, i)].sum() for i in range(d)], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s1 / n
            var = s2 / n - mean * mean
            ratio = mean * mean / np.abs(var)
        if np.all(np.isfinite(mean)) and np.any(np.isfinite(ratio) & (ratio > CANCELLATION_LIMIT)):
            shift = np.where(np.isfinite(ratio) & (ratio > CANCELLATION_LIMIT), mean, 0.0)
            frame = moments_query(table, **kw, shift=shift.tolist()).execute()
            if kw["screen"]:  # the same rows, so clean again
                frame = _screened(frame, layout, binary=kw["binary"])
    keys = [ARM, *by] + ([segment] if segment else [])
    frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    for i in range(d):  # per row, so frames of several queries (looks) can be concatenated
        frame[shift_name(i)] = float(shift[i])
    frame.attrs["layout"] = layout
    frame.attrs["arm"] = ARM
    frame.attrs["by"] = tuple(keys[1:])
    return frame


RANGE_SCREEN = 1e8
"""Largest mean²/variance of a column for which `_ranges_clear` trusts the variance from the sums
(its relative error is then below about 1e-8)."""


def _ranges_clear(frame: pd.DataFrame, layout: Layout) -> bool:
    """Whether the (unshifted) sums prove that the range checks of `request.check_moments` pass for
    every summed or 0/1 column: max |v| ≤ sqrt(Σ v²) < 2**53 (so below the overflow limit too),
    and the spread is positive and far above underflow, since max − min ≥ 2σ (Popoviciu) with σ
    the pooled standard deviation, trusted where mean²/σ² ≤ `RANGE_SCREEN`. Else False: the
    caller computes the ranges in the engine."""
    n = float(frame[N].sum())
    if n < 2:
        return False
    for i, vc in enumerate(layout.columns):
        if vc.how not in ("sum", "max"):
            continue
        s1 = float(frame[sum_name(i)].sum())
        s2 = float(frame[sum_name(i, i)].sum())
        if not (np.isfinite(s1) and np.isfinite(s2)):
            return False
        mean = s1 / n
        var = s2 / n - mean * mean
        ok = (
            math.sqrt(max(s2, 0.0)) < FLOAT_EXACT_INT * (1.0 - 1e-9)
            and var > 0.0
            and mean * mean <= RANGE_SCREEN * var
            and math.sqrt(var) > 2.0 * MIN_MAGNITUDE
        )
        if not ok:
            return False
    return True


def _screened(frame: pd.DataFrame, layout: Layout, *, binary: Sequence[int]) -> pd.DataFrame:
    """The full check columns of a screened frame whose rows were all clean: every unit has a
    value, no row is NULL or off 0/1; the ranges are NaN (cleared by `_ranges_clear`)."""
    fill: dict[str, Any] = {NN_ARM: frame[ROWS], NULLS: 0}
    for i, vc in enumerate(layout.columns):
        if vc.how != "count":
            fill[check_name("nn", i)] = frame[N]
            fill[check_name("lo", i)] = np.nan
            fill[check_name("hi", i)] = np.nan
        if i in binary:
            fill[check_name("bad01", i)] = 0
    return frame.drop(columns=[FLAGGED]).assign(**fill)


def _user_frame(frame: pd.DataFrame, rename: Mapping[str, str]) -> pd.DataFrame:
    out = frame.rename(columns=dict(rename))
    out.attrs.update(frame.attrs)
    out.attrs["arm"] = rename.get(frame.attrs["arm"], frame.attrs["arm"])
    out.attrs["by"] = tuple(rename.get(b, b) for b in frame.attrs["by"])
    return out


def unit_moments(
    table: ir.Table | pd.DataFrame,
    *,
    arm: str,
    unit: str,
    metrics: Sequence[Metric | str],
    by: Sequence[str] = (),
    cluster: str | None = None,
) -> pd.DataFrame:
    """Per (arm, *by): units and the sums / cross-products of per-unit values, from the engine.

    `table` is the user's Ibis table or DataFrame (user column names). Columns of the frame: `arm` and the `by`
    columns under their user names; ``__at_n`` (units), ``__at_rows`` (rows), ``__at_sum_<i>``
    (Σ over units of v_i − shift_i) and ``__at_sum_<i>_<j>`` (i ≤ j, Σ of the products of the
    shifted values), with v_i the per-unit value of ``frame.attrs["layout"].columns[i]``;
    ``__at_shift_<i>`` holds the shifts (zero unless a column's mean dwarfs its spread).
    Check columns (``__at_nn_<i>``, ``__at_lo_<i>``, ``__at_hi_<i>``, ``__at_mixed_arm``) are
    documented in `moments_query`; lo/hi are NaN where the sums alone cleared the range checks. `delta.arm_estimates(frame, metric)` reads it.
    """
    from attribution.data.engine import as_table

    table = as_table(table)
    ms = [as_metric(m, argument="metrics") for m in metrics]
    layout = layout_for(ms, cluster=cluster is not None)
    cols = [vc.column for vc in layout.columns if vc.how != "count"]
    roles = select_roles(
        table,
        {
            "arm": arm,
            "unit": unit,
            "by": list(by),
            "cluster": cluster,
            "values": list(dict.fromkeys(cols)),
        },
    )
    names = dict(zip(dict.fromkeys(cols), roles.many("values"), strict=True))
    values = {vc: names.get(vc.column, "") for vc in layout.columns}
    with roles.user_names():
        frame = metric_moments(
            roles.table,
            arm=ARM,
            unit=roles["unit"],
            values=values,
            layout=layout,
            by=roles.many("by"),
            cluster=roles.names["cluster"],  # type: ignore[arg-type]
        )
    return _user_frame(frame, {ARM: arm, **dict(zip(roles.many("by"), by, strict=True))})


def cumulative_moments(
    table: ir.Table,
    *,
    arm: str,
    unit: str,
    metrics: Sequence[Metric | str],
    time: str,
    looks: Sequence[Any] | None = None,
    cluster: str | None = None,
) -> pd.DataFrame:
    """`unit_moments` per look: for each `look` (a time value; default every distinct time), the
    moments over all rows with time ≤ look (units aggregated over those rows), in one engine query
    per look. The look is in the column `LOOK` (``__at_look``: an internal name, so a user column
    called ``look`` cannot collide with it); rows are sorted by look, then arm."""
    from attribution.data.engine import as_table

    t = as_table(table)
    if looks is None:
        looks = sorted(t.select(time).distinct().execute()[time].tolist())
    parts = []
    for look in looks:
        sub = t.filter(t[time] <= look)
        part = unit_moments(sub, arm=arm, unit=unit, metrics=metrics, cluster=cluster)
        parts.append(part.assign(**{LOOK: look}))
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(parts[0].attrs if parts else {})
    out.attrs["by"] = (*out.attrs.get("by", ()), LOOK)
    return out
