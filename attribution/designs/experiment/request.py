"""Request checks of `experiment()`: argument roles and options, then the data as the first engine
pass sees them (one arm per unit, every metric observed in every arm, a ratio's zero-denominator
rule, 0/1 proportions, values a double can hold). Typed errors naming the user's columns and the
fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import require_complete
from attribution.data.numeric import check_range
from attribution.designs.experiment.stats import (
    ARM,
    MIXED_ARM,
    MIXED_SEGMENT,
    NULLS,
    Layout,
    N,
    check_name,
    shift_name,
    sum_name,
)
from attribution.errors import DataError, DesignError, EstimationError, OptionError
from attribution.metrics import Metric, Proportion, Ratio, as_metric, check_zero_denominators
from attribution.options import plain

__all__ = [
    "check_arms",
    "check_moments",
    "check_request",
    "choose_control",
]

RESERVED_METRIC_NAMES = ("term", "estimate", "std_error", "conf_low", "conf_high", "p_value")


def _name(role: str, value: Any, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise OptionError(
            f"{role}={plain(value)} must be a column name (a non-empty string)",
            fix=f"e.g. {role}='user_id'" if role == "unit" else f"name the {role} column",
        )
    return value


def check_request(
    *,
    arm: Any,
    unit: Any,
    metrics: Any,
    segments: Any,
    surface: Any,
    time: Any,
    cluster: Any,
    allocation: Any,
) -> tuple[Metric, ...]:
    """Column roles are strings and distinct; metrics are metric objects (a column name is a
    `Mean`) with distinct names; returns the metrics as a tuple."""
    roles = {
        "arm": _name("arm", arm, optional=False),
        "unit": _name("unit", unit, optional=False),
        "segments": _name("segments", segments),
        "surface": _name("surface", surface),
        "time": _name("time", time),
        "cluster": _name("cluster", cluster),
    }
    used = {k: v for k, v in roles.items() if v is not None}
    seen: dict[str, str] = {}
    for role, col in used.items():
        if col in seen and not (role == "cluster" and seen[col] == "unit"):
            raise OptionError(
                f"column {col!r} is given as both {seen[col]} and {role}",
                columns=[col],
                fix="each role needs its own column",
            )
        seen.setdefault(col, role)
    if isinstance(metrics, Metric | str):
        metrics = [metrics]
    if not isinstance(metrics, Sequence) or isinstance(metrics, str) or not metrics:
        raise OptionError(
            f"metrics={plain(metrics)} must be a non-empty list of metrics or column names",
            fix="e.g. metrics=['engagement', at.metrics.Ratio('clicks', 'impressions')]",
        )
    ms = tuple(as_metric(m, argument="metrics") for m in metrics)
    names = [m.name for m in ms]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise OptionError(
            f"metric name(s) {dup} appear more than once",
            fix="give each metric its own name=, e.g. Mean('clicks', name='clicks (CUPED)')",
        )
    for m in ms:
        clash = [c for c in m.columns if c in used.values()]
        if clash:
            role = next(r for r, c in used.items() if c == clash[0])
            raise OptionError(
                f"metric {m.name!r} reads column {clash[0]!r}, which is the {role} column",
                columns=clash,
                fix="a metric must read value columns, not the arm, unit or key columns",
            )
    if allocation is not None:
        if not isinstance(allocation, Mapping) or not allocation:
            raise OptionError(
                f"allocation={plain(allocation)} must be a mapping arm → planned share",
                fix="e.g. allocation={'control': 0.5, 'treatment': 0.5}",
            )
        for key, share in allocation.items():
            ok = isinstance(share, int | float) and not isinstance(share, bool)
            if not ok or not (0.0 < float(share) < 1.0) or not np.isfinite(float(share)):
                raise OptionError(
                    f"allocation[{plain(key)}]={plain(share)} must be a share in (0, 1)",
                    fix="give each arm's planned share of units, e.g. 0.5",
                )
        total = float(sum(allocation.values()))
        if abs(total - 1.0) > 1e-6:
            raise OptionError(
                f"allocation shares add up to {total:g}, not 1",
                fix="give every arm's planned share; they must add up to 1",
            )
    return ms


def check_arms(
    arms: Sequence[Any],
    *,
    arm: str,
    control: Any,
    allocation: Mapping[Any, float] | None,
) -> None:
    """At least two arms with units; the control and every planned arm among them."""
    if allocation is not None:
        empty = [a for a in allocation if a not in list(arms)]
        if empty:
            raise DesignError(
                f"arm(s) {[plain(a) for a in empty]} of the planned allocation have no units in "
                f"column {arm!r} (arms with units: {[plain(a) for a in arms]})",
                columns=[arm],
                fix="check the assignment log and the filters that built the table",
            )
        missing = [a for a in arms if a not in allocation]
        if missing:
            raise OptionError(
                f"allocation has no share for arm(s) {[plain(a) for a in missing]}",
                fix=f"give a share for every arm of {[plain(a) for a in arms]}",
            )
    if len(arms) < 2:
        raise DesignError(
            f"column {arm!r} holds a single arm ({plain(arms[0]) if arms else 'none'}): an "
            "experiment needs units in a control and at least one treatment arm",
            columns=[arm],
            fix="check the assignment log; every arm must have units",
        )
    if control is not None and control not in list(arms):
        raise DesignError(
            f"control={plain(control)} is not among the arms of {arm!r}: "
            f"{[plain(a) for a in arms]}",
            columns=[arm],
            fix="pass one of the arms as control=",
        )


def choose_control(arms: Sequence[Any], control: Any) -> Any:
    """The given control, else an arm called "control", else the first arm in sorted order."""
    if control is not None:
        return control
    for a in arms:
        if isinstance(a, str) and a.lower() == "control":
            return a
    return arms[0]


def _mixed_examples(table: ir.Table, *, key: str, unit: str, segment: str | None) -> pd.DataFrame:
    t = table
    col = key
    per = t.group_by(unit).aggregate(lo=t[col].min(), hi=t[col].max())
    bad = per.filter(per.lo != per.hi).select(unit).limit(config.get().example_rows)
    sub = t.semi_join(bad, unit)
    return sub.group_by([unit, col]).aggregate(rows=sub.count()).order_by([unit, col]).execute()


def check_moments(
    frame: pd.DataFrame,
    *,
    table: ir.Table,
    layout: Layout,
    metrics: Sequence[Metric],
    user: Mapping[str, str],
    values: Mapping[Any, str],
    unit: str,
    segment: str | None,
    integer: Mapping[int, bool],
) -> dict[str, str]:
    """The data checks a moments frame answers (each a typed error naming user columns).
    Returns {metric name: note} for the ratio metrics that keep zero-denominator units."""
    u = user.get
    notes: dict[str, str] = {}
    if int(frame[MIXED_ARM].sum()):
        n_mixed = int(frame[MIXED_ARM].sum())
        raise DesignError(
            f"{n_mixed:,} unit(s) of {u(unit, unit)!r} appear in more than one arm; a randomised "
            "unit must stay in its arm",
            columns=[unit, ARM],
            rows=_mixed_examples(table, key=ARM, unit=unit, segment=segment),
            fix="fix the assignment log (or the join that built the table), or pass the column "
            "that was actually randomised as unit=",
        )
    if segment is not None and MIXED_SEGMENT in frame and int(frame[MIXED_SEGMENT].sum()):
        n_mixed = int(frame[MIXED_SEGMENT].sum())
        raise DesignError(
            f"{n_mixed:,} unit(s) of {u(unit, unit)!r} appear in more than one segment; a segment "
            "must be a fixed attribute of the unit (measured before the experiment)",
            columns=[unit, segment],
            rows=_mixed_examples(table, key=segment, unit=unit, segment=None),
            fix="use a pre-experiment attribute of the unit as segments=",
        )
    per_arm = frame.groupby(ARM, sort=True)
    metric_of = {}
    for m in metrics:
        for c in m.columns:
            metric_of.setdefault(c, m.name)
    for i, vc in enumerate(layout.columns):
        if vc.how == "count":
            continue
        col = values[vc]
        name = u(col, col)
        nn = per_arm[check_name("nn", i)].sum()
        empty = [a for a in nn.index if nn[a] == 0]
        if empty:
            raise DesignError(
                f"column {name!r} (metric {metric_of.get(name, name)!r}) has no values in arm(s) "
                f"{[plain(a) for a in empty]}: the metric is missing in that arm",
                columns=[col],
                fix="check the logging of this metric in every arm (a metric must be measured "
                "the same way in all arms)",
            )
    if int(frame[NULLS].sum()):
        cols = list(dict.fromkeys(values[vc] for vc in layout.columns if vc.how != "count"))
        require_complete(table, cols, role="experiment", context=[unit, ARM])
    for i, vc in enumerate(layout.columns):
        if vc.how == "count":
            continue
        cols = [sum_name(i), sum_name(i, i)]
        if not np.all(np.isfinite(frame[cols].to_numpy(float))):
            col = values[vc]
            require_complete(table, [col], role="experiment", context=[unit, ARM])
            raise EstimationError(
                f"sums of {u(col, col)!r} over units overflow to non-finite values",
                columns=[col],
                fix="rescale the column (e.g. divide by 1e6) before calling",
            )
    for m in metrics:
        if isinstance(m, Proportion):
            i = layout.index(m.column, "max")
            bad = int(frame[check_name("bad01", i)].sum())
            if bad:
                col = values[layout.columns[i]]
                t = table
                pred = (t[col] != 0) & (t[col] != 1)
                ex = t.filter(pred).select(unit, ARM, col).limit(config.get().example_rows)
                raise DataError(
                    f"Proportion({m.column!r}) needs 0/1 values, but {bad:,} row(s) hold other "
                    "values",
                    columns=[col],
                    rows=ex.execute(),
                    fix="use Mean() for a non-binary column, or recode it to 0/1",
                )
        if isinstance(m, Ratio):
            note = _zero_denominators(
                frame, table=table, layout=layout, metric=m, unit=unit, values=values, user=user
            )
            if note:
                notes[str(m.name)] = note
    for i, vc in enumerate(layout.columns):
        if vc.how in ("count", "mean"):
            continue
        col = values[vc]
        lo = frame[check_name("lo", i)].min()
        hi = frame[check_name("hi", i)].max()
        if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
            continue
        constant_ok = any(
            isinstance(m, Ratio) and vc.column in (m.numerator, m.denominator) for m in metrics
        )
        if constant_ok and lo == hi:
            continue
        check_range(
            float(lo) if not integer.get(i) else int(lo),
            float(hi) if not integer.get(i) else int(hi),
            integer=bool(integer.get(i)),
            name=u(col, col),
        )
    return notes


def _zero_denominators(
    frame: pd.DataFrame,
    *,
    table: ir.Table,
    layout: Layout,
    metric: Ratio,
    unit: str,
    values: Mapping[Any, str],
    user: Mapping[str, str],
) -> str | None:
    """The ratio's zero-denominator rule (`metrics.check_zero_denominators`) on the counts of the
    first pass; then every arm needs a nonzero denominator total (the ratio is undefined else)."""
    i_num, i_den = layout.index(metric.numerator, "sum"), layout.index(metric.denominator, "sum")
    num, den = values[layout.columns[i_num]], values[layout.columns[i_den]]

    def examples(nonzero: bool) -> pd.DataFrame:
        t = table
        per = t.group_by([unit, ARM]).aggregate(
            **{num: t[num].cast("float64").sum(), den: t[den].cast("float64").sum()}
        )
        pred = (per[den] == 0.0) & (per[num] != 0.0) if nonzero else per[den] == 0.0
        return per.filter(pred).order_by(unit).limit(config.get().example_rows).execute()

    note = check_zero_denominators(
        metric,
        zero=int(frame[check_name("zero", i_den)].sum()),
        zero_numerator_nonzero=int(frame[check_name(f"zero_{i_num}", i_den)].sum()),
        what=f"unit(s) of {user.get(unit, unit)!r}",
        examples=examples,
    )
    per_arm = frame.groupby(ARM, sort=True)
    total = per_arm[sum_name(i_den)].sum() + per_arm[N].sum() * per_arm[shift_name(i_den)].first()
    empty = [a for a in total.index if total[a] == 0]
    if empty:
        raise DataError(
            f"ratio metric {metric.name!r}: the denominator {metric.denominator!r} sums to 0 in "
            f"arm(s) {', '.join(plain(a) for a in empty)}, so the ratio is undefined there",
            columns=[den, ARM],
            fix=f"check the logging of {metric.denominator!r} in these arms",
        )
    return note
