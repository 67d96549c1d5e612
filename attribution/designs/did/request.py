"""Request checks for every DiD function: argument values, column roles and the panel's shape.

One module validates what `api.py` is asked to do before anything is estimated: column names and
roles, option values (through `attribution.options`), the staggered-adoption panel of `att_gt`,
the event studies and Sun & Abraham (R `did` conventions, `validate_did_panel`), the fixed-effects
panels of `twfe` and `did_2x2`, and the launch log of the per-component designs.

The panel is long: one row per (unit, period) with an outcome, the period, the unit id and the unit's
treatment cohort ``gname`` = the first period in which the unit is treated, ``0`` for never treated
(R `did`'s convention; a cohort after the last observed period also counts as never treated, as in R).

Where R `did` silently drops or coerces (units treated in the first period, rows with missing values,
units missing from some periods, no never-treated units) we raise a typed error that names the rows
and says how to fix them, so that nothing is dropped without the user knowing. Every check on a
table runs in the engine; only counts and a few example rows come back. The few checks that need the
unit rows a design pulls anyway (a 0/1 treatment that never switches off) take that pulled frame.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import is_missing, require_complete, require_unique
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.data.numeric import check_outcome
from attribution.data.panel import PanelShape, check_panel
from attribution.data.roles import RESERVED_PREFIX, Roles, internal, select_roles
from attribution.errors import DataError, DesignError, OptionError
from attribution.options import (
    ControlGroup,
    FeVcov,
    HonestMethod,
    SaControl,
    check_float,
    check_int,
    check_option,
    check_seed,
    plain,
)
from attribution.results import DataFingerprint

__all__ = [
    "DidPanel",
    "FePanel",
    "check_anticipation",
    "check_biters",
    "check_bool",
    "check_control_group",
    "check_event_result",
    "check_event_time",
    "check_fe_vcov",
    "check_honest_options",
    "check_launch_log",
    "check_optional_seed",
    "check_periods",
    "check_ref",
    "check_target_event_time",
    "check_window",
    "column_name",
    "column_names",
    "distinct_roles",
    "parse_xformla",
    "require_2x2_cells",
    "require_absorbing",
    "require_binary",
    "require_covariates",
    "require_joinable",
    "require_log_units_in_panel",
    "require_never_treated_for_cs",
    "require_on_grid",
    "require_weights",
    "resolve_clustervars",
    "sun_abraham_control_group",
    "to_user_names",
    "user_columns",
    "validate_did_panel",
    "validate_fe_panel",
]

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------------------------------------
# argument values
# ------------------------------------------------------------------------------------------------
def column_name(value: object, what: str) -> str:
    """`value` if it is a column name (a non-empty string), else OptionError naming `what`."""
    if not isinstance(value, str) or not value:
        raise OptionError(f"{what} must be a column name (a non-empty string), got {value!r}")
    return value


def column_names(value: object, what: str) -> tuple[str, ...]:
    """None, one name or a list of names → a tuple of column names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (column_name(value, what),)
    if isinstance(value, Sequence):
        return tuple(column_name(v, what) for v in value)
    raise OptionError(f"{what} must be a column name or a list of names, got {value!r}")


def distinct_roles(roles: dict[str, Sequence[str] | str | None]) -> None:
    """OptionError if one column is given two roles (e.g. the outcome is also the treatment)."""
    flat: list[str] = []
    for v in roles.values():
        if v is None:
            continue
        flat.extend([v] if isinstance(v, str) else list(v))
    dup = sorted({c for c in flat if flat.count(c) > 1})
    if dup:
        raise OptionError(
            f"the same column is given more than one role: {dup}",
            columns=dup,
            fix="pass distinct columns for " + ", ".join(roles),
        )


def check_bool(name: str, value: object) -> bool:
    """True or False (`options.check_bool`)."""
    from attribution.options import check_bool as _check

    return _check(name, value)


MAX_BITERS = 10_000_000
"""More multiplier-bootstrap draws than this only spend memory (n_units × biters doubles)."""
MAX_EVENT_TIME = 2**31
"""Event times and reference periods beyond ±2**31 periods lie off any panel."""
MAX_M = 1e100
"""Largest smoothness bound M of honest_did (in outcome units): its squares stay finite."""
MAX_MBAR = 1e6
"""Largest relative-magnitude bound M̄ of honest_did (a ratio of post- to pre-period violations)."""


def check_biters(biters: object) -> int:
    """R `did`'s number of multiplier-bootstrap draws: an integer in [10, MAX_BITERS]."""
    return check_int("biters", biters, minimum=10, maximum=MAX_BITERS)


def check_optional_seed(seed: object) -> int:
    """A seed, or None for the configured one (`config.get().seed`)."""
    return config.get().seed if seed is None else check_seed(seed)


def check_anticipation(value: object) -> float:
    """Periods of anticipation: a finite number >= 0 (whether it is on the grid of periods is
    checked with the panel, `require_on_grid`)."""
    return check_float("anticipation", value, low=0.0)


def check_event_time(name: str, value: object) -> float:
    """An event-time bound of aggte (min_e, max_e): a number, or ±inf for no bound (R's -Inf/Inf);
    strings, booleans and NaN are refused."""
    real = isinstance(value, float | int | np.floating | np.integer)
    if real and not isinstance(value, bool | np.bool_) and math.isinf(float(value)):  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    return check_float(name, value, low=-MAX_EVENT_TIME, high=MAX_EVENT_TIME)


def check_ref(ref: object) -> int:
    """The reference event time: an integer (e.g. -1)."""
    return check_int("ref", ref, minimum=-MAX_EVENT_TIME, maximum=MAX_EVENT_TIME)


def check_window(window: object, *, ref: int | None = None) -> tuple[int, int] | None:
    """An event-time window (first, last), which must contain `ref` when given."""
    if window is None:
        return None
    ok = isinstance(window, Sequence) and not isinstance(window, str) and len(window) == 2
    if ok:
        try:
            lo, hi = (
                check_int("window", w, minimum=-MAX_EVENT_TIME, maximum=MAX_EVENT_TIME)
                for w in window  # type: ignore[union-attr]
            )
        except OptionError:
            ok = False
        else:
            ok = lo <= hi
    if not ok:
        raise OptionError(
            f"window={plain(window)} must be a pair of integers (first, last event time), "
            "first <= last"
        )
    if ref is not None and not lo <= ref <= hi:
        raise OptionError(
            f"window={[lo, hi]} does not contain the reference event time ref={ref}",
            fix="widen the window or move ref inside it",
        )
    return lo, hi


def check_periods(name: str, value: object) -> int:
    """A non-negative whole number of periods."""
    return check_int(name, value, minimum=0, maximum=MAX_EVENT_TIME)


def check_control_group(value: object, supported: tuple[str, ...]) -> str:
    """A comparison group from the shared `ControlGroup` vocabulary, among those this function
    supports (`supported`, a subset; the OptionError names it)."""
    assert set(supported) <= set(get_args(ControlGroup)), supported
    return str(check_option("control_group", value, supported))


def sun_abraham_control_group(control: object, control_group: object) -> str:
    """The comparison group of sun_abraham; the old ``control="never"|"last"`` still works (warns)."""
    if control is None:
        return check_control_group(control_group, ("nevertreated", "lasttreated"))
    warnings.warn(
        'sun_abraham(control=...) is deprecated; use control_group="nevertreated" or "lasttreated"',
        DeprecationWarning,
        stacklevel=3,
    )
    check_option("control", control, SaControl)
    mapped = {"never": "nevertreated", "last": "lasttreated"}[str(control)]
    if control_group not in ("nevertreated", mapped):
        raise OptionError(
            f"control={control!r} and control_group={control_group!r} disagree",
            fix="pass control_group only",
        )
    return mapped


def resolve_clustervars(
    clustervars: str | Sequence[str] | None, cluster: str | Sequence[str] | None
) -> str | Sequence[str] | None:
    """att_gt's cluster variable: R's `clustervars`, or `cluster` as everywhere else (not both)."""
    if cluster is not None and clustervars is not None:
        raise OptionError(
            "cluster= and clustervars= name the same thing; pass one of them",
            fix="e.g. att_gt(..., cluster='state')",
        )
    return clustervars if cluster is None else cluster


def check_fe_vcov(vcov: object, cluster: object, *, default: str | None) -> tuple[str, str | None]:
    """(vcov, cluster column) of a fixed-effects regression: CR1 clusters on `cluster` (default
    `default`); "HC1" and "iid" take no cluster."""
    vcov = str(check_option("vcov", vcov, FeVcov))
    if vcov != "CR1":
        if cluster is not None:
            raise OptionError(
                f"cluster={cluster!r} only applies to vcov='CR1'",
                fix="drop cluster=, or use vcov='CR1' for cluster-robust standard errors",
            )
        return vcov, None
    if cluster is None:
        return vcov, default
    return vcov, column_name(cluster, "cluster")


_TERM = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def parse_xformla(xformla: str | None) -> tuple[str, ...]:
    """Covariate names from an R one-sided formula: None, "~1", "~ x1 + x2" (main effects only)."""
    if xformla is None:
        return ()
    if not isinstance(xformla, str) or not xformla.strip().startswith("~"):
        raise OptionError(
            f"xformla={xformla!r} is not a one-sided formula",
            fix='write it like R `did`: "~1" (no covariates) or "~ x1 + x2"',
        )
    rhs = xformla.strip()[1:].strip()
    terms = [t.strip() for t in rhs.split("+")]
    bad = [t for t in terms if not (t == "1" or _TERM.match(t))]
    if not rhs or bad:
        raise OptionError(
            f"xformla={xformla!r}: unsupported term(s) {bad or [rhs]}",
            fix="use column names joined by '+' (no interactions, functions or '-1'); build "
            "transformed covariates as columns first",
        )
    return tuple(dict.fromkeys(t for t in terms if t != "1"))


def check_sensitivity_grid(name: str, values: object, *, high: float) -> None:
    """honest_did's M or Mbar: None, a number or a non-empty list of numbers in [0, high]."""
    if values is None:
        return
    many = isinstance(values, Sequence | np.ndarray) and not isinstance(values, str)
    items = list(values) if many else [values]  # type: ignore[call-overload]
    if not items:
        raise OptionError(f"{name}=[] is empty", fix=f"pass numbers, e.g. {name}=[0, 0.5, 1]")
    for v in items:
        try:
            check_float(name, v, low=0.0, high=high)
        except OptionError as err:
            raise OptionError(
                f"{name}={plain(values)} must be a non-negative number (at most {high:g}) or a "
                "list of them",
                fix=f"e.g. {name}=[0, 0.5, 1]",
            ) from err


def check_honest_options(method: object, M: object, Mbar: object) -> str:
    """honest_did's method, and M / Mbar each only with its own method."""
    method = str(check_option("method", method, HonestMethod))
    check_sensitivity_grid("M", M, high=MAX_M)
    check_sensitivity_grid("Mbar", Mbar, high=MAX_MBAR)
    if method == "smoothness" and Mbar is not None:
        raise OptionError("Mbar belongs to method='relative_magnitudes'", fix="pass M=")
    if method == "relative_magnitudes" and M is not None:
        raise OptionError("M belongs to method='smoothness'", fix="pass Mbar=")
    return method


def check_target_event_time(e: object, post_times: np.ndarray) -> int:
    """honest_did's target: a post-period event time of the event study."""
    e = check_int("e", e, minimum=-MAX_EVENT_TIME, maximum=MAX_EVENT_TIME)
    if e not in post_times:
        raise OptionError(
            f"e={e!r} is not a post-period event time of this event study",
            fix=f"choose one of {post_times.tolist()}",
        )
    return int(e)


def check_event_result(result: object, what: str) -> None:
    """`result` must offer ``event_study() -> (event_times, estimates, vcov)``."""
    if not hasattr(result, "event_study"):
        raise OptionError(
            f"{what} needs an event-study result, got {type(result).__name__}",
            fix="pass the result of event_study, sun_abraham, launch_event_study or "
            "aggte(type='dynamic')"
            + (" with base_period='universal'" if what == "honest_did" else ""),
        )


def require_on_grid(
    values: object,
    grid: object,
    *,
    what: str,
    columns: Sequence[str] = (),
    fix: str,
    name: str | None = None,
    error: type[DataError] | type[DesignError] | type[OptionError] = DataError,
) -> None:
    """Every value (a cohort, a period, an event time) must be one of `grid`: the one check of
    values off the data's grid (a cohort of 3.5 between periods 3 and 4 is refused, never rounded
    or silently treated as another cohort). `name` is the argument the values come from, if any."""
    vals = np.atleast_1d(np.asarray(values, dtype=float))
    on = np.asarray(grid, dtype=float)
    off = sorted({v for v in vals.tolist() if not np.isclose(v, on, rtol=0, atol=1e-9).any()})
    if off:
        label = f"{name}=" if name else ""
        shown = ", ".join(f"{label}{v:g}" for v in off[:8]) + (" …" if len(off) > 8 else "")
        allowed = ", ".join(f"{v:g}" for v in on.tolist()[:12]) + (" …" if len(on) > 12 else "")
        raise error(
            f"{what}: {shown} {'is' if len(off) == 1 else 'are'} not on the grid ({allowed})",
            columns=list(columns),
            fix=fix,
        )


# ------------------------------------------------------------------------------------------------
# staggered-adoption panels (att_gt, event_study, sun_abraham)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DidPanel:
    """A validated DiD panel: the (unchanged) Ibis table plus what the estimators need to know."""

    table: ir.Table = field(repr=False)
    yname: str
    tname: str
    idname: str
    gname: str
    weightsname: str | None
    clustervars: tuple[str, ...]
    anticipation: float
    periods: np.ndarray
    """Sorted distinct values of `tname`."""
    cohorts: np.ndarray
    """Sorted distinct treatment cohorts (first treated period), never-treated excluded."""
    cohort_sizes: np.ndarray
    """Number of units in each of `cohorts`."""
    n_never_treated: int
    n_units: int
    n_rows: int
    balanced: bool

    def cohort(self, table: ir.Table | None = None) -> ir.NumericValue:
        """The effective cohort as an Ibis column: `gname`, with 0 for never treated.

        A cohort later than the last period is recoded to 0 (never treated within the sample), as
        R `did` does.
        """
        t = self.table if table is None else table
        g = t[self.gname]
        t_max = float(self.periods[-1])
        return ibis.cases(((g == 0) | (g > t_max), ibis.literal(0)), else_=g).cast("float64")


def validate_did_panel(
    table: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    weightsname: str | None = None,
    clustervars: str | Sequence[str] | None = None,
    allow_unbalanced_panel: bool = False,
    require_never_treated: bool = False,
    anticipation: float = 0,
    alternative_control: str | None = "notyettreated",
) -> DidPanel:
    """Check a long panel for a staggered-adoption DiD and describe its shape.

    Raises
    ------
    DataError: missing or mistyped columns; missing / non-finite values; negative cohorts or
        weights; duplicated (unit, time) rows; a cohort, weight or cluster that changes within a
        unit; units missing from some periods when `allow_unbalanced_panel` is False.
    DesignError: fewer than two periods; units treated in the first period (after anticipation);
        no treated cohort; no never-treated units when `require_never_treated`.
    """
    yname = column_name(yname, "yname")
    tname = column_name(tname, "tname")
    idname = column_name(idname, "idname")
    gname = column_name(gname, "gname")
    if weightsname is not None:
        weightsname = column_name(weightsname, "weightsname")
    if clustervars is None:
        clusters: tuple[str, ...] = ()
    elif isinstance(clustervars, str):
        clusters = (clustervars,)
    else:
        clusters = tuple(column_name(c, "clustervars") for c in clustervars)
    clusters = tuple(c for c in clusters if c != idname)  # clustering on the unit is the default
    if len(clusters) > 1:
        raise OptionError(
            f"clustervars={list(clusters)}: at most one cluster variable besides {idname!r}",
            columns=list(clusters),
            fix="cluster on one unit-level variable (as R `did` allows)",
        )
    anticipation = check_anticipation(anticipation)
    names = [yname, tname, idname, gname, weightsname, *clusters]
    seen = [n for n in names if n is not None]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise OptionError(
            f"the same column is given more than one role: {dup}",
            columns=dup,
            fix="pass distinct columns for yname, tname, idname, gname, weightsname and clustervars",
        )

    t = as_table(table)
    spec = {yname: "numeric", tname: "numeric", idname: "key", gname: "numeric"}
    if weightsname is not None:
        spec[weightsname] = "numeric"
    for c in clusters:
        spec[c] = "key"
    require_columns(t, spec, role="did panel")
    ex = config.get().example_rows

    # row rules in one engine pass: no missing values, cohorts >= 0, weights >= 0
    cols = list(spec)
    neg = {f"miss{i}": is_missing(t[c]).cast("int64").sum() for i, c in enumerate(cols)}
    neg["g"] = (t[gname] < 0).cast("int64").sum()
    if weightsname is not None:
        neg["w"] = (t[weightsname] < 0).cast("int64").sum()
    neg_counts = t.aggregate(**neg).execute().iloc[0]
    if any(int(neg_counts[f"miss{i}"] or 0) for i in range(len(cols))):
        require_complete(t, cols, role="did panel")  # raises, naming columns and rows
    if int(neg_counts["g"] or 0):
        raise DataError(
            f"negative treatment cohorts in {gname!r}",
            columns=[gname],
            rows=t.filter(t[gname] < 0).select(idname, tname, gname).limit(ex).execute(),
            fix=f"{gname} must be the first treated period, or 0 for never-treated units",
        )
    if weightsname is not None and int(neg_counts["w"] or 0):
        raise DataError(
            f"negative sampling weights in {weightsname!r}",
            columns=[weightsname],
            rows=t.filter(t[weightsname] < 0)
            .select(idname, tname, weightsname)
            .limit(ex)
            .execute(),
            fix="weights must be >= 0",
        )

    shape = check_panel(t, unit=idname, time=tname, require_balanced=False)
    periods = shape.periods.astype(float)
    if len(periods) < 2:
        raise DesignError(
            f"the panel has {len(periods)} period(s) of {tname!r}; DiD needs at least two",
            columns=[tname],
        )

    # per-unit constancy and coverage, one aggregate in the engine (internal names: no user
    # column can meet them; example rows are shown under plain labels)
    n_periods, g_min, g_max = internal("n_periods"), internal("g_min"), internal("g_max")
    w_min, w_max = internal("w_min"), internal("w_max")
    labels = {
        n_periods: "periods observed",
        g_min: f"{gname} (lowest)",
        g_max: f"{gname} (highest)",
        w_min: f"{weightsname} (lowest)",
        w_max: f"{weightsname} (highest)",
    }
    per_unit_aggs = {n_periods: t.count(), g_min: t[gname].min(), g_max: t[gname].max()}
    if weightsname is not None:
        per_unit_aggs[w_min] = t[weightsname].min()
        per_unit_aggs[w_max] = t[weightsname].max()
    for i, c in enumerate(clusters):
        per_unit_aggs[internal(f"c{i}_n")] = t[c].nunique()
        labels[internal(f"c{i}_n")] = f"distinct {c}"
    units = t.group_by(idname).aggregate(**per_unit_aggs)

    t_first, t_last = float(periods[0]), float(periods[-1])
    g = units[g_min].cast("float64")
    early = (g > 0) & (g <= t_first + anticipation)
    rules: dict[str, ir.BooleanValue] = {
        "g_varies": units[g_min] != units[g_max],
        "short": units[n_periods] < len(periods),
        "early": early,
    }
    if weightsname is not None:
        rules["w_varies"] = units[w_min] != units[w_max]
    for i, _ in enumerate(clusters):
        rules[f"c{i}_varies"] = units[internal(f"c{i}_n")] > 1
    summary = (
        units.aggregate(**{internal(k): v.cast("int64").sum() for k, v in rules.items()})
        .execute()
        .iloc[0]
    )

    def _offenders(rule: str, cols: Sequence[str]) -> tuple[int, object]:
        n = int(summary[internal(rule)] or 0)
        bad = units.filter(rules[rule])
        rows = bad.select(idname, *cols).order_by(idname).limit(ex).execute() if n else None
        return n, None if rows is None else rows.rename(columns=labels)

    n_bad, rows = _offenders("g_varies", [g_min, g_max])
    if n_bad:
        raise DataError(
            f"the treatment cohort {gname!r} changes within {n_bad:,} unit(s); it must be constant "
            "per unit (the first period the unit is treated, 0 if never)",
            columns=[idname, gname],
            rows=rows,
            fix=f"set {gname} to each unit's first treated period on every row of that unit",
        )
    if weightsname is not None:
        n_bad, rows = _offenders("w_varies", [w_min, w_max])
        if n_bad:
            raise DataError(
                f"the weight {weightsname!r} changes within {n_bad:,} unit(s); DiD panel weights "
                "are unit-level",
                columns=[idname, weightsname],
                rows=rows,
                fix="use one weight per unit (e.g. its first-period value) on every row",
            )
    for c in clusters:
        n_clusters = int(t.select(c).distinct().count().execute())
        if n_clusters < 2:
            raise DataError(
                f"the cluster variable {c!r} has {n_clusters} distinct value(s); cluster-robust "
                "standard errors need at least two clusters",
                columns=[c],
                fix=f"cluster on a variable with several values (by default standard errors "
                f"are clustered on the unit, {idname!r})",
            )
    for i, c in enumerate(clusters):
        n_bad, rows = _offenders(f"c{i}_varies", [internal(f"c{i}_n")])
        if n_bad:
            raise DataError(
                f"the cluster variable {c!r} changes within {n_bad:,} unit(s); clusters must "
                "contain whole units",
                columns=[idname, c],
                rows=rows,
                fix=f"cluster on a variable that is constant within each {idname}",
            )
    if not shape.balanced and not allow_unbalanced_panel:
        n_bad, rows = _offenders("short", [n_periods])
        raise DataError(
            f"unbalanced panel: {n_bad:,} of {shape.n_units:,} units are not observed in all "
            f"{len(periods)} periods of {tname!r}",
            columns=[idname, tname],
            rows=rows,
            fix="fill or drop those units explicitly, or pass allow_unbalanced_panel=True",
        )

    # cohorts: 0 or later than the last period = never treated
    n_bad, rows = _offenders("early", [g_min])
    if n_bad:
        rows = rows.rename(columns={labels[g_min]: gname})  # type: ignore[union-attr]
        raise DesignError(
            f"{n_bad:,} unit(s) are treated in the first period {t_first:g}"
            + (f" (or within anticipation={anticipation:g} of it)" if anticipation else "")
            + "; they have no untreated period to compare with (R `did` drops them with a warning)",
            columns=[idname, gname],
            rows=rows,
            fix=f"drop these units explicitly (e.g. keep rows with {gname} == 0 or "
            f"{gname} > {t_first + anticipation:g})",
        )
    never = (g == 0) | (g > t_last)
    g_eff, n_units = internal("cohort"), internal("n_units")
    counts = (
        units.mutate(**{g_eff: ibis.cases((never, ibis.literal(0.0)), else_=g)})
        .group_by(g_eff)
        .aggregate(**{n_units: ibis._.count()})
        .order_by(g_eff)
        .execute()
        .rename(columns={g_eff: gname, n_units: "n_units"})
    )
    gs = counts[gname].to_numpy(float)
    ns = counts["n_units"].to_numpy(np.int64)
    n_never = int(ns[gs == 0].sum())
    require_on_grid(
        gs[gs > 0],
        periods,
        what=f"treatment cohorts of {gname!r}",
        columns=[gname],
        fix=f"{gname} must be 0 (never treated) or one of the periods of {tname!r}: the first "
        "period in which the unit is treated",
    )
    if anticipation:
        require_on_grid(
            gs[gs > 0] - anticipation,
            periods,
            what=f"with anticipation={anticipation:g}, the first anticipated periods",
            columns=[gname, tname],
            fix=f"anticipation must be a whole number of periods of {tname!r}",
            error=OptionError,
        )
    cohorts, sizes = gs[gs > 0], ns[gs > 0]
    if len(cohorts) == 0:
        raise DesignError(
            f"no unit is ever treated within the sample ({gname!r} is 0 or after the last period "
            f"{t_last:g} for every unit)",
            columns=[gname],
            fix=f"check {gname}: it must hold the first treated period of treated units",
        )
    if require_never_treated and n_never == 0:
        raise DesignError(
            "no never-treated units, so control_group='nevertreated' has no comparison group",
            columns=[gname],
            rows=counts.head(ex),
            fix=(
                f"use control_group={alternative_control!r}, or add"
                if alternative_control
                else "add"
            )
            + f" never-treated units ({gname} == 0); R `did` instead recodes the last cohort as "
            "never treated",
        )
    return DidPanel(
        table=t,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        weightsname=weightsname,
        clustervars=clusters,
        anticipation=anticipation,
        periods=periods,
        cohorts=cohorts,
        cohort_sizes=sizes,
        n_never_treated=n_never,
        n_units=shape.n_units,
        n_rows=shape.n_rows,
        balanced=shape.balanced,
    )


def require_covariates(panel: DidPanel, covariates: Sequence[str]) -> None:
    """att_gt's covariates: numeric, complete, and not one of the design's columns."""
    if not covariates:
        return
    require_columns(panel.table, dict.fromkeys(covariates, "numeric"), role="xformla")
    require_complete(panel.table, list(covariates), role="xformla")
    overlap = set(covariates) & {panel.yname, panel.tname, panel.idname, panel.gname}
    if overlap:
        raise OptionError(
            f"xformla uses design column(s) {sorted(overlap)} as covariates",
            columns=sorted(overlap),
            fix="covariates must be other columns",
        )


def require_never_treated_for_cs(panel: DidPanel) -> None:
    """att_gt needs never-treated units whatever the comparison group (see the message)."""
    if panel.n_never_treated == 0:
        last = float(panel.cohorts[-1])
        raise DesignError(
            "no never-treated units: with control_group='notyettreated' R `did` keeps only the "
            f"periods before the last cohort ({last:g}) starts (minus anticipation) and uses that "
            "cohort as the comparison group; we do not drop periods silently",
            columns=[panel.gname, panel.tname],
            fix=f"keep rows with {panel.tname} < {last - panel.anticipation:g} explicitly",
        )


# ------------------------------------------------------------------------------------------------
# fixed-effects panels (twfe, did_2x2)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FePanel:
    """A checked fixed-effects request: the table, the columns by role and the covariance."""

    table: ir.Table = field(repr=False)
    yname: str
    columns: tuple[str, ...]
    """Every column the regression pulls (outcome, regressors, fixed effects, cluster)."""
    covariates: tuple[str, ...]
    binary: dict[str, str]
    """Role → column of the 0/1 columns (treatment; group and post)."""
    cluster: str | None
    vcov: str
    shape: PanelShape | None = None


def validate_fe_panel(
    data: Data,
    *,
    design: str,
    yname: object,
    idname: object,
    cluster: object,
    covariates: object,
    vcov: object,
    binary: dict[str, object],
    tname: object = None,
    default_cluster: str | None = None,
) -> FePanel:
    """Names, roles, types and completeness for `twfe` and `did_2x2`, in the engine.

    `binary` maps role → column of the 0/1 columns (treatment; group and post). With `tname` the
    table must be a panel (one row per unit and period; unbalanced allowed).
    """
    yname = column_name(yname, "yname")
    unit = None if idname is None else column_name(idname, "idname")
    time = None if tname is None else column_name(tname, "tname")
    flags = {role: column_name(col, role) for role, col in binary.items()}
    covs = column_names(covariates, "covariates")
    vcov, cl = check_fe_vcov(vcov, cluster, default=default_cluster or unit)
    if vcov == "CR1" and cl is None:
        raise OptionError(
            f"{design} without idname needs an explicit cluster",
            fix="pass cluster= (e.g. the unit or market column), or vcov='HC1'",
        )
    distinct_roles({"yname": yname, "tname": time, "idname": unit, **flags, "covariates": covs})
    if cl is not None and cl in (yname, time, *flags.values(), *covs):
        raise OptionError(f"cluster={cl!r} is also used as another role", columns=[cl])
    t = as_table(data)
    spec: dict[str, str] = {yname: "numeric"}
    if time is not None:
        spec[time] = "key"
    spec.update(dict.fromkeys(flags.values(), "binary"))
    if unit is not None:
        spec[unit] = "key"
    if cl is not None:
        spec[cl] = "key"
    spec.update(dict.fromkeys(covs, "numeric"))
    require_columns(t, spec, role=design)
    require_complete(t, list(spec), role=design)
    shape = None
    if time is not None and unit is not None:
        shape = check_panel(t, unit=unit, time=time, require_balanced=False)
    return FePanel(
        table=t,
        yname=yname,
        columns=tuple(spec),
        covariates=covs,
        binary=flags,
        cluster=cl,
        vcov=vcov,
        shape=shape,
    )


def require_binary(
    df: pd.DataFrame,
    column: str,
    *,
    show: Sequence[str],
    what: str = "",
    fix: str = "code it 1/0",
) -> None:
    """DataError naming rows of a pulled frame where `column` is not 0/1."""
    bad = ~df[column].astype(float).isin([0.0, 1.0])
    if bad.any():
        raise DataError(
            f"{what + ' ' if what else ''}{column!r} must be 0/1; {int(bad.sum()):,} rows hold "
            "other values",
            columns=[column],
            rows=df.loc[bad, list(dict.fromkeys([*show, column]))].head(config.get().example_rows),
            fix=fix,
        )


def require_absorbing(df: pd.DataFrame, *, idname: str, tname: str, treatment: str) -> None:
    """Raise DataError naming units whose 0/1 treatment switches off again."""
    s = df[[idname, tname, treatment]].sort_values([idname, tname])
    prev = s.groupby(idname, sort=False)[treatment].shift()
    off = (prev == 1) & (s[treatment] == 0)
    if off.any():
        units = s.loc[off, idname].unique()
        rows = s[s[idname].isin(units[: config.get().example_rows])]
        raise DataError(
            f"treatment {treatment!r} switches off (1 then 0) in {len(units):,} unit(s); TWFE DiD "
            "here needs an absorbing treatment (0 before adoption, 1 from adoption on)",
            columns=[idname, tname, treatment],
            rows=rows.head(3 * config.get().example_rows),
            fix="code treatment as 'ever adopted by this period', or drop the periods after a "
            "unit switches off (treatment reversals need a different design, e.g. "
            "de Chaisemartin–D'Haultfœuille)",
        )


def require_2x2_cells(df: pd.DataFrame, *, group: str, post: str, idname: str | None) -> None:
    """Every (group, post) cell observed; with a unit id, `group` constant within each unit."""
    cells = df.groupby([df[group].astype(int), df[post].astype(int)]).size()
    missing = [(gv, pv) for gv in (0, 1) for pv in (0, 1) if (gv, pv) not in cells.index]
    if missing:
        raise DesignError(
            f"the 2×2 design has empty cells ({group}, {post}) = {missing}",
            columns=[group, post],
            fix="every combination of group and post must have observations",
        )
    if idname is None:
        return
    ex = config.get().example_rows
    varies = df.groupby(idname)[group].nunique()
    if (varies > 1).any():
        units = varies[varies > 1].index[:ex]
        raise DataError(
            f"{group!r} changes within {int((varies > 1).sum()):,} unit(s); the treated group "
            "is a unit-level attribute",
            columns=[idname, group],
            rows=df[df[idname].isin(units)][[idname, group, post]].head(3 * ex),
            fix=f"set {group} = 1 on every row of a treated unit (use `post` for timing)",
        )


# ------------------------------------------------------------------------------------------------
# launch log (launch_event_study, rollout_overlap, stacked_did)
# ------------------------------------------------------------------------------------------------
def check_launch_log(
    log: ir.Table, *, unit: str, component: str | None = None, cols: Sequence[str] = ()
) -> None:
    """Columns, completeness and one launch per (component, unit); `component` must be in it."""
    require_columns(
        log,
        {"component": "string", unit: "key", "start_period": "integer"}
        | dict.fromkeys(cols, "any"),
        role="launch_log",
    )
    require_complete(log, ["component", unit, "start_period"], role="launch_log")
    require_unique(
        log,
        ["component", unit],
        what="launches (the same component launched twice on a unit)",
        fix="keep one row per (component, unit): the first launch",
    )
    if component is not None:
        known = sorted(log.select("component").distinct().execute()["component"].tolist())
        if component not in known:
            raise DesignError(
                f"component {component!r} is not in the launch log",
                columns=["component"],
                fix=f"choose one of {known}",
            )


def require_log_units_in_panel(
    panel: ir.Table, log: ir.Table, *, component: str, unit: str
) -> None:
    """DataError naming launch-log units of `component` that are absent from the panel."""
    u, start, pu = internal("log_unit"), internal("log_start"), internal("panel_unit")
    comp = log.filter(log.component == component).select(
        **{u: log[unit], start: log.start_period.cast("int64")}
    )
    panel_units = panel.select(**{pu: panel[unit]}).distinct()
    orphans = comp.anti_join(panel_units, comp[u] == panel_units[pu])
    n_orphans = int(orphans.count().execute())
    if n_orphans:
        raise DataError(
            f"{n_orphans:,} launch-log unit(s) for component {component!r} are not in the panel",
            columns=[unit],
            rows=orphans.rename({unit: u, "start_period": start})
            .limit(config.get().example_rows)
            .execute(),
            fix="fix the unit ids in the launch log, or add those units to the panel",
        )


def require_weights(
    table: ir.Table | None, df: pd.DataFrame | None, column: str, *, show: Sequence[str], role: str
) -> np.ndarray | None:
    """Regression weights: a numeric column (checked on `table`), then finite and > 0 in every
    pulled row of `df` (DataError naming the rows); returns them as floats.

    Call with `df` None to check the column before pulling, then with the pulled frame.
    """
    if df is None:
        require_columns(table, {column: "numeric"}, role=role)
        return None
    values = df[column]
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        raise DataError(
            f"weights {column!r} must be numeric, not {values.dtype}",
            columns=[column],
            fix="pass a column of positive numeric weights",
        )
    w = values.to_numpy(dtype=float, na_value=np.nan)
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        kinds = []
        if np.isnan(w).any():
            kinds.append("missing")
        if np.isinf(w).any():
            kinds.append("infinite")
        if (w <= 0).any():
            kinds.append("zero or negative")
        raise DataError(
            f"weights {column!r} must be finite and > 0; {int(bad.sum()):,} row(s) are "
            + " or ".join(kinds),
            columns=[column],
            rows=df.loc[bad, list(dict.fromkeys([*show, column]))].head(config.get().example_rows),
            fix="drop those rows or give them a positive weight",
        )
    return w


# ------------------------------------------------------------------------------------------------
# reserved names at entry (hardening class 1): every DiD entry point sees only `__at_` columns
# ------------------------------------------------------------------------------------------------
LOG_COLUMNS = ("component", "start_period")
"""The launch log's contract columns besides the unit (kept under their own names)."""


def user_columns(
    *,
    columns: Sequence[str],
    outcome: str | None = None,
    formula: str | None = None,
    tables: int = 1,
    log: int | None = None,
    log_unit: str | None = None,
    names: dict[str, str] | None = None,
) -> Callable[[F], F]:
    """Run an entry point on its columns renamed to reserved internal names (`data.roles`).

    The wrapper checks the column arguments (`columns`: keyword arguments naming one column, a
    list of them, or None) with the user's names, selects only those columns from the positional
    table(s) under ``__at_<argument>`` (one internal name per distinct user column, so a column
    given twice stays one column), rewrites `formula` (an R one-sided formula naming covariates)
    the same way, checks the numeric range of `outcome` (`data.numeric.check_outcome`), and calls
    the entry point on the renamed table(s) inside ``roles.user_names()``. The result speaks the
    user's names again (terms, labels, options, checks) and its provenance fingerprints the user's
    table. `log` is the position of a launch log: its `log_unit` column is renamed like the panel's
    and only the contract columns are kept. `names` maps further internal names (e.g. the cohort
    a design derives) to the words messages use for them. The undecorated function is
    ``func.__wrapped__`` (for calls from inside another entry point, on renamed tables).
    """

    def decorate(func: F) -> F:
        sig = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            call = dict(bound.arguments)
            params = list(sig.parameters)
            # 1. the column arguments, with the user's names
            given: dict[str, tuple[str, ...] | str | None] = {}
            for arg in columns:
                value = call.get(arg)
                if value is None:
                    given[arg] = None
                elif isinstance(value, str):
                    given[arg] = column_name(value, arg)
                else:
                    given[arg] = column_names(value, arg)
            covariates = parse_xformla(call[formula]) if formula is not None else ()
            # 2. one internal name per distinct user column, in argument order
            role_of: dict[str, str] = {}
            for arg, value in [*given.items(), *(("xformla", c) for c in covariates)]:
                many = value is not None and not isinstance(value, str)
                for i, col in enumerate(() if value is None else ((value,) if not many else value)):
                    role_of.setdefault(col, f"{arg}_{i}" if many else arg)
            if covariates:
                role_of = {
                    c: (f"xformla_{covariates.index(c)}" if r == "xformla" else r)
                    for c, r in role_of.items()
                }
            frames = [as_table(call[params[i]]) for i in range(tables)]
            # the table whose columns are renamed: the panel, or the launch log when it is alone
            main = next((i for i in range(tables) if i != log), log)
            assert main is not None
            unit = call[log_unit] if log_unit is not None else None
            if log is not None:
                require_columns(
                    frames[log],
                    {"component": "string", unit: "key", "start_period": "integer"},
                    role="launch_log",
                )
                if main != log:
                    require_joinable(frames[main], frames[log], unit=unit)
            roles = select_roles(
                frames[main],
                {r: c for c, r in role_of.items() if main != log or c == unit},
            )
            internal_of = {c: internal(r) for c, r in role_of.items()}
            renamed = list(frames)
            renamed[main] = roles.table
            if log is not None:
                lt = frames[log]
                renamed[log] = lt.select(
                    **{internal_of[unit]: lt[unit]}, **{c: lt[c] for c in LOG_COLUMNS}
                )
            roles = dataclasses.replace(roles, user={**roles.user, **(names or {})})
            # 3. the call on internal names
            new = dict(call)
            for i in range(tables):
                new[params[i]] = renamed[i]
            for arg, value in given.items():
                if value is None:
                    continue
                new[arg] = (
                    internal_of[value]
                    if isinstance(value, str)
                    else type(call[arg])(internal_of[c] for c in value)
                    if isinstance(call[arg], list | tuple)
                    else tuple(internal_of[c] for c in value)
                )
            rewritten = None
            if covariates:
                rewritten = "~ " + " + ".join(internal_of[c] for c in covariates)
                new[formula] = rewritten  # type: ignore[index]
            with roles.user_names():
                if outcome is not None and call.get(outcome) is not None and main != log:
                    y = call[outcome]
                    check_outcome(roles.table, internal_of[y], label=y)
                result = func(**new)
            originals = {rewritten: call[formula]} if rewritten else {}
            return to_user_names(result, roles, source=frames[main], originals=originals)

        return wrapper  # type: ignore[return-value]

    return decorate


def require_joinable(panel: ir.Table, log: ir.Table, *, unit: str) -> None:
    """The panel and the launch log can be joined on `unit`: one connection, comparable types."""
    try:
        same = panel._find_backend() is log._find_backend()
    except Exception:  # an unbound table: ibis names the problem later
        same = True
    if not same:
        raise DataError(
            f"the panel ({_table_name(panel)}) and the launch log ({_table_name(log)}) live in two "
            "different connections (engines), so they cannot be joined",
            columns=[unit],
            fix="load both tables into the same connection (e.g. con.create_table(...)), or pass "
            "both as pandas DataFrames",
        )
    if unit not in panel.schema():
        return  # the panel's column check names it
    a, b = panel.schema()[unit], log.schema()[unit]
    comparable = (
        (a.is_numeric() and b.is_numeric())
        or (a.is_string() and b.is_string())
        or (a.is_temporal() and b.is_temporal())
        or a == b
    )
    if not comparable:
        raise DataError(
            f"unit {unit!r} is {a} in the panel but {b} in the launch log, so no launch matches "
            "a panel unit",
            columns=[unit],
            fix=f"cast {unit!r} to one type in both tables (e.g. both strings)",
        )


def _table_name(table: ir.Table) -> str:
    """The engine's name of a table ('table events'), or a plain word for an unnamed one."""
    name = getattr(table.op(), "name", None)
    return f"table {name!r}" if isinstance(name, str) else "an unnamed table"


def to_user_names(
    obj: Any, roles: Roles, *, source: ir.Table, originals: dict[str, str] | None = None
) -> Any:
    """`obj` (a result) with every internal column name replaced by the user's, and provenance
    fingerprinting the user's table."""
    originals = originals or {}

    def text(s: str) -> str:
        return originals[s] if s in originals else roles.to_user(s)

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            return text(x)
        if isinstance(x, pd.DataFrame):
            out = x.rename(columns=lambda c: text(c) if isinstance(c, str) else c)
            for c in out.columns:
                if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
                    vals = out[c]
                    if vals.map(lambda v: isinstance(v, str) and RESERVED_PREFIX in v).any():
                        out[c] = vals.map(lambda v: text(v) if isinstance(v, str) else v)
            return out
        if isinstance(x, DataFingerprint):
            return fingerprint(source, n_rows=x.n_rows, source=x.source)
        if isinstance(x, tuple | list):
            return type(x)(walk(v) for v in x)
        if isinstance(x, dict):
            return {walk(k): walk(v) for k, v in x.items()}
        if dataclasses.is_dataclass(x) and not isinstance(x, type) and _speaks(x):
            changes = {
                f.name: walk(getattr(x, f.name))
                for f in dataclasses.fields(x)
                if f.init and not f.metadata.get("internal")
            }
            return dataclasses.replace(x, **changes)
        return x

    return walk(obj)


def _speaks(x: Any) -> bool:
    """Results, checks, estimates and provenance carry user-facing names; influence functions and
    other internal dataclasses do not."""
    module = type(x).__module__
    return module in ("attribution.results", "attribution.designs.did.results")
