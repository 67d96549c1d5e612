"""Launch-log math for per-component rollouts: overlapping launches and stacked sub-experiments.

Several components (E, R, K) launch on units (market × surface) at different periods. The launch log
(one row per component launch on a unit, see ``data_contracts``/tables) gives each unit its cohort
for one component: the period the component started there; units it never reached are
never-treated for that component (a partial launch, rollout_share < 1, counts from its start
period: the estimates are intent-to-treat effects of the launch). Two launches on the same unit
close together contaminate each other's comparisons (`overlap_pairs`); the stacked design (Cengiz,
Dube, Lindner & Zipperer 2019) builds one clean sub-experiment per cohort that leaves such units
out (`stack_cohorts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.data.roles import internal
from attribution.designs.did.fixed_effects import codes
from attribution.errors import DesignError

__all__ = ["Stacks", "overlap_pairs", "stack_cohorts"]

# columns the stacked frame adds (reserved names: no user column can meet them)
_TREATED, _STACK, _EVENT = internal("treated"), internal("stack"), internal("event_time")


def overlap_pairs(launches: pd.DataFrame, window: int) -> pd.DataFrame:
    """Pairs of launches of different components on one unit within `window` periods.

    `launches` has columns unit, component, start_period. Returns unit, component_a, component_b,
    start_a, start_b, gap (sorted by gap, unit, components).
    """
    pairs = launches.merge(launches, on="unit", suffixes=("_a", "_b"))
    pairs = pairs[pairs["component_a"] < pairs["component_b"]]
    pairs = pairs.assign(gap=(pairs["start_period_b"] - pairs["start_period_a"]).abs())
    bad = pairs[pairs["gap"] <= int(window)].rename(
        columns={"start_period_a": "start_a", "start_period_b": "start_b"}
    )
    return (
        bad[["unit", "component_a", "component_b", "start_a", "start_b", "gap"]]
        .sort_values(["gap", "unit", "component_a", "component_b"])
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class Stacks:
    """The stacked data of one component, ready for the fixed-effects regression."""

    frame: pd.DataFrame
    event_times: np.ndarray
    """Event-time dummies estimated (the window without ref, where observed)."""
    x: np.ndarray
    fe: list[np.ndarray]
    """Sub-experiment × unit and sub-experiment × period codes."""
    used: list[int]
    dropped: list[int]
    """Cohorts whose window does not fit inside the panel or without clean treated / controls."""
    outside: list[int]
    """Cohorts (among `dropped`) whose window does not fit inside the panel's periods."""


def stack_cohorts(
    df: pd.DataFrame,
    launches: pd.DataFrame,
    *,
    component: str,
    unit: str,
    time: str,
    keep: list[str],
    window: tuple[int, int],
    ref: int,
    control_group: str,
) -> Stacks:
    """One sub-experiment per cohort g of `component` (Cengiz et al. 2019).

    Treated: the units it reached at g; controls: units it had not reached by g + window[1]
    (control_group="notyettreated") or never reached ("nevertreated"); periods g + window[0] …
    g + window[1]; units where *another* component launched inside that calendar window are left
    out. `keep` are the columns carried into the stacked frame.
    """
    lo, hi = window
    periods = np.sort(df[time].unique())
    t_min, t_max = int(periods[0]), int(periods[-1])
    own = launches[launches["component"] == component].set_index(unit)["start_period"]
    others = launches[launches["component"] != component]
    start = df[unit].map(own)
    cohorts = np.sort(own.unique())
    usable = [int(g) for g in cohorts if g + lo >= t_min and g + hi <= t_max]
    outside = [int(g) for g in cohorts if int(g) not in usable]
    if not usable:
        raise DesignError(
            f"no cohort of {component!r} has the whole window {list(window)} inside the panel's "
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
        control = start.isna() if control_group == "nevertreated" else start.isna() | (start > b)
        rows = in_window & (treated | control) & ~df[unit].isin(contaminated)
        sub = df.loc[rows, list(dict.fromkeys(keep))].copy()
        sub[_TREATED] = treated[rows].to_numpy()
        if not sub[_TREATED].any() or sub[_TREATED].all():
            continue  # no clean treated or no clean control units: this cohort cannot be used
        sub[_STACK] = g
        sub[_EVENT] = np.where(sub[_TREATED], sub[time] - g, np.nan)
        stacks.append(sub)
    if not stacks:
        raise DesignError(
            f"no sub-experiment of {component!r} has both clean treated and clean control units",
            fix="narrow the window or check the overlap of launches (rollout_overlap)",
        )
    st = pd.concat(stacks, ignore_index=True)
    times = np.array([e for e in range(lo, hi + 1) if e != ref], dtype=np.int64)
    x = (st[_EVENT].to_numpy()[:, None] == times[None, :]).astype(float)
    present = x.any(axis=0)
    times, x = times[present], x[:, present]
    fe = [
        codes(st[_STACK].astype(str) + "|" + st[unit].astype(str)),
        codes(st[_STACK].astype(str) + "|" + st[time].astype(str)),
    ]
    used = sorted(int(g) for g in st[_STACK].unique())
    return Stacks(
        frame=st,
        event_times=times,
        x=x,
        fe=fe,
        used=used,
        dropped=outside + [g for g in usable if g not in used],
        outside=outside,
    )
