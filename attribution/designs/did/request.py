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

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import get_args

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import is_missing, require_complete, require_unique
from attribution.data.engine import Data, as_table, require_columns
from attribution.data.panel import PanelShape, check_panel
from attribution.errors import DataError, DesignError, OptionError
from attribution.options import ControlGroup, FeVcov, HonestMethod, SaControl, check_option

__all__ = [
    "DidPanel",
    "FePanel",
    "check_biters",
    "check_bool",
    "check_control_group",
    "check_event_result",
    "check_event_time",
    "check_fe_vcov",
    "check_honest_options",
    "check_launch_log",
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
    "require_log_units_in_panel",
    "require_never_treated_for_cs",
    "require_weights",
    "resolve_clustervars",
    "sun_abraham_control_group",
    "validate_did_panel",
    "validate_fe_panel",
]


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
    if not isinstance(value, bool | np.bool_):
        raise OptionError(f"{name}={value!r} must be True or False")
    return bool(value)


def check_biters(biters: object) -> int:
    """R `did`'s number of multiplier-bootstrap draws."""
    if isinstance(biters, bool) or not isinstance(biters, int | np.integer) or int(biters) < 10:
        raise OptionError(f"biters={biters!r} must be an integer >= 10")
    return int(biters)


def check_event_time(name: str, value: object) -> float:
    """An event-time bound of aggte (min_e, max_e): a number or ±inf."""
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        out = math.nan
    if math.isnan(out):
        raise OptionError(f"{name}={value!r} must be a number (or ±inf)")
    return out


def check_ref(ref: object) -> int:
    if not isinstance(ref, int | np.integer) or isinstance(ref, bool):
        raise OptionError(f"ref={ref!r} must be an integer event time (e.g. -1)")
    return int(ref)


def check_window(window: object, *, ref: int | None = None) -> tuple[int, int] | None:
    """An event-time window (first, last), which must contain `ref` when given."""
    if window is None:
        return None
    ok = (
        isinstance(window, Sequence)
        and len(window) == 2
        and all(isinstance(w, int | np.integer) and not isinstance(w, bool) for w in window)
        and window[0] <= window[1]
    )
    if not ok:
        raise OptionError(
            f"window={window!r} must be a pair of integers (first, last event time), first <= last"
        )
    lo, hi = int(window[0]), int(window[1])
    if ref is not None and not lo <= ref <= hi:
        raise OptionError(
            f"window={[lo, hi]} does not contain the reference event time ref={ref}",
            fix="widen the window or move ref inside it",
        )
    return lo, hi


def check_periods(name: str, value: object) -> int:
    """A non-negative whole number of periods."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
        raise OptionError(f"{name}={value!r} must be a non-negative integer number of periods")
    return int(value)


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


def check_honest_options(method: object, M: object, Mbar: object) -> str:
    """honest_did's method, and M / Mbar each only with its own method."""
    method = str(check_option("method", method, HonestMethod))
    if method == "smoothness" and Mbar is not None:
        raise OptionError("Mbar belongs to method='relative_magnitudes'", fix="pass M=")
    if method == "relative_magnitudes" and M is not None:
        raise OptionError("M belongs to method='smoothness'", fix="pass Mbar=")
    return method


def check_target_event_time(e: object, post_times: np.ndarray) -> int:
    """honest_did's target: a post-period event time of the event study."""
    if not isinstance(e, int | np.integer) or isinstance(e, bool) or e not in post_times:
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
    try:
        anticipation = float(anticipation)
    except (TypeError, ValueError):
        anticipation = float("nan")
    if not np.isfinite(anticipation) or anticipation < 0:
        raise OptionError(f"anticipation={anticipation!r} must be a number >= 0")
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

    # per-unit constancy and coverage, one aggregate in the engine
    per_unit_aggs = {
        "n_periods": t.count(),
        "g_min": t[gname].min(),
        "g_max": t[gname].max(),
    }
    if weightsname is not None:
        per_unit_aggs["w_min"] = t[weightsname].min()
        per_unit_aggs["w_max"] = t[weightsname].max()
    for i, c in enumerate(clusters):
        per_unit_aggs[f"c{i}_n"] = t[c].nunique()
    units = t.group_by(idname).aggregate(**per_unit_aggs)

    t_first, t_last = float(periods[0]), float(periods[-1])
    g = units.g_min.cast("float64")
    early = (g > 0) & (g <= t_first + anticipation)
    rules: dict[str, ir.BooleanValue] = {
        "g_varies": units.g_min != units.g_max,
        "short": units.n_periods < len(periods),
        "early": early,
    }
    if weightsname is not None:
        rules["w_varies"] = units.w_min != units.w_max
    for i, _ in enumerate(clusters):
        rules[f"c{i}_varies"] = units[f"c{i}_n"] > 1
    summary = (
        units.aggregate(**{k: v.cast("int64").sum() for k, v in rules.items()}).execute().iloc[0]
    )

    def _offenders(rule: str, cols: Sequence[str]) -> tuple[int, object]:
        n = int(summary[rule] or 0)
        bad = units.filter(rules[rule])
        rows = bad.select(idname, *cols).order_by(idname).limit(ex).execute() if n else None
        return n, rows

    n_bad, rows = _offenders("g_varies", ["g_min", "g_max"])
    if n_bad:
        raise DataError(
            f"the treatment cohort {gname!r} changes within {n_bad:,} unit(s); it must be constant "
            "per unit (the first period the unit is treated, 0 if never)",
            columns=[idname, gname],
            rows=rows,
            fix=f"set {gname} to each unit's first treated period on every row of that unit",
        )
    if weightsname is not None:
        n_bad, rows = _offenders("w_varies", ["w_min", "w_max"])
        if n_bad:
            raise DataError(
                f"the weight {weightsname!r} changes within {n_bad:,} unit(s); DiD panel weights "
                "are unit-level",
                columns=[idname, weightsname],
                rows=rows,
                fix="use one weight per unit (e.g. its first-period value) on every row",
            )
    for i, c in enumerate(clusters):
        n_bad, rows = _offenders(f"c{i}_varies", [f"c{i}_n"])
        if n_bad:
            raise DataError(
                f"the cluster variable {c!r} changes within {n_bad:,} unit(s); clusters must "
                "contain whole units",
                columns=[idname, c],
                rows=rows,
                fix=f"cluster on a variable that is constant within each {idname}",
            )
    if not shape.balanced and not allow_unbalanced_panel:
        n_bad, rows = _offenders("short", ["n_periods"])
        raise DataError(
            f"unbalanced panel: {n_bad:,} of {shape.n_units:,} units are not observed in all "
            f"{len(periods)} periods of {tname!r}",
            columns=[idname, tname],
            rows=rows,
            fix="fill or drop those units explicitly, or pass allow_unbalanced_panel=True",
        )

    # cohorts: 0 or later than the last period = never treated
    n_bad, rows = _offenders("early", ["g_min"])
    if n_bad:
        rows = rows.rename(columns={"g_min": gname})  # type: ignore[union-attr]
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
    counts = (
        units.mutate(_g=ibis.cases((never, ibis.literal(0.0)), else_=g))
        .group_by("_g")
        .aggregate(n=ibis._.count())
        .order_by("_g")
        .execute()
    )
    gs = counts["_g"].to_numpy(float)
    ns = counts["n"].to_numpy(np.int64)
    n_never = int(ns[gs == 0].sum())
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
            rows=counts.rename(columns={"_g": gname, "n": "n_units"}).head(ex),
            fix="use control_group='notyettreated', or add never-treated units "
            f"({gname} == 0); R `did` instead recodes the last cohort as never treated",
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
    comp = log.filter(log.component == component).select(
        _u=log[unit], _start=log.start_period.cast("int64")
    )
    panel_units = panel.select(_pu=panel[unit]).distinct()
    orphans = comp.anti_join(panel_units, comp._u == panel_units._pu)
    n_orphans = int(orphans.count().execute())
    if n_orphans:
        raise DataError(
            f"{n_orphans:,} launch-log unit(s) for component {component!r} are not in the panel",
            columns=[unit],
            rows=orphans.rename({unit: "_u", "start_period": "_start"})
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
