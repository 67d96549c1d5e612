"""Per-component rollouts: event studies from a launch log, overlap checks, and the stacked design.

Several components (E, R, K) launch on units (market × surface) at different periods. The launch log
(one row per component launch on a unit, see ``data_contracts``/tables) gives each unit its cohort
for one component: the period the component started there; units it never reached are
never-treated for that component (a partial launch, rollout_share < 1, counts from its start
period: the estimates are intent-to-treat effects of the launch). Two launches on the same unit close together contaminate each
other's comparisons (`rollout_overlap`); the stacked design (Cengiz, Dube, Lindner & Zipperer 2019)
builds one clean sub-experiment per cohort that leaves such units out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import require_complete, require_unique
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.designs.did.fixed_effects import (
    EventStudyResult,
    _check_window,
    _codes,
    _event_table,
    _name,
    _pull,
    fit_fe_ols,
)
from attribution.errors import DataError, DesignError, DesignWarning, OptionError
from attribution.options import LaunchMethod, check_alpha, check_option
from attribution.results import Provenance, to_jsonable

__all__ = [
    "DesignWarning",
    "LaunchMethod",
    "OverlapReport",
    "cohorts_from_log",
    "launch_event_study",
    "rollout_overlap",
    "stacked_did",
]


_COHORT = "_cohort"


# ------------------------------------------------------------------------------------------------
# launch log
# ------------------------------------------------------------------------------------------------
def _check_log(
    log: ir.Table, *, unit: str, component: str | None = None, cols: Sequence[str] = ()
) -> None:
    """Columns, completeness and one launch per (component, unit)."""
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


def cohorts_from_log(panel: ir.Table, log: ir.Table, *, component: str, unit: str) -> ir.Table:
    """The panel with `_cohort` = that component's start period on the unit, 0 if it never came.

    Raises DataError naming launch-log units absent from the panel.
    """
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
    joined = panel.left_join(comp, panel[unit] == comp._u)
    joined = joined.mutate(**{_COHORT: ibis.coalesce(joined._start, ibis.literal(0, "int64"))})
    return joined.drop("_u", "_start")


# ------------------------------------------------------------------------------------------------
# per-component event study
# ------------------------------------------------------------------------------------------------
def launch_event_study(
    panel: Data,
    launch_log: Data,
    *,
    component: str,
    yname: str = "engagement",
    unit: str = "unit",
    time: str = "period",
    cluster: str | None = None,
    method: LaunchMethod = "cs",
    alpha: float = 0.05,
) -> EventStudyResult:
    """Event study of one component's launches: cohort = its start period on each unit.

    ``method="cs"`` (default): Callaway & Sant'Anna ``att_gt`` (never-reached units as the
    comparison group, universal base period) aggregated with ``aggte(type="dynamic")``; intervals
    from the influence function (normal). ``method="sun_abraham"``: the Sun & Abraham IW estimator
    with never-reached units as controls, CR1 clustered. Other components' launches are ignored here; check
    them with :func:`rollout_overlap` or use :func:`stacked_did`.
    """
    component = _name(component, "component")
    check_option("method", method, LaunchMethod)
    alpha = check_alpha(alpha)
    p, log = as_table(panel), as_table(launch_log)
    require_columns(p, {unit: "key", time: "integer", yname: "numeric"}, role="panel")
    _check_log(log, unit=unit, component=component)
    t = cohorts_from_log(p, log, component=component, unit=unit)
    if method == "sun_abraham":
        from attribution.designs.did.sunab import sun_abraham

        res = sun_abraham(
            t, yname=yname, tname=time, idname=unit, gname=_COHORT, cluster=cluster, alpha=alpha
        )
    else:
        res = _cs_event_study(t, yname=yname, tname=time, idname=unit, cluster=cluster, alpha=alpha)
    opts = dict(res.provenance.options) | {"component": component, "method": method}
    return _replace_provenance(res, design=f"did.launch_event_study[{component}]", options=opts)


def _cs_event_study(
    t: ir.Table, *, yname: str, tname: str, idname: str, cluster: str | None, alpha: float
) -> EventStudyResult:
    from attribution.designs.did.aggregate import aggte
    from attribution.designs.did.group_time import att_gt

    gt = att_gt(
        t,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=_COHORT,
        control_group="nevertreated",
        base_period="universal",
        clustervars=cluster,
        alpha=alpha,
    )
    agg = aggte(gt, type="dynamic")
    times, est, vcov = agg.event_study()
    times = np.asarray(times, dtype=np.int64)
    est, vcov = np.asarray(est, float), np.asarray(vcov, float)
    keep = np.diag(vcov) > 0  # the universal base period is reported as 0 with variance 0
    ref = int(times[~keep][0]) if (~keep).any() else -1
    times, est, vcov = times[keep], est[keep], vcov[np.ix_(keep, keep)]
    table, ucrit = _event_table(times, est, vcov, alpha=alpha, df=None)
    return EventStudyResult(
        design="did.cs_dynamic",
        table=table,
        alpha=alpha,
        provenance=agg.provenance,
        ref=ref,
        n_obs=int(gt.provenance.data.n_rows) if gt.provenance.data else 0,
        n_units=int(gt.n_units),
        n_clusters=int(gt.n_units)
        if cluster is None or cluster == idname
        else int(t.select(cluster).distinct().count().execute()),
        uniform_crit=ucrit,
        estimator="callaway_santanna",
        vcov_type="influence-function (Callaway & Sant'Anna 2021), normal intervals",
        vcov=vcov,
    )


def _replace_provenance(
    res: EventStudyResult, *, design: str, options: dict[str, Any]
) -> EventStudyResult:
    import dataclasses

    prov = dataclasses.replace(res.provenance, design=design, options=options)
    return dataclasses.replace(res, design=design, provenance=prov)


# ------------------------------------------------------------------------------------------------
# overlapping rollouts
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverlapReport:
    """Pairs of component launches on the same unit within `window` periods of each other."""

    window: int
    table: pd.DataFrame = field(repr=False)
    n_units: int
    n_launches: int

    @property
    def passed(self) -> bool:
        return self.table.empty

    @property
    def pairs(self) -> pd.DataFrame:
        return self.table.copy(deep=False)

    @property
    def text(self) -> str:
        if self.passed:
            return (
                f"no two components launched on the same unit within {self.window} period(s) "
                f"({self.n_launches} launches on {self.n_units} units)"
            )
        units = self.table["unit"].nunique()
        combos = (
            self.table.groupby(["component_a", "component_b"]).size().sort_values(ascending=False)
        )
        top = ", ".join(f"{a}+{b}: {n}" for (a, b), n in combos.items())
        return (
            f"{len(self.table)} pair(s) of launches on {units} unit(s) are within {self.window} "
            f"period(s) of each other ({top}); on these units each component's event study also "
            "picks up the other's effect — use stacked_did (which drops them) or a factorial test"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "passed": self.passed,
            "text": self.text,
            "pairs": to_jsonable(self.table),
        }

    def _repr_html_(self) -> str:
        import html

        return f"<div><p>{html.escape(self.text)}</p>{self.table.to_html(index=False)}</div>"


def rollout_overlap(launch_log: Data, *, window: int, unit: str = "unit") -> OverlapReport:
    """Flag launches of different components on the same unit within `window` periods.

    Returns an OverlapReport (table: unit, component_a, component_b, start_a, start_b, gap) and
    emits a DesignWarning with the report's text when any pair is found.
    """
    if not isinstance(window, int | np.integer) or isinstance(window, bool) or window < 0:
        raise OptionError(f"window={window!r} must be a non-negative integer number of periods")
    log = as_table(launch_log)
    _check_log(log, unit=unit)
    df = _pull(log, [unit, "component", "start_period"], what="rollout_overlap")
    df = df.rename(columns={unit: "unit"})
    pairs = df.merge(df, on="unit", suffixes=("_a", "_b"))
    pairs = pairs[pairs["component_a"] < pairs["component_b"]]
    pairs = pairs.assign(gap=(pairs["start_period_b"] - pairs["start_period_a"]).abs())
    bad = pairs[pairs["gap"] <= int(window)].rename(
        columns={"start_period_a": "start_a", "start_period_b": "start_b"}
    )
    table = (
        bad[["unit", "component_a", "component_b", "start_a", "start_b", "gap"]]
        .sort_values(["gap", "unit", "component_a", "component_b"])
        .reset_index(drop=True)
    )
    report = OverlapReport(
        window=int(window),
        table=table,
        n_units=int(df["unit"].nunique()),
        n_launches=len(df),
    )
    if not report.passed:
        warnings.warn(report.text, DesignWarning, stacklevel=2)
    return report


# ------------------------------------------------------------------------------------------------
# stacked design
# ------------------------------------------------------------------------------------------------
def stacked_did(
    panel: Data,
    launch_log: Data,
    *,
    component: str,
    yname: str = "engagement",
    unit: str = "unit",
    time: str = "period",
    window: tuple[int, int],
    ref: int = -1,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """Stacked event study (Cengiz et al. 2019) for one component.

    For each cohort g of the component: a sub-experiment with the units it reached at g (treated)
    and the units it had not reached by g + window[1] (not-yet or never treated: controls), over the
    periods g + window[0] … g + window[1]; units where *another* component launched inside that
    calendar window are left out of the sub-experiment. The stacked data are fit with
    ``y ~ Σ_{e≠ref} 1[treated, t-g=e] | sub-experiment×unit + sub-experiment×period``, CR1 clustered
    on `cluster` (default the unit, so a unit in several sub-experiments is one cluster).
    Cohorts whose window does not fit inside the panel's periods are left out with a DesignWarning
    (``result.provenance.options['dropped_cohorts']``).
    """
    component = _name(component, "component")
    win = _check_window(window)
    if win is None:
        raise OptionError("stacked_did needs window=(first, last) event times")
    lo, hi = win
    if not isinstance(ref, int | np.integer) or isinstance(ref, bool) or not lo <= ref <= hi:
        raise OptionError(f"ref={ref!r} must be an integer event time inside window={list(win)}")
    if lo >= 0:
        raise OptionError(f"window={list(win)} needs at least one pre-period (first < 0)")
    alpha = check_alpha(alpha)
    p, log = as_table(panel), as_table(launch_log)
    cluster = unit if cluster is None else _name(cluster, "cluster")
    spec = {unit: "key", time: "integer", yname: "numeric", cluster: "key"}
    require_columns(p, spec, role="panel")
    require_complete(p, list(spec), role="panel")
    require_unique(p, [unit, time], what="(unit, period) rows")
    _check_log(log, unit=unit, component=component)
    cohorts_from_log(p, log, component=component, unit=unit)  # orphan check
    df = _pull(p, [unit, time, yname, cluster], what="stacked_did")
    launches = _pull(log, ["component", unit, "start_period"], what="stacked_did launch log")
    periods = np.sort(df[time].unique())
    t_min, t_max = int(periods[0]), int(periods[-1])
    own = launches[launches["component"] == component].set_index(unit)["start_period"]
    others = launches[launches["component"] != component]
    start = df[unit].map(own)
    cohorts = np.sort(own.unique())
    usable = [int(g) for g in cohorts if g + lo >= t_min and g + hi <= t_max]
    dropped = [int(g) for g in cohorts if int(g) not in usable]
    if dropped and usable:
        warnings.warn(
            f"stacked_did: cohorts {dropped} of {component!r} are left out because the window "
            f"{list(win)} around them does not fit inside periods {t_min}..{t_max}",
            DesignWarning,
            stacklevel=2,
        )
    if not usable:
        raise DesignError(
            f"no cohort of {component!r} has the whole window {list(win)} inside the panel's "
            f"periods {t_min}..{t_max}",
            columns=[time],
            fix="narrow the window",
        )
    stacks = []
    for g in usable:
        a, b = g + lo, g + hi
        contaminated = set(
            others.loc[(others["start_period"] >= a) & (others["start_period"] <= b), unit]
        )
        in_window = df[time].between(a, b)
        treated = start == g
        control = start.isna() | (start > b)
        keep = in_window & (treated | control) & ~df[unit].isin(contaminated)
        sub = df.loc[keep, list(dict.fromkeys([unit, time, yname, cluster]))].copy()
        sub["_treated"] = treated[keep].to_numpy()
        if not sub["_treated"].any() or sub["_treated"].all():
            continue  # no clean treated or no clean control units: this cohort cannot be used
        sub["_stack"] = g
        sub["_e"] = np.where(sub["_treated"], sub[time] - g, np.nan)
        stacks.append(sub)
    if not stacks:
        raise DesignError(
            f"no sub-experiment of {component!r} has both clean treated and clean control units",
            fix="narrow the window or check the overlap of launches (rollout_overlap)",
        )
    st = pd.concat(stacks, ignore_index=True)
    times = np.array([e for e in range(lo, hi + 1) if e != ref], dtype=np.int64)
    x = (st["_e"].to_numpy()[:, None] == times[None, :]).astype(float)
    present = x.any(axis=0)
    times, x = times[present], x[:, present]
    stack_unit = _codes(st["_stack"].astype(str) + "|" + st[unit].astype(str))
    stack_time = _codes(st["_stack"].astype(str) + "|" + st[time].astype(str))
    fit = fit_fe_ols(
        st[yname].to_numpy(float),
        x,
        [stack_unit, stack_time],
        st[cluster].to_numpy(),
        names=[f"e={e}" for e in times],
    )
    table, ucrit = _event_table(times, fit.coef, fit.vcov, alpha=alpha, df=fit.df_t)
    used = sorted(int(g) for g in st["_stack"].unique())
    return EventStudyResult(
        design=f"did.stacked_did[{component}]",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design=f"did.stacked_did[{component}]",
            data=fingerprint(p, n_rows=len(df)),
            options={
                "component": component,
                "yname": yname,
                "unit": unit,
                "time": time,
                "window": [lo, hi],
                "ref": int(ref),
                "cluster": cluster,
                "alpha": alpha,
                "cohorts": used,
                "dropped_cohorts": dropped + [g for g in usable if g not in used],
            },
            seed=config.get().seed,
        ),
        ref=int(ref),
        n_obs=fit.n_obs,
        n_units=int(st[unit].nunique()),
        n_clusters=fit.n_clusters,
        uniform_crit=ucrit,
        estimator="stacked",
        vcov=fit.vcov,
    )
