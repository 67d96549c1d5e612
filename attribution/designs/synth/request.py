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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
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
    "check_flags",
    "check_long_panel",
    "check_names",
    "check_pre_periods",
    "check_reps",
    "check_se_feasible",
    "check_seed",
    "check_treatment",
    "check_zeta",
    "replications",
]


# -- options ------------------------------------------------------------------------------------


def check_seed(seed: object) -> int:
    """A non-negative integer seed."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise OptionError(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


def check_optional_seed(seed: object) -> int | None:
    """An integer seed or None (ADH: only randomised conformal permutations use it)."""
    if seed is not None and not isinstance(seed, int | np.integer):
        raise OptionError(f"seed must be an integer or None, got {seed!r}")
    return None if seed is None else int(seed)


def check_flags(**flags: object) -> None:
    """Each flag is True or False (not 1, not "yes")."""
    for name, flag in flags.items():
        if not isinstance(flag, bool | np.bool_):
            raise OptionError(f"{name} must be True or False, got {flag!r}")


def check_reps(n_reps: object, se_method: str | None, default: int) -> int | None:
    """Replications for placebo / bootstrap SEs; an error where they would have no effect."""
    if se_method in (None, "jackknife"):
        if n_reps is not None:
            raise OptionError(
                f"n_reps={n_reps!r} has no effect with se_method={se_method!r}",
                fix="drop n_reps, or use se_method='placebo' or 'bootstrap'",
            )
        return None
    if n_reps is None:
        return int(default)
    if isinstance(n_reps, bool) or not isinstance(n_reps, int | np.integer) or int(n_reps) < 2:
        raise OptionError(f"n_reps={n_reps!r} must be an integer ≥ 2")
    return int(n_reps)


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
        if n_reps is not None and n_reps != n_permutations:
            raise OptionError(
                f"n_reps={n_reps!r} and n_permutations={n_permutations!r} disagree",
                fix="pass n_reps only",
            )
        n_reps = n_permutations
    if n_reps is None:
        return None
    if isinstance(n_reps, bool) or not isinstance(n_reps, int | np.integer) or int(n_reps) < 2:
        raise OptionError(f"n_reps={n_reps!r} must be an integer ≥ 2")
    return int(n_reps)


def check_zeta(name: str, value: object, method: str, *, allowed: tuple[str, ...]) -> float | None:
    """A ridge override ζ ≥ 0, accepted only by the methods it applies to."""
    if value is None:
        return None
    if method not in allowed:
        raise OptionError(
            f"{name} has no effect with method={method!r}",
            fix=f"drop {name}; it applies to method {' or '.join(repr(a) for a in allowed)}",
        )
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v >= 0):
        raise OptionError(f"{name}={value!r} must be a finite number ≥ 0")
    return v


def check_treatment_name(treatment: object) -> str:
    if not isinstance(treatment, str):
        raise OptionError(
            f"treatment must be a column name, got {treatment!r}",
            fix="pass the 0/1 column that marks treated unit-periods",
        )
    return treatment


def check_conformal_options(permutation: object, q: object) -> None:
    """Permutation scheme and the order q ≥ 1 (or inf) of the test statistic."""
    check_option("permutation", permutation, Permutation)
    if not (q == np.inf or (isinstance(q, int | float | np.number) and q >= 1)):
        raise OptionError(f"q must be ≥ 1 or inf, got {q!r}")


def check_table_request(**needed: object) -> None:
    """The design columns a table input needs (conformal inference straight from a table)."""
    missing = [k for k, v in needed.items() if v is None]
    if missing:
        raise OptionError(
            f"conformal_interval on a table needs {missing}",
            fix="pass them, or pass a SyntheticControlResult",
        )


def normalise_predictors(predictors: Sequence[str] | None) -> list[str]:
    """Covariate predictor columns as a list of distinct names."""
    if predictors is None:
        return []
    if isinstance(predictors, str):
        predictors = [predictors]
    out = list(predictors)
    if any(not isinstance(c, str) or not c for c in out):
        raise OptionError(f"predictors must be column names, got {predictors!r}")
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise OptionError(f"predictor(s) {dup} listed twice", columns=dup, fix="list each once")
    return out


def normalise_specials(
    specials: Sequence[SpecialPredictor] | None,
) -> list[tuple[str, list, str]]:
    """``(column, periods, "mean")`` triples with `periods` as a non-empty list."""
    if specials is None:
        return []
    out = []
    for sp in specials:
        if not isinstance(sp, tuple | list) or len(sp) != 3:
            raise OptionError(
                f"special predictor {sp!r} must be a (column, periods, 'mean') triple",
                fix="e.g. special_predictors=[('packs', [1975], 'mean'), ('packs', range(1980, 1989), 'mean')]",
            )
        col, periods, op = sp
        if not isinstance(col, str) or not col:
            raise OptionError(f"special predictor column must be a column name, got {col!r}")
        if op != "mean":
            raise OptionError(
                f"special predictor operation {op!r} for {col!r} is not supported",
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


def check_placebo_start(times: pd.Index, n_pre: int, placebo_start: Any) -> int:
    """Number of periods before a fake treatment date strictly inside the pre-period."""
    pre_times = times[:n_pre]
    try:
        n_fake = int(np.sum(np.asarray(pre_times < placebo_start)))
    except TypeError as exc:
        raise DesignError(
            f"placebo_start {placebo_start!r} cannot be compared with the periods", columns=[]
        ) from exc
    if n_fake == 0 or n_fake >= n_pre:
        raise DesignError(
            f"placebo_start {placebo_start!r} must fall strictly inside the pre-period "
            f"({times[0]!r} < placebo_start ≤ {times[n_pre - 1]!r}) with a pre-period before it",
            fix=f"choose a date between {times[1]!r} and {times[n_pre - 1]!r}",
        )
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
                f"{role} must be a column name (a non-empty string), got {name!r}",
                fix=f"pass {role}='<column>'",
            )
    if treatment is not None and (not isinstance(treatment, str) or not treatment):
        raise DataError(f"treatment must be a column name or None, got {treatment!r}")
    if covariates is None:
        covs: list[str] = []
    elif isinstance(covariates, str):
        covs = [covariates]
    else:
        covs = list(covariates)
    if any(not isinstance(c, str) or not c for c in covs):
        raise DataError(f"covariates must be column names, got {covariates!r}")
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

    DataError for missing/mistyped columns, duplicated (unit, time) rows, an unbalanced panel,
    missing outcomes or covariates, or a treatment that is not 0/1.
    """
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
        show = list(dict.fromkeys([unit, time, *cols]))
        rows = examples(table, pred, show)
        units = ", ".join(repr(u) for u in pd.unique(rows[unit]))
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
            f"period {times[0]!r}): {_names(units[always], n_show)}",
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
    shown = ", ".join(repr(v) for v in list(values[:n]))
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def check_pre_periods(panel: SynthPanel, method: str) -> None:
    """SDID and SC need ≥ 2 pre-periods per cohort (weights and the noise level σ̂)."""
    if method == "did":
        return
    for a, treated in panel.cohorts().items():
        if a < 2:
            raise DesignError(
                f"cohort first treated at {panel.times[a]!r} has {a} pre-period(s); method "
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
            f"({panel.units[fits[0].treated[0]]!r})",
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
                f"weight on one donor ({panel.units[single[0].controls[np.argmax(single[0].omega)]]!r})",
                columns=[panel.treatment or ""],
                fix="use se_method='placebo' or 'bootstrap'",
            )
