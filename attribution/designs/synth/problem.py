"""Building an ADH problem: a validated wide panel and a predictor specification → arrays.

The predictors (covariates averaged over the pre-period window, ``special_predictors`` averaged over
their own periods, or by default every pre-period outcome) become the k × N matrix X; the outcome
stays the N × T matrix Y. `SCProblem` holds everything a fit, a placebo or a leave-one-out refit
needs, so nothing downstream sees a table. Checks that need the panel's units and periods (treated
unit, treatment start, periods of the predictors) are made here and raise typed errors.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.synth.panel import SynthPanel
from attribution.errors import DataError, DesignError, OptionError

__all__ = ["SCProblem", "SpecialPredictor", "as_time", "build_problem", "truncated_panel"]

SpecialPredictor = tuple[str, Any, str]
"""``(column, periods, "mean")`` as R Synth's ``special.predictors``."""


@dataclass(frozen=True, kw_only=True)
class SCProblem:
    """Everything a fit, a placebo or a leave-one-out refit needs, as arrays (no table).

    Y: N × T outcomes; X: k × N predictors (raw scale); window: column indices of the periods
    whose pre-period MSPE chooses V; lag: predictors that are single-period outcome lags inside
    the window (their raw-scale weights are a natural starting V); n_pre: periods before the
    treatment start; treated: row of the treated unit; pool: rows of the donors.
    """

    Y: np.ndarray
    X: np.ndarray
    predictor_names: tuple[str, ...]
    window: np.ndarray
    lag: np.ndarray
    units: pd.Index
    times: pd.Index
    treated: int
    pool: np.ndarray
    n_pre: int
    optimize_v: bool = True
    maxfev: int = 3000
    tie_break: float = 1e-4
    covariates: dict[str, np.ndarray] = field(default_factory=dict)  # name → N × T


def _period_label(periods: Sequence[Any]) -> str:
    ps = list(periods)
    if len(ps) == 1:
        return str(ps[0])
    return f"{ps[0]}–{ps[-1]}" if len(ps) > 2 else f"{ps[0]}, {ps[1]}"


def _locate_periods(
    times: pd.Index, periods: Sequence[Any], *, n_pre: int, what: str, column: str
) -> np.ndarray:
    """Column indices of `periods`; DesignError naming periods absent or not before treatment."""
    periods = [as_time(p, times) for p in periods]
    try:
        idx = times.get_indexer(pd.Index(periods))
    except (TypeError, ValueError) as exc:  # incomparable types
        raise DesignError(
            f"{what}: periods {list(periods)[:5]} cannot be matched to {times.name!r} values",
            columns=[column],
            fix=f"use values of {times.name!r}, e.g. {list(times[:3])}",
        ) from exc
    missing = [p for p, i in zip(periods, idx, strict=True) if i < 0]
    if missing:
        raise DesignError(
            f"{what}: period(s) {missing[:5]} are not in the panel's {times.name!r} values",
            columns=[column],
            fix=f"use periods between {times[0]!r} and {times[n_pre - 1]!r}",
        )
    late = [p for p, i in zip(periods, idx, strict=True) if i >= n_pre]
    if late:
        raise DesignError(
            f"{what}: period(s) {late[:5]} are not before the treatment start, so they would let "
            "the treatment leak into the predictors",
            columns=[column],
            fix=f"use periods up to {times[n_pre - 1]!r}",
        )
    if len(set(idx.tolist())) != len(idx):
        raise OptionError(f"{what}: a period is listed twice", columns=[column])
    return idx.astype(np.int64)


def build_problem(
    panel: SynthPanel,
    *,
    treated_unit: Any,
    treatment_start: Any,
    predictors: Sequence[str],
    special_predictors: Sequence[tuple[str, list, str]],
    pre_period: Sequence[Any] | None,
    optimize_v: bool,
) -> SCProblem:
    """Turn a validated wide panel and the predictor specification into an `SCProblem`."""
    units, times = panel.units, panel.times
    treatment_start = as_time(treatment_start, times)
    pos = units.get_indexer([treated_unit])[0] if _hashable(treated_unit) else -1
    if pos < 0:
        raise DesignError(
            f"treated_unit {treated_unit!r} is not a value of {panel.unit!r}",
            columns=[panel.unit],
            fix=f"choose one of the {len(units)} units, e.g. {list(units[:5])}",
        )
    try:
        n_pre = int(np.sum(np.asarray(times < treatment_start)))
    except TypeError as exc:
        raise DesignError(
            f"treatment_start {treatment_start!r} cannot be compared with {panel.time!r} values "
            f"({times.dtype})",
            columns=[panel.time],
            fix=f"pass a value of {panel.time!r}, e.g. {times[len(times) // 2]!r}",
        ) from exc
    if n_pre == 0:
        raise DesignError(
            f"treatment_start {treatment_start!r} leaves no pre-treatment period for "
            f"{treated_unit!r} (first period {times[0]!r})",
            columns=[panel.time],
            rows=pd.DataFrame({panel.unit: [treated_unit], "first_period": [times[0]]}),
            fix=f"choose a treatment start after {times[0]!r}",
        )
    if n_pre == len(times):
        raise DesignError(
            f"treatment_start {treatment_start!r} is after the last period {times[-1]!r}: no "
            f"post-treatment period for {treated_unit!r}",
            columns=[panel.time],
            rows=pd.DataFrame({panel.unit: [treated_unit], "last_period": [times[-1]]}),
            fix=f"choose a treatment start between {times[1]!r} and {times[-1]!r}",
        )
    pool = np.array([i for i in range(len(units)) if i != pos], dtype=np.int64)
    if len(pool) == 0:
        raise DesignError(
            f"no donors: {treated_unit!r} is the only unit in the panel",
            columns=[panel.unit],
            fix="add untreated units to serve as the donor pool",
        )
    if pre_period is None:
        window = np.arange(n_pre, dtype=np.int64)
    else:
        if isinstance(pre_period, str) or not hasattr(pre_period, "__iter__"):
            raise OptionError(
                f"pre_period must be a list of periods, got {pre_period!r}",
                fix="e.g. pre_period=range(1970, 1989)",
            )
        window = np.sort(
            _locate_periods(
                times, list(pre_period), n_pre=n_pre, what="pre_period", column=panel.time
            )
        )
        if len(window) == 0:
            raise OptionError("pre_period lists no periods", columns=[panel.time])
    rows: list[np.ndarray] = []
    names: list[str] = []
    lag: list[bool] = []
    wlabel = _period_label(times[window])
    for c in predictors:
        rows.append(panel.X[c][:, window].mean(axis=1))
        names.append(f"{c} (mean {wlabel})")
        lag.append(False)
    for col, periods, _op in special_predictors:
        if col != panel.outcome and col not in panel.X:
            raise DataError(f"special predictor column {col!r} is not in the table", columns=[col])
        idx = _locate_periods(
            times, periods, n_pre=n_pre, what=f"special predictor {col!r}", column=col
        )
        src = panel.Y if col == panel.outcome else panel.X[col]
        rows.append(src[:, idx].mean(axis=1))
        names.append(f"{col} ({'mean ' if len(idx) > 1 else ''}{_period_label(times[idx])})")
        lag.append(bool(col == panel.outcome and len(idx) == 1 and idx[0] in set(window.tolist())))
    if not rows:  # default: every pre-period outcome in the window
        for t in window:
            rows.append(panel.Y[:, t])
            names.append(f"{panel.outcome} ({times[t]})")
            lag.append(True)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise OptionError(f"predictor(s) {dup} specified twice", fix="list each predictor once")
    X = np.vstack(rows)
    sd = X.std(axis=1, ddof=1)
    const = [names[i] for i in range(len(names)) if not sd[i] > 0]
    if const:
        raise DesignError(
            f"predictor(s) {const} take the same value for every unit, so they cannot be "
            "standardised or help choose donors",
            columns=[n.split(" (")[0] for n in const],
            fix="drop these predictors",
        )
    return SCProblem(
        Y=panel.Y,
        X=X,
        predictor_names=tuple(names),
        window=window,
        lag=np.asarray(lag, dtype=np.bool_),
        units=units,
        times=times,
        treated=int(pos),
        pool=pool,
        n_pre=n_pre,
        optimize_v=optimize_v,
        covariates=dict(panel.X),
    )


def as_time(value: Any, times: pd.Index) -> Any:
    """`value` in the type of the panel's periods: dates and date strings become Timestamps when
    the periods are datetimes (DuckDB returns DATE columns as datetime64)."""
    if pd.api.types.is_datetime64_any_dtype(times.dtype) and isinstance(
        value, str | _dt.date | np.datetime64
    ):
        try:
            return pd.Timestamp(value)
        except (TypeError, ValueError):
            return value
    return value


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def truncated_panel(problem: SCProblem, n_keep: int, *, outcome: str) -> SynthPanel:
    """The problem's panel restricted to its first `n_keep` periods (covariates re-attached)."""
    X = {k: v[:, :n_keep] for k, v in problem.covariates.items()}
    n = len(problem.units)
    return SynthPanel(
        Y=problem.Y[:, :n_keep],
        units=problem.units,
        times=problem.times[:n_keep],
        W=None,
        treated=np.zeros(n, dtype=bool),
        adoption=np.full(n, -1, dtype=np.int64),
        X=X,
        outcome=outcome,
        unit=str(problem.units.name),
        time=str(problem.times.name),
    )
