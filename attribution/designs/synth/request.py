"""Request checks for the synthetic designs: arguments, the long panel in the engine, the treatment.

Everything a caller can get wrong is checked here, before any math, with a typed error naming the
argument or the columns, the offending values or rows, and the fix: options of `fit`,
`synthetic_control` and `conformal_interval`; the long table (columns, duplicated or missing
unit-periods, a 0/1 treatment), checked in the engine before the one guarded pull; the treatment
pattern on the wide matrix; and whether a standard-error method is feasible for the fitted cohorts.
Checks that need a built ADH problem (treated unit, periods of the predictors) live in `problem`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config, options
from attribution.data.checks import count_where, examples, is_missing
from attribution.data.engine import require_columns
from attribution.data.panel import check_panel
from attribution.errors import DataError, DesignError, OptionError
from attribution.options import Permutation, check_option

if TYPE_CHECKING:
    from attribution.designs.synth.panel import SynthPanel
    from attribution.designs.synth.problem import SpecialPredictor
    from attribution.designs.synth.sdid import CohortFit

__all__ = [
    "check_conformal_options",
    "check_design_point",
    "check_flags",
    "check_grid",
    "check_long_panel",
    "check_names",
    "check_optional_seed",
    "check_placebo_start",
    "check_pre_periods",
    "check_reps",
    "check_result",
    "check_result_request",
    "check_se_feasible",
    "check_seed",
    "check_table_request",
    "check_treatment",
    "check_treatment_name",
    "check_zeta",
    "normalise_predictors",
    "normalise_specials",
    "replications",
    "require_present",
    "show",
]


# -- options ------------------------------------------------------------------------------------

ZETA_MAX = 1e100
"""Largest ridge override accepted: ζ² multiplies the weights' squared norm in the solver and must
stay a finite double; a value like 1e300 is a typo, not a choice (any ζ far above the outcome's
scale already makes the weights uniform)."""


def check_seed(seed: object) -> int:
    """A seed for the replications: an integer in [0, 2**63)."""
    return options.check_seed(seed)


def check_optional_seed(seed: object) -> int | None:
    """An integer seed or None (ADH: only randomised conformal permutations use it)."""
    return None if seed is None else options.check_seed(seed)


def check_flags(**flags: object) -> None:
    """Each flag is True or False (not 1, not "yes")."""
    for name, flag in flags.items():
        options.check_bool(name, flag)


def check_reps(n_reps: object, se_method: str | None, default: int) -> int | None:
    """Replications for placebo / bootstrap SEs; an error where they would have no effect."""
    if se_method in (None, "jackknife"):
        if n_reps is not None:
            options.check_int("n_reps", n_reps, minimum=2)
            raise OptionError(
                f"n_reps={options.plain(n_reps)} has no effect with se_method={se_method!r}",
                fix="drop n_reps, or use se_method='placebo' or 'bootstrap'",
            )
        return None
    if n_reps is None:
        return int(default)
    return options.check_int("n_reps", n_reps, minimum=2)


def replications(n_reps: object, n_permutations: object, *, stacklevel: int = 3) -> int | None:
    """`n_reps`, or the deprecated `n_permutations` with a DeprecationWarning (None: the default).

    Every replication count in the package is called `n_reps`; `stacklevel` points the warning at
    the caller of the public function that received `n_permutations`.
    """
    if n_permutations is not None:
        warnings.warn(
            "n_permutations is deprecated; use n_reps (the one name for replication counts)",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        options.check_int("n_permutations", n_permutations, minimum=2)
        if n_reps is not None and n_reps != n_permutations:
            raise OptionError(
                f"n_reps={options.plain(n_reps)} and "
                f"n_permutations={options.plain(n_permutations)} disagree",
                fix="pass n_reps only",
            )
        n_reps = n_permutations
    if n_reps is None:
        return None
    return options.check_int("n_reps", n_reps, minimum=2)


def check_zeta(name: str, value: object, method: str, *, allowed: tuple[str, ...]) -> float | None:
    """A ridge override 0 ≤ ζ ≤ `ZETA_MAX`, accepted only by the methods it applies to."""
    if value is None:
        return None
    v = options.check_float(name, value, low=0.0, high=ZETA_MAX)
    if method not in allowed:
        raise OptionError(
            f"{name} has no effect with method={method!r}",
            fix=f"drop {name}; it applies to method {' or '.join(repr(a) for a in allowed)}",
        )
    return v


def check_treatment_name(treatment: object) -> str:
    if not isinstance(treatment, str) or not treatment:
        raise OptionError(
            f"treatment must be a column name, got {options.plain(treatment)}",
            fix="pass the 0/1 column that marks treated unit-periods",
        )
    return treatment


Q_MAX = 100.0
"""Largest finite order q of the conformal statistic: |u|^q overflows double precision beyond it
for gaps of ordinary size; q=inf is the sup norm."""


def check_conformal_options(permutation: object, q: object) -> float:
    """Permutation scheme and the order 1 ≤ q ≤ `Q_MAX` (or inf) of the test statistic."""
    check_option("permutation", permutation, Permutation)
    if isinstance(q, float | np.floating) and q == math.inf:
        return math.inf
    try:
        return options.check_float("q", q, low=1.0, high=Q_MAX)
    except OptionError as exc:
        raise OptionError(exc.message, fix=f"{exc.fix}, or inf (the sup norm)") from None


def check_grid(grid: object) -> np.ndarray | None:
    """Candidate effects for the conformal test inversion: a non-empty 1-d array of finite numbers."""
    if grid is None:
        return None
    arr = None
    if not isinstance(grid, str | bytes) and hasattr(grid, "__len__"):
        try:
            arr = np.asarray(grid)
        except (TypeError, ValueError):
            arr = None
    ok = (
        arr is not None
        and arr.ndim == 1
        and arr.size > 0
        and (arr.dtype.kind in "iuf")
        and bool(np.isfinite(arr).all())
    )
    if not ok:
        shown = options.plain(grid) if not hasattr(grid, "__len__") else type(grid).__name__
        raise OptionError(
            f"grid={shown} is not valid",
            fix="pass a non-empty 1-d array of finite candidate effects, e.g. "
            "np.linspace(-1, 1, 81), or None for the adaptive grid",
        )
    return arr.astype(float)


def check_result(result: object, kind: type, *, function: str) -> None:
    """The fitted result a robustness check takes (`kind`: `SyntheticControlResult`, passed in so
    that request does not import results)."""
    if not isinstance(result, kind):
        raise OptionError(
            f"{function} takes the result of synthetic_control, got {type(result).__name__}",
            fix=f"res = at.synth.synthetic_control(...); at.synth.{function}(res, ...)",
        )


def check_table_request(**needed: object) -> None:
    """The design columns a table input needs (conformal inference straight from a table)."""
    missing = [k for k, v in needed.items() if v is None]
    if missing:
        raise OptionError(
            f"conformal_interval on a table needs {missing}",
            fix="pass them, or pass a SyntheticControlResult",
        )


def check_result_request(**given: object) -> None:
    """Table-only arguments are refused with a fitted result (they would be silently ignored)."""
    extra = [k for k, v in given.items() if v is not None]
    if extra:
        raise OptionError(
            f"{', '.join(extra)} only apply when conformal_interval is given a table; the "
            "SyntheticControlResult already fixes them",
            fix=f"drop {', '.join(extra)}",
        )


def normalise_predictors(predictors: Sequence[str] | None) -> list[str]:
    """Covariate predictor columns as a list of distinct names."""
    if predictors is None:
        return []
    out = _names_list("predictors", predictors)
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise OptionError(f"predictor(s) {dup} listed twice", columns=dup, fix="list each once")
    return out


def _names_list(name: str, value: object) -> list[str]:
    """A column name or a list of them (non-empty strings)."""
    if isinstance(value, str):
        value = [value]
    ok = not isinstance(value, bytes | Mapping) and hasattr(value, "__iter__")
    out = list(value) if ok else []  # type: ignore[call-overload]
    if not ok or any(not isinstance(c, str) or not c for c in out):
        shown = options.plain(value) if not ok else repr([options.plain(c) for c in out])
        raise OptionError(
            f"{name}={shown} is not valid",
            fix=f"{name} must be a list of column names",
        )
    return out


def normalise_specials(
    specials: Sequence[SpecialPredictor] | None,
) -> list[tuple[str, list, str]]:
    """``(column, periods, "mean")`` triples with `periods` as a non-empty list."""
    if specials is None:
        return []
    if isinstance(specials, str | bytes | Mapping) or not hasattr(specials, "__iter__"):
        raise OptionError(
            f"special_predictors={options.plain(specials)} is not valid",
            fix="pass a list of (column, periods, 'mean') triples",
        )
    out = []
    for sp in specials:
        if not isinstance(sp, tuple | list) or len(sp) != 3:
            raise OptionError(
                f"special predictor {options.plain(sp)} must be a (column, periods, 'mean') triple",
                fix="e.g. special_predictors=[('packs', [1975], 'mean'), ('packs', range(1980, 1989), 'mean')]",
            )
        col, periods, op = sp
        if not isinstance(col, str) or not col:
            raise OptionError(
                f"special predictor column must be a column name, got {options.plain(col)}"
            )
        if op != "mean":
            raise OptionError(
                f"special predictor operation {options.plain(op)} for {col!r} is not supported",
                columns=[col],
                fix="use 'mean'",
            )
        if isinstance(periods, str) or not hasattr(periods, "__iter__"):
            periods = [periods]
        periods = list(periods)
        if not periods:
            raise OptionError(f"special predictor for {col!r} lists no periods", columns=[col])
        out.append((col, periods, op))
    return out


# -- values on the panel's grid ---------------------------------------------------------------


def show(value: Any) -> str:
    """A unit or period as a user wrote it (1, 'CA', '2026-03-02'), never a numpy repr."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return repr(str(value.date()))
    return options.plain(value)


def _shown(values: Sequence[Any], n: int = 5) -> str:
    vals = list(values)
    return ", ".join(show(v) for v in vals[:n]) + (" …" if len(vals) > n else "")


def _position(value: Any, values: pd.Index) -> int:
    """Position of `value` among `values`, or -1 (a bool, an unhashable or foreign value)."""
    if isinstance(value, bool | np.bool_):
        return -1
    try:
        return int(values.get_indexer([value])[0])
    except (TypeError, ValueError):
        return -1


def _periods_before(name: str, value: Any, times: pd.Index) -> int:
    """Number of periods before `value`; DesignError when it cannot be compared with them."""
    try:
        n = np.asarray(times < value)
        if n.dtype != np.bool_ or n.shape != (len(times),):
            raise TypeError
    except (TypeError, ValueError):
        raise DesignError(
            f"{name} {show(value)} cannot be compared with {times.name!r} values ({times.dtype})",
            columns=[str(times.name)],
            fix=f"pass a value of {times.name!r}, e.g. {show(times[len(times) // 2])}",
        ) from None
    return int(n.sum())


def _require_on_grid(name: str, value: Any, times: pd.Index, n_before: int) -> None:
    """The one grid check: a start between two periods (8.5 on integer periods) is refused."""
    if _position(value, times) < 0:
        near = _shown(times[max(n_before - 1, 0) : n_before + 1])
        raise DesignError(
            f"{name} {show(value)} is not one of the {times.name!r} periods",
            columns=[str(times.name)],
            fix=f"use a period of {times.name!r} (the nearest are {near})",
        )


def check_design_point(panel: SynthPanel, *, treated_unit: Any, treatment_start: Any) -> int:
    """The treated unit is a unit of the panel and the treatment start one of its periods, with at
    least one period before and one from it on; returns the number of pre-periods."""
    units, times = panel.units, panel.times
    if _position(treated_unit, units) < 0:
        raise DesignError(
            f"treated_unit {show(treated_unit)} is not a value of {panel.unit!r}",
            columns=[panel.unit],
            fix=f"choose one of the {len(units)} units, e.g. {_shown(units)}",
        )
    n_pre = _periods_before("treatment_start", treatment_start, times)
    if n_pre == 0:
        raise DesignError(
            f"treatment_start {show(treatment_start)} leaves no pre-treatment period for "
            f"{show(treated_unit)} (first period {show(times[0])})",
            columns=[panel.time],
            rows=pd.DataFrame({panel.unit: [treated_unit], "first_period": [times[0]]}),
            fix=f"choose a treatment start after {show(times[0])}",
        )
    if n_pre == len(times):
        raise DesignError(
            f"treatment_start {show(treatment_start)} is after the last period "
            f"{show(times[-1])}: no post-treatment period for {show(treated_unit)}",
            columns=[panel.time],
            rows=pd.DataFrame({panel.unit: [treated_unit], "last_period": [times[-1]]}),
            fix=f"choose a treatment start between {show(times[1])} and {show(times[-1])}",
        )
    _require_on_grid("treatment_start", treatment_start, times, n_pre)
    return n_pre


def check_placebo_start(times: pd.Index, n_pre: int, placebo_start: Any) -> int:
    """Number of periods before a fake treatment date, a period strictly inside the pre-period."""
    n_fake = _periods_before("placebo_start", placebo_start, times[:n_pre])
    if n_fake == 0 or n_fake >= n_pre:
        raise DesignError(
            f"placebo_start {show(placebo_start)} must fall strictly inside the pre-period "
            f"({show(times[0])} < placebo_start ≤ {show(times[n_pre - 1])}) with a pre-period "
            "before it",
            columns=[str(times.name)],
            fix=f"choose a period between {show(times[1])} and {show(times[n_pre - 1])}",
        )
    _require_on_grid("placebo_start", placebo_start, times, n_fake)
    return n_fake


# -- the long panel, in the engine ------------------------------------------------------------


def check_names(
    outcome: str,
    unit: str,
    time: str,
    treatment: str | None,
    covariates: Sequence[str] | None,
) -> list[str]:
    """Column-name arguments are non-empty strings, one role each; returns the covariates."""
    for role, name in (("outcome", outcome), ("unit", unit), ("time", time)):
        if not isinstance(name, str) or not name:
            raise DataError(
                f"{role} must be a column name (a non-empty string), got {options.plain(name)}",
                fix=f"pass {role}='<column>'",
            )
    if treatment is not None and (not isinstance(treatment, str) or not treatment):
        raise DataError(f"treatment must be a column name or None, got {options.plain(treatment)}")
    covs = [] if covariates is None else _names_list("covariates", covariates)
    roles = [outcome, unit, time] + ([treatment] if treatment else []) + covs
    dup = sorted({c for c in roles if roles.count(c) > 1})
    if dup:
        raise DataError(
            f"column(s) {dup} used in more than one role (outcome, unit, time, treatment, "
            "covariates)",
            columns=dup,
            fix="give each role its own column",
        )
    return covs


def check_panel_columns(
    table: ir.Table,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str | None,
    covariates: list[str],
) -> None:
    """DataError for missing or mistyped columns (the schema only; run with the user's names)."""
    spec: dict[str, str] = {unit: "key", time: "key", outcome: "numeric"}
    if treatment is not None:
        spec[treatment] = "binary"
    for c in covariates:
        spec[c] = "numeric"
    require_columns(table, spec, role="synthetic panel")
    ttype = table.schema()[time]
    if not (ttype.is_integer() or ttype.is_temporal()):
        raise DataError(
            f"time column {time!r} is {ttype}; periods must be ordered integers or dates",
            columns=[time],
            fix=f"encode {time!r} as an integer period index or a date",
        )
    if table.schema()[unit].is_boolean():
        raise DataError(
            f"unit column {unit!r} is boolean; it must identify units",
            columns=[unit],
            fix="use a string or integer unit identifier",
        )


def check_long_panel(
    table: ir.Table,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str | None,
    covariates: list[str],
    missing_covariates: bool = False,
) -> int:
    """Check the long table in the engine; returns its number of rows.

    `missing_covariates=True` skips the missing-value check of the covariates (ADH averages
    predictors over the periods that have data; `problem` checks what remains).

    DataError for duplicated (unit, time) rows, an unbalanced panel, missing outcomes or
    covariates, or a treatment that is not 0/1 (the columns are checked by `check_panel_columns`).
    """
    require_present(table, unit, time, [unit, time], what="unit or time identifiers")
    shape = check_panel(table, unit=unit, time=time, require_balanced=True)
    require_present(table, unit, time, [outcome], what="outcome")
    if covariates and not missing_covariates:
        require_present(table, unit, time, covariates, what="covariate")
    if treatment is not None:
        require_present(table, unit, time, [treatment], what="treatment")
        t = table[treatment].cast("float64")
        bad = (t != 0.0) & (t != 1.0)
        n_bad = count_where(table, bad)
        if n_bad:
            raise DataError(
                f"treatment column {treatment!r} must be 0/1; {n_bad:,} rows hold other values",
                columns=[treatment],
                rows=examples(table, bad, [unit, time, treatment]),
                fix="code treated unit-periods as 1 and untreated ones as 0",
            )
    return shape.n_rows


def require_present(
    table: ir.Table, unit: str, time: str, cols: Sequence[str], *, what: str
) -> None:
    """DataError naming the units and periods where any of `cols` is NULL / NaN / ±inf."""
    pred = ibis.or_(*[is_missing(table[c]) for c in cols])
    n_bad = count_where(table, pred)
    if n_bad:
        listed = list(dict.fromkeys([unit, time, *cols]))
        rows = examples(table, pred, listed)
        units = ", ".join(show(u) for u in pd.unique(rows[unit]))
        raise DataError(
            f"missing or non-finite {what} in {n_bad:,} unit-period(s) (e.g. units {units})",
            columns=list(cols),
            rows=rows,
            fix="fill these unit-periods or drop the affected units explicitly; synthetic "
            "designs need a complete balanced panel",
        )


# -- the treatment pattern and what it allows -------------------------------------------------


def check_treatment(
    W: np.ndarray, units: pd.Index, times: pd.Index, *, treatment: str = "treatment"
) -> tuple[np.ndarray, np.ndarray]:
    """Check an N×T 0/1 treatment pattern; return (treated mask, adoption column index or -1).

    Treatment must switch on at most once and stay on (absorbing), start after at least one
    untreated period, and leave at least one never-treated unit.
    """
    n_show = config.get().example_rows
    W = np.asarray(W, dtype=bool)
    off = W[:, :-1] & ~W[:, 1:]
    if off.any():
        bad = np.flatnonzero(off.any(axis=1))
        rows = pd.DataFrame(
            {
                units.name or "unit": units[bad[:n_show]],
                "treated_at": [times[np.argmax(W[i])] for i in bad[:n_show]],
                "switched_off_at": [times[np.argmax(off[i]) + 1] for i in bad[:n_show]],
            }
        )
        raise DesignError(
            f"treatment {treatment!r} switches off for {len(bad)} unit(s): "
            f"{_names(units[bad], n_show)}; synthetic designs need treatment that stays on",
            columns=[treatment],
            rows=rows,
            fix="keep treatment on once it starts (absorbing), or drop the periods after it "
            "ends, or drop these units",
        )
    treated = W.any(axis=1)
    if not treated.any():
        raise DesignError(
            f"no unit is ever treated ({treatment!r} is 0 everywhere)",
            columns=[treatment],
            fix="mark the treated unit-periods with 1",
        )
    adoption = np.where(treated, np.argmax(W, axis=1), -1).astype(np.int64)
    always = np.flatnonzero(treated & (adoption == 0))
    if len(always):
        rows = pd.DataFrame(
            {units.name or "unit": units[always[:n_show]], "first_treated": times[0]}
        )
        raise DesignError(
            f"{len(always)} treated unit(s) have no untreated pre-period (treated from the first "
            f"period {show(times[0])}): {_names(units[always], n_show)}",
            columns=[treatment],
            rows=rows,
            fix="add pre-treatment periods for these units, or drop them",
        )
    if treated.all():
        raise DesignError(
            f"no donors: all {len(units)} units are treated at some period; synthetic designs "
            "need never-treated units",
            columns=[treatment],
            fix="add units that are never treated (the donor pool)",
        )
    return treated, adoption


def _names(values: pd.Index, n: int) -> str:
    shown = ", ".join(show(v) for v in list(values[:n]))
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def check_pre_periods(panel: SynthPanel, method: str) -> None:
    """SDID and SC need ≥ 2 pre-periods per cohort (weights and the noise level σ̂)."""
    if method == "did":
        return
    for a, treated in panel.cohorts().items():
        if a < 2:
            raise DesignError(
                f"cohort first treated at {show(panel.times[a])} has {a} pre-period(s); method "
                f"{method!r} needs at least 2 to fit weights and estimate the noise level",
                columns=[panel.time, panel.treatment or ""],
                rows=pd.DataFrame(
                    {panel.unit: panel.units[treated], "first_treated": panel.times[a]}
                ),
                fix="add earlier periods, drop these units, or use method='did'",
            )


def check_se_feasible(se_method: str, fits: list[CohortFit], panel: SynthPanel) -> None:
    """Enough never-treated / treated units (and dispersed weights) for `se_method`."""
    n_tr = sum(len(f.treated) for f in fits)
    n_co = len(fits[0].controls)
    if se_method == "placebo" and n_co <= n_tr:
        raise DesignError(
            f"placebo standard errors need more never-treated units than treated units; there are "
            f"{n_co} never-treated and {n_tr} treated units",
            columns=[panel.treatment or ""],
            fix="use se_method='jackknife' or 'bootstrap' (several treated units), or add donors",
        )
    if se_method == "bootstrap" and n_tr < 2:
        raise DesignError(
            "bootstrap standard errors need at least 2 treated units; there is 1 "
            f"({show(panel.units[fits[0].treated[0]])})",
            columns=[panel.treatment or ""],
            fix="use se_method='placebo' with a single treated unit",
        )
    if se_method == "jackknife":
        small = [f for f in fits if len(f.treated) < 2]
        if small:
            rows = pd.DataFrame(
                {
                    "cohort": [panel.times[f.spec.adoption] for f in small],
                    "n_treated": [len(f.treated) for f in small],
                    "units": [", ".join(str(u) for u in panel.units[f.treated]) for f in small],
                }
            )
            raise DesignError(
                f"jackknife standard errors need at least 2 treated units in every adoption "
                f"cohort; {len(small)} cohort(s) have 1",
                columns=[panel.treatment or ""],
                rows=rows,
                fix="use se_method='placebo' (or 'bootstrap' with several treated units)",
            )
        single = [f for f in fits if np.count_nonzero(f.omega > 1e-12) < 2]  # numerically
        if single:
            raise DesignError(
                "the fixed-weight jackknife is undefined when a cohort's unit weights put all "
                f"weight on one donor ({show(panel.units[single[0].controls[np.argmax(single[0].omega)]])})",
                columns=[panel.treatment or ""],
                fix="use se_method='placebo' or 'bootstrap'",
            )
