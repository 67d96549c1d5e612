"""Validation of a staggered-adoption panel for the DiD designs (R `did` conventions).

The table is long: one row per (unit, period) with an outcome, the period, the unit id and the unit's
treatment cohort ``gname`` = the first period in which the unit is treated, ``0`` for never treated
(R `did`'s convention; a cohort after the last observed period also counts as never treated, as in R).

Where R `did` silently drops or coerces (units treated in the first period, rows with missing values,
units missing from some periods, no never-treated units) we raise a typed error that names the rows
and says how to fix them, so that nothing is dropped without the user knowing. Every check runs in the
engine; only counts and a few example rows come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np

from attribution import config
from attribution.data.checks import is_missing, require_complete
from attribution.data.engine import Data, as_table, require_columns
from attribution.data.panel import check_panel
from attribution.errors import DataError, DesignError, OptionError

__all__ = ["DidPanel", "validate_did_panel"]


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


def _column_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(f"{what} must be a column name (a non-empty string), got {value!r}")
    return value


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
    yname = _column_name(yname, "yname")
    tname = _column_name(tname, "tname")
    idname = _column_name(idname, "idname")
    gname = _column_name(gname, "gname")
    if weightsname is not None:
        weightsname = _column_name(weightsname, "weightsname")
    if clustervars is None:
        clusters: tuple[str, ...] = ()
    elif isinstance(clustervars, str):
        clusters = (clustervars,)
    else:
        clusters = tuple(_column_name(c, "clustervars") for c in clustervars)
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
