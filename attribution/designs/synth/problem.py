"""Building an ADH problem: a validated wide panel and a predictor specification → arrays.

The predictors (covariates averaged over the pre-period window, ``special_predictors`` averaged over
their own periods, or by default every pre-period outcome) become the k × N matrix X; the outcome
stays the N × T matrix Y. `SCProblem` holds everything a fit, a placebo or a leave-one-out refit
needs, so nothing downstream sees a table. Checks that need the panel's units and periods (treated
unit, treatment start, periods of the predictors) are made here and raise typed errors.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.synth.panel import SynthPanel
from attribution.designs.synth.request import check_design_point
from attribution.errors import DataError, DesignError, DesignWarning, OptionError

__all__ = ["SCProblem", "SpecialPredictor", "as_time", "build_problem", "truncated_panel"]

SpecialPredictor = tuple[str, Any, str]
"""``(column, periods, "mean")`` as R Synth's ``special.predictors``."""


@dataclass(frozen=True, kw_only=True)
class SCProblem:
    """Everything a fit, a placebo or a leave-one-out refit needs, as arrays (no table).

    Y: N × T outcomes; X: k × N predictors (raw scale); window: column indices of the periods
    whose pre-period MSPE chooses V; lag: predictors that are single-period outcome lags inside
    the window (their raw-scale weights are a natural starting V); n_pre: periods before the
    treatment start; treated: row of the treated unit; pool: rows of the donors. How V is set: `v_fixed` (given
    weights, R Synth's ``custom.v``), else cross-validated when `cv_X` is set (V chosen with the
    training predictors `cv_X` on the validation periods `cv_window`, then applied to X), else
    searched on the window MSPE (`optimize_v`); a searched V has every weight ≥ `v_floor`.
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
    v_fixed: np.ndarray | None = None
    v_floor: float = 0.0
    cv_X: np.ndarray | None = None
    cv_window: np.ndarray | None = None
    cv_lag: np.ndarray | None = None


def _period_label(periods: Sequence[Any]) -> str:
    ps = list(periods)
    if len(ps) == 1:
        return str(ps[0])
    return f"{ps[0]}–{ps[-1]}" if len(ps) > 2 else f"{ps[0]}, {ps[1]}"


def _locate_periods(
    times: pd.Index,
    periods: Sequence[Any],
    *,
    n_pre: int,
    what: str,
    column: str,
    late: str = "raise",
) -> np.ndarray:
    """Column indices of `periods`; DesignError naming periods absent, and periods not before the
    treatment start an error (`late="raise"`; `late="training"`: `n_pre` is the first validation
    period of a cross-validated V) or a DesignWarning (`late="warn"`)."""
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
    after = [p for p, i in zip(periods, idx, strict=True) if i >= n_pre]
    if after and late == "warn":
        warnings.warn(
            f"{what}: period(s) {after[:5]} are not before the treatment start, so the treatment "
            "may leak into the predictors (allowed, as R Synth allows it)",
            DesignWarning,
            stacklevel=4,
        )
    elif after and late == "training":
        raise DesignError(
            f"{what}: period(s) {after[:5]} are not before the validation window, so V would be "
            "chosen with predictors measured where it is validated",
            columns=[column],
            fix=f"use periods up to {times[n_pre - 1]!r} (pass training_special_predictors)",
        )
    elif after:
        raise DesignError(
            f"{what}: period(s) {after[:5]} are not before the treatment start, so they would let "
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
    donors: Sequence[Any] | None = None,
    v: Any = None,
    v_floor: float = 0.0,
    v_method: str = "pre_period",
    validation_start: Any = None,
    training_special_predictors: Sequence[tuple[str, list, str]] | None = None,
    late_predictors: str = "warn",
) -> SCProblem:
    """Turn a validated wide panel and the predictor specification into an `SCProblem`.

    `donors` restricts the panel to the treated unit and these units (the others play no role,
    not even in the predictors' scaling, as R Synth's ``controls.identifier``). `v`: fixed
    predictor weights by label. `v_method="cross_validation"`: see `synthetic_control`.
    """
    units, times = panel.units, panel.times
    treatment_start = as_time(treatment_start, times)
    # the one check of the design point (request.py): unit known, start on the grid, periods
    # before and after it
    n_pre = check_design_point(panel, treated_unit=treated_unit, treatment_start=treatment_start)
    pos = int(units.get_indexer([treated_unit])[0])
    rows_kept = np.arange(len(units))
    if donors is not None:
        rows_kept = _donor_rows(units, pos, donors, column=panel.unit)
        units = units[rows_kept]
        pos = int(units.get_indexer([treated_unit])[0])
    Y = panel.Y[rows_kept]
    covs = {c: m[rows_kept] for c, m in panel.X.items()}
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
    spec = _Spec(panel=panel, Y=Y, covs=covs, units=units, times=times, n_pre=n_pre)
    X, names, lag = spec.matrix(predictors, special_predictors, window, late=late_predictors)
    if v_floor * len(names) >= 1.0:
        raise OptionError(
            f"v_floor={v_floor} is too large for {len(names)} predictors: every weight at least "
            f"v_floor needs v_floor < 1/{len(names)}",
            fix=f"use a v_floor below {1.0 / len(names):.4g}",
        )
    cv_X = cv_window = cv_lag = None
    if v_method == "cross_validation" and v is None and optimize_v:
        if not predictors and not special_predictors:
            raise OptionError(
                "cross-validated V needs predictors or special_predictors: the default "
                "predictors (every pre-period outcome) differ between the training and the "
                "validation window",
                fix="give predictors / special_predictors, or use v_method='pre_period'",
            )
        split = _validation_split(times, window, validation_start, column=panel.time)
        train, cv_window = window[:split], window[split:]
        specials = (
            special_predictors
            if training_special_predictors is None
            else (training_special_predictors)
        )
        cv_X, cv_names, cv_lag = spec.matrix(
            predictors,
            specials,
            train,
            late="training",
            before=int(cv_window[0]),
            what="training predictors",
        )
        if len(cv_names) != len(names):
            raise OptionError(
                f"the training predictors ({len(cv_names)}) must match the main predictors "
                f"({len(names)}) one for one",
                fix="give training_special_predictors in the same order as special_predictors",
            )
    v_fixed = None if v is None else _fixed_v(v, names)
    return SCProblem(
        Y=Y,
        X=X,
        predictor_names=tuple(names),
        window=window,
        lag=lag,
        units=units,
        times=times,
        treated=int(pos),
        pool=pool,
        n_pre=n_pre,
        optimize_v=optimize_v,
        covariates=covs,
        v_fixed=v_fixed,
        v_floor=float(v_floor),
        cv_X=cv_X,
        cv_window=cv_window,
        cv_lag=cv_lag,
    )


@dataclass(frozen=True)
class _Spec:
    """The panel pieces a predictor matrix is built from (all units kept, all periods)."""

    panel: SynthPanel
    Y: np.ndarray
    covs: dict[str, np.ndarray]
    units: pd.Index
    times: pd.Index
    n_pre: int

    def matrix(
        self,
        predictors: Sequence[str],
        special_predictors: Sequence[tuple[str, list, str]],
        window: np.ndarray,
        *,
        late: str,
        before: int | None = None,
        what: str = "",
    ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(X k × N, labels, lag flags): covariates averaged over `window`, special predictors
        over their periods (as R Synth's dataprep: means over the periods that have data), or by
        default every outcome in `window`. `before`: the training stage's end (periods from it on
        are refused: they belong to the validation window)."""
        panel, times = self.panel, self.times
        limit = self.n_pre if before is None else before
        prefix = f"{what}: " if what else ""
        rows: list[np.ndarray] = []
        names: list[str] = []
        lag: list[bool] = []
        wlabel = _period_label(times[window])
        for c in predictors:
            name = f"{c} (mean {wlabel})"
            rows.append(self._mean(self.covs[c], window, name))
            names.append(name)
            lag.append(False)
        for col, periods, _op in special_predictors:
            if col != panel.outcome and col not in self.covs:
                raise DataError(
                    f"special predictor column {col!r} is not in the table", columns=[col]
                )
            idx = _locate_periods(
                times,
                periods,
                n_pre=limit,
                what=f"{prefix}special predictor {col!r}",
                column=col,
                late=late,
            )
            src = self.Y if col == panel.outcome else self.covs[col]
            name = f"{col} ({'mean ' if len(idx) > 1 else ''}{_period_label(times[idx])})"
            rows.append(self._mean(src, idx, name))
            names.append(name)
            lag.append(
                bool(col == panel.outcome and len(idx) == 1 and idx[0] in set(window.tolist()))
            )
        if not rows:  # default: every pre-period outcome in the window
            for t in window:
                rows.append(self.Y[:, t])
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
                f"{prefix}predictor(s) {const} take the same value for every unit, so they cannot "
                "be standardised or help choose donors",
                columns=[n.split(" (")[0] for n in const],
                fix="drop these predictors",
            )
        return X, names, np.asarray(lag, dtype=np.bool_)

    def _mean(self, src: np.ndarray, idx: np.ndarray, name: str) -> np.ndarray:
        """Per unit, the mean over the periods `idx` that have data (R's mean(na.rm = TRUE));
        DataError naming the units with no data at all there, or with an infinite value."""
        block = src[:, idx]
        col = name.split(" (")[0]
        if np.isinf(block).any():
            bad = self.units[np.isinf(block).any(axis=1)]
            raise DataError(
                f"predictor {name!r} has infinite values for unit(s) {list(bad[:5])}",
                columns=[col],
                fix="replace the infinite values or drop these units",
            )
        empty = np.isnan(block).all(axis=1)
        if empty.any():
            bad = list(self.units[empty][:5])
            raise DataError(
                f"predictor {name!r} has no data for unit(s) {bad} in its periods "
                f"{_period_label(self.times[idx])}",
                columns=[col],
                fix="average it over periods where it is observed, drop it, or drop these units",
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(block, axis=1)


def _donor_rows(units: pd.Index, pos: int, donors: Sequence[Any], *, column: str) -> np.ndarray:
    """Row positions of the treated unit and the donors (sorted); OptionError for unknown,
    repeated or treated entries, or an empty list."""
    if isinstance(donors, str) or not hasattr(donors, "__iter__"):
        raise OptionError(
            f"donors must be a list of {column!r} values, got {donors!r}",
            fix="e.g. donors=['B', 'C', 'D']",
        )
    donors = list(donors)
    if not donors:
        raise OptionError("donors lists no units", fix="list the units to build the control from")
    idx = units.get_indexer(pd.Index(donors)) if all(_hashable(d) for d in donors) else None
    if idx is None or (idx < 0).any():
        unknown = donors if idx is None else [d for d, i in zip(donors, idx, strict=True) if i < 0]
        raise OptionError(
            f"donors: {unknown[:5]} are not values of {column!r}",
            columns=[column],
            fix=f"choose among {list(units[:5])}…",
        )
    if len(set(idx.tolist())) != len(idx):
        raise OptionError("donors: a unit is listed twice", columns=[column])
    if pos in set(idx.tolist()):
        raise OptionError(
            f"donors: the treated unit {units[pos]!r} cannot be its own donor", columns=[column]
        )
    return np.sort(np.r_[idx, pos]).astype(np.int64)


def _validation_split(times: pd.Index, window: np.ndarray, start: Any, *, column: str) -> int:
    """Index into `window` of the first validation period (default: the window's second half)."""
    if len(window) < 2:
        raise DesignError(
            "cross-validated V needs at least two periods in the pre-period window",
            columns=[column],
        )
    if start is None:
        return len(window) // 2
    start = as_time(start, times)
    try:
        split = int(np.sum(np.asarray(times[window] < start)))
    except TypeError as exc:
        raise OptionError(
            f"validation_start {start!r} cannot be compared with {column!r} values",
            columns=[column],
        ) from exc
    if split == 0 or split == len(window):
        raise OptionError(
            f"validation_start {start!r} must split the pre-period window "
            f"{_period_label(times[window])} into a training and a validation part",
            columns=[column],
            fix=f"choose a period after {times[window[0]]!r} and up to {times[window[-1]]!r}",
        )
    return split


def _fixed_v(v: Any, names: Sequence[str]) -> np.ndarray:
    """Given predictor weights (a mapping or Series by predictor label, as the result's
    `predictor_weights`; a bare column name is accepted when it labels one predictor) → an array
    in predictor order, normalised to sum 1."""
    if not isinstance(v, Mapping | pd.Series):
        raise OptionError(
            f"v must be a pandas Series or a mapping by predictor label, got {type(v).__name__}",
            fix=f"e.g. v={{{names[0]!r}: 0.5, ...}}",
        )
    items = list(v.items())
    bare: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        bare.setdefault(n.split(" (")[0], []).append(i)
    out = np.full(len(names), np.nan)
    unknown = []
    for key, val in items:
        if key in names:
            i = names.index(key)
        elif isinstance(key, str) and len(bare.get(key, [])) == 1:
            i = bare[key][0]
        else:
            unknown.append(key)
            continue
        if isinstance(val, bool | np.bool_) or not isinstance(val, int | float | np.number):
            raise OptionError(f"v[{key!r}] must be a number, got {val!r}")
        if not np.isfinite(float(val)) or float(val) < 0:
            raise OptionError(f"v[{key!r}] = {float(val)} must be finite and non-negative")
        if not np.isnan(out[i]):
            raise OptionError(f"v gives predictor {names[i]!r} twice")
        out[i] = float(val)
    if unknown:
        raise OptionError(
            f"v names unknown predictor(s) {unknown[:5]}",
            fix=f"use the predictor labels {list(names)}",
        )
    missing = [names[i] for i in range(len(names)) if np.isnan(out[i])]
    if missing:
        raise OptionError(
            f"v gives no weight for predictor(s) {missing[:5]}",
            fix="give a weight (possibly 0) for every predictor",
        )
    if not out.sum() > 0:
        raise OptionError("v is zero for every predictor", fix="give some predictor a weight")
    return out / out.sum()


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
