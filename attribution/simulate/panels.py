"""Scenarios 2 and 3: market × surface panels for difference-in-differences and synthetic control.

`staggered_rollout` — E, R, K launch at different periods on different units, with effects that
grow with time since launch (so two-way fixed effects is biased, Callaway & Sant'Anna 2021 is not).
`single_market_launch` — an interactive-fixed-effects (factor-model) panel where one or a few units
get a component (Abadie, Diamond & Hainmueller 2010; Arkhangelsky et al. 2021 simulate the same
kind of panel).

Truth is exact given the realised unit and time parameters: the outcome noise has mean zero, so an
effect is a closed-form function of the drawn levels and the launch schedule.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from attribution.errors import DesignError, OptionError
from attribution.simulate.factorial import _check_int
from attribution.simulate.model import COMPONENTS
from attribution.simulate.truth import Simulation, truth_from_cell_means
from attribution.simulate.writer import check_con, write_frame

__all__ = [
    "DEFAULT_LIFTS",
    "LAUNCH_LOG_SCHEMA",
    "PANEL_SCHEMA",
    "ramp",
    "single_market_launch",
    "staggered_rollout",
]

_STREAM = 2  # spawn-key tags of this module's random streams
_STREAM_SYNTH = 3

DEFAULT_LIFTS: Mapping[str, float] = {"E": 0.02, "R": 0.015, "K": 0.015, "E:R": 0.003, "E:K": 0.01}
"""Long-run relative lifts of a full-traffic launch on a unit (fractions of the unit's level).

Larger than the 14-day user-level effects of `factorial_experiment`: a market-wide launch at full
traffic after the ramp-up (models retrained on the new data) — and visible in unit-day averages.
"""

RAMP_START = 0.25
"""Dynamic effects: on the launch day the effect is 25% of its long-run size …"""
RAMP_DAYS = 5.0
"""… and the gap closes with e-folding time 5 periods: h(e) = 1 − 0.75·exp(−e/5)."""

PANEL_SCHEMA = ibis.schema(
    {
        "unit": "!string",
        "market": "!string",
        "surface": "!string",
        "period": "!int64",
        "date": "!date",
        "engagement": "!float64",
        "users": "!int64",
        "E": "!float64",
        "R": "!float64",
        "K": "!float64",
    }
)
LAUNCH_LOG_SCHEMA = ibis.schema(
    {
        "component": "!string",
        "unit": "!string",
        "start_date": "!date",
        "start_period": "!int64",
        "rollout_share": "!float64",
    }
)


def ramp(event_time: np.ndarray, dynamic: bool) -> np.ndarray:
    """Share of the long-run effect reached `event_time` periods after launch (0 before launch)."""
    e = np.asarray(event_time, dtype=float)
    h = 1.0 - (1.0 - RAMP_START) * np.exp(-np.maximum(e, 0.0) / RAMP_DAYS) if dynamic else 1.0
    return np.where(e >= 0, h, 0.0)


def _check_components(components: Any) -> tuple[str, ...]:
    if isinstance(components, str) or not isinstance(components, Sequence) or not components:
        raise OptionError(
            f"components={components!r} must be a non-empty tuple of component names",
            fix="e.g. components=('E', 'R', 'K') or components=('K',)",
        )
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown:
        raise OptionError(
            f"unknown component(s) {unknown}", fix=f"use names from {list(COMPONENTS)}"
        )
    if len(set(components)) != len(components):
        raise OptionError(f"components={components!r} has duplicates")
    return tuple(c for c in COMPONENTS if c in components)


def _check_lifts(
    lifts: Mapping[str, float] | None, components: tuple[str, ...]
) -> dict[str, float]:
    if lifts is None:
        return {k: v for k, v in DEFAULT_LIFTS.items() if set(k.split(":")) <= set(components)}
    if not isinstance(lifts, Mapping):
        raise OptionError(
            f"lifts must be a dict like {dict(DEFAULT_LIFTS)}, got {type(lifts).__name__}"
        )
    allowed = list(components) + [":".join(p) for p in itertools.combinations(components, 2)]
    out = {}
    for k, v in lifts.items():
        if k not in allowed:
            raise OptionError(f"unknown lift term {k!r}", fix=f"use terms from {allowed}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v <= -0.5:
            raise OptionError(f"lifts[{k!r}]={v!r} must be a finite number above -0.5")
        out[k] = float(v)
    return out


def _lift(lifts: Mapping[str, float], x: Mapping[str, np.ndarray]) -> np.ndarray:
    """Relative lift L(x) = Σ β_c x_c + Σ β_pq x_p x_q for intensities x (0 = component off)."""
    total = 0.0
    for term, beta in lifts.items():
        parts = term.split(":")
        prod = 1.0
        for p in parts:
            prod = prod * x[p]
        total = total + beta * prod
    return np.asarray(total, dtype=float)


def _check_start_date(start_date: Any) -> _dt.date:
    if isinstance(start_date, _dt.datetime) or not isinstance(start_date, _dt.date):
        raise OptionError(
            f"start_date={start_date!r} must be a datetime.date",
            fix="e.g. datetime.date(2026, 3, 2)",
        )
    return start_date


def _check_float(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        bound = "(" if lo_open else "["
        raise OptionError(f"{name}={value!r} must be a number in {bound}{lo}, {hi}]")
    return float(value)


def _default_cohorts(n_periods: int, components: tuple[str, ...]) -> dict[str, list[int]]:
    out = {}
    for j, c in enumerate(COMPONENTS):
        if c not in components:
            continue
        base = np.linspace(0.25 * n_periods, 0.7 * n_periods, 4).round().astype(int) + j
        out[c] = sorted({int(min(max(g, 2), n_periods)) for g in base})
    return out


def _check_cohorts(
    cohorts: Mapping[str, Sequence[int]] | None, components: tuple[str, ...], n_periods: int
) -> dict[str, list[int]]:
    if cohorts is None:
        return _default_cohorts(n_periods, components)
    if not isinstance(cohorts, Mapping) or set(cohorts) != set(components):
        raise OptionError(
            f"cohorts must map every component in {list(components)} to its launch periods",
            fix="e.g. cohorts={'K': [8, 12, 16]}",
        )
    out = {}
    for c, gs in cohorts.items():
        gs = list(gs)
        bad = [g for g in gs if isinstance(g, bool) or not isinstance(g, int | np.integer)]
        bad += [g for g in gs if g not in bad and not 2 <= g <= n_periods]
        if not gs or bad:
            raise OptionError(
                f"cohorts[{c!r}] has launch periods {bad or gs} outside 2..{n_periods}",
                fix="every cohort needs at least one pre-period and must start within the panel",
            )
        out[c] = sorted({int(g) for g in gs})
    return out


def staggered_rollout(
    *,
    n_markets: int = 20,
    surfaces: Sequence[str] = ("home", "search", "watch_next"),
    n_periods: int = 30,
    seed: int = 0,
    dynamic: bool = True,
    components: Sequence[str] = ("E", "R", "K"),
    cohorts: Mapping[str, Sequence[int]] | None = None,
    lifts: Mapping[str, float] | None = None,
    never_treated_share: float = 0.1,
    component_never_share: float = 0.2,
    rollout_share: float = 1.0,
    ar: float = 0.5,
    noise_sd: float = 0.05,
    start_date: _dt.date = _dt.date(2026, 3, 2),
    con: Any = None,
) -> Simulation:
    """A market × surface daily panel where E, R, K launch at staggered periods on different units.

    Model (additive unit and time fixed effects, so parallel trends hold for untreated outcomes):

        y_ut = α_u + λ_t + α_u · L(x_ut) + ε_ut,   ε_ut = AR(1) shock (stationary sd `noise_sd`,
                                                    autocorrelation `ar`) + sampling noise of a
                                                    mean over `users` users
        x_cut = rollout_share · h(t − g_cu)          h = `ramp`: grows from 25% to 100% if dynamic
        L(x) = Σ_c β_c x_c + Σ_pairs β_pq x_p x_q    β = `lifts` (default DEFAULT_LIFTS)

    Each component has cohorts (launch periods; default four spread over the middle of the panel);
    a share `never_treated_share` of units never gets anything, and a further share
    `component_never_share` of the others never gets a given component. `components=("K",)` gives
    a clean single-treatment panel (only the ranker rolls out; E and R columns are all zero).

    With several components the launches overlap on units and interact (E:K > 0), so a
    per-component DiD that ignores the others is contaminated — on purpose: it is what the
    rollout-overlap checks must flag.

    Tables: "surface_panel" and "launch_log" (tables.md). Truth (exact given the drawn α, λ):
    details["att_gt"] (component, group, time, att, n_units — att = mean over the cohort's units of
    the effect of that component given the other components' actual status), details["event_time"]
    (cohort-size-weighted, as R did::aggte(type="dynamic")), details["overall_att"] (per
    component, the "simple" aggregation = mean over treated post unit-periods),
    details["group_att"], details["unit_effects"] and details["cohort_of_unit"];
    details["per_component"][c] holds the same for one component without the component column
    ("att_gt", "event_time", "group_att" DataFrames and the float "overall_att"). The top-level
    cell_means/effects describe the steady state: expected unit-day outcome, averaged over the
    panel, if every unit ran that set of components at full ramp and full traffic.
    """
    n_markets = _check_int("n_markets", n_markets, 2, "use at least 2 markets")
    n_periods = _check_int("n_periods", n_periods, 4, "use at least 4 periods")
    seed = _check_int("seed", seed, 0, "use a non-negative integer seed")
    if isinstance(surfaces, str) or not isinstance(surfaces, Sequence) or not surfaces:
        raise OptionError(f"surfaces={surfaces!r} must be a non-empty tuple of names")
    if len(set(surfaces)) != len(surfaces) or not all(isinstance(s, str) and s for s in surfaces):
        raise OptionError(f"surfaces={surfaces!r} must be distinct non-empty strings")
    if not isinstance(dynamic, bool):
        raise OptionError(f"dynamic={dynamic!r} must be True or False")
    comps = _check_components(components)
    beta = _check_lifts(lifts, comps)
    groups = _check_cohorts(cohorts, comps, n_periods)
    never_all = _check_float("never_treated_share", never_treated_share, 0.0, 0.9, lo_open=True)
    never_c = _check_float("component_never_share", component_never_share, 0.0, 0.9)
    share = _check_float("rollout_share", rollout_share, 0.0, 1.0, lo_open=True)
    ar = _check_float("ar", ar, 0.0, 0.99)
    noise_sd = _check_float("noise_sd", noise_sd, 0.0, 10.0)
    start_date = _check_start_date(start_date)
    con = check_con(con)

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM,)))
    markets = [f"m{i:0{max(2, len(str(n_markets - 1)))}d}" for i in range(n_markets)]
    n_s = len(surfaces)
    n_units = n_markets * n_s
    unit_market = np.repeat(np.arange(n_markets), n_s)
    unit_surface = np.tile(np.arange(n_s), n_markets)
    units = [f"{markets[m]}/{surfaces[s]}" for m, s in zip(unit_market, unit_surface, strict=True)]

    # levels, sizes, time effects
    mk = np.exp(0.1 * rng.standard_normal(n_markets))
    sf = np.exp(0.15 * rng.standard_normal(n_s))
    alpha = 10.0 * mk[unit_market] * sf[unit_surface]
    mk_users = np.exp(np.log(60_000) + 0.6 * rng.standard_normal(n_markets))
    sf_users = rng.dirichlet(np.full(n_s, 5.0))
    base_users = mk_users[unit_market] * sf_users[unit_surface]
    t = np.arange(1, n_periods + 1)
    weekly = np.sin(2 * np.pi * t / 7.0)
    lam = 0.3 * weekly + 0.01 * t + 0.05 * rng.standard_normal(n_periods)
    users = np.maximum(1, np.round(base_users[:, None] * (1.0 + 0.1 * weekly[None, :]))).astype(
        np.int64
    )

    # launch schedule: never-at-all units, then per component never / cohorts round-robin
    n_never = max(2, round(never_all * n_units))
    if n_never >= n_units:
        raise DesignError(
            f"never_treated_share={never_all} leaves no unit to treat among {n_units}",
            fix="lower never_treated_share or add markets",
        )
    order = rng.permutation(n_units)
    never_units = np.sort(order[:n_never])
    eligible = order[n_never:]
    first: dict[str, np.ndarray] = {}  # first treated period per unit, 0 = never
    for c in comps:
        g = np.zeros(n_units, dtype=np.int64)
        perm = rng.permutation(eligible)
        n_skip = round(never_c * len(perm))
        treated = perm[n_skip:]
        if len(treated) < len(groups[c]):
            raise DesignError(
                f"component {c!r}: {len(treated)} treated units cannot fill "
                f"{len(groups[c])} cohorts",
                fix="add markets or surfaces, or use fewer cohorts",
            )
        g[treated] = np.array(groups[c])[np.arange(len(treated)) % len(groups[c])]
        first[c] = g

    # intensities, effects, outcome
    event = {c: t[None, :] - first[c][:, None] for c in comps}
    on = {c: (first[c][:, None] > 0) & (event[c] >= 0) for c in comps}
    x = {c: np.where(on[c], share * ramp(event[c], dynamic), 0.0) for c in COMPONENTS if c in comps}
    lift_all = _lift(beta, x) * np.ones((n_units, n_periods))
    tau_c = {}
    for c in comps:
        x_off = dict(x)
        x_off[c] = np.zeros_like(x[c])
        tau_c[c] = alpha[:, None] * (lift_all - _lift(beta, x_off))
    shock = np.empty((n_units, n_periods))
    innov = rng.standard_normal((n_units, n_periods))
    shock[:, 0] = innov[:, 0]
    for j in range(1, n_periods):
        shock[:, j] = ar * shock[:, j - 1] + np.sqrt(1 - ar**2) * innov[:, j]
    sampling = 9.0 / np.sqrt(users) * rng.standard_normal((n_units, n_periods))
    y = alpha[:, None] + lam[None, :] + alpha[:, None] * lift_all + noise_sd * shock + sampling

    dates = [start_date + _dt.timedelta(days=int(p - 1)) for p in t]
    panel = pd.DataFrame(
        {
            "unit": np.repeat(units, n_periods),
            "market": np.repeat([markets[m] for m in unit_market], n_periods),
            "surface": np.repeat([surfaces[s] for s in unit_surface], n_periods),
            "period": np.tile(t, n_units).astype(np.int64),
            "date": pd.Series(dates * n_units, dtype=object),
            "engagement": y.ravel(),
            "users": users.ravel(),
        }
    )
    for c in COMPONENTS:
        panel[c] = (share * on[c]).astype(np.float64).ravel() if c in comps else 0.0
    panel["date"] = panel["date"].astype(object)

    log_rows = []
    for c in comps:
        for u in np.flatnonzero(first[c]):
            g = int(first[c][u])
            log_rows.append((c, units[u], dates[g - 1], g, share))
    launch_log = pd.DataFrame(
        log_rows, columns=["component", "unit", "start_date", "start_period", "rollout_share"]
    ).astype({"start_period": np.int64, "rollout_share": np.float64})
    launch_log["start_date"] = launch_log["start_date"].astype(object)

    # truth
    att_rows, event_rows, group_rows, overall = [], [], [], {}
    unit_eff = []
    for c in comps:
        sizes = {}
        for g in groups[c]:
            members = first[c] == g
            sizes[g] = int(members.sum())
            att = tau_c[c][members].mean(axis=0)
            att_rows += [(c, g, int(tt), float(a), sizes[g]) for tt, a in zip(t, att, strict=True)]
            group_rows.append((c, g, float(att[t >= g].mean()), sizes[g]))
        att_gt_c = pd.DataFrame(
            [r for r in att_rows if r[0] == c], columns=["component", "group", "time", "att", "n"]
        )
        for e in range(1 - max(groups[c]), n_periods - min(groups[c]) + 1):
            sub = att_gt_c[att_gt_c["time"] - att_gt_c["group"] == e]
            if len(sub):
                event_rows.append(
                    (c, e, float(np.average(sub["att"], weights=sub["n"])), int(sub["n"].sum()))
                )
        treated_post = on[c]
        overall[c] = float(tau_c[c][treated_post].mean())
        uu, tt = np.nonzero(treated_post)
        unit_eff.append(
            pd.DataFrame(
                {
                    "component": c,
                    "unit": np.asarray(units)[uu],
                    "period": t[tt].astype(np.int64),
                    "effect": tau_c[c][uu, tt],
                }
            )
        )
    att_gt = pd.DataFrame(att_rows, columns=["component", "group", "time", "att", "n_units"])
    event_time = pd.DataFrame(event_rows, columns=["component", "event_time", "att", "n_units"])
    group_att = pd.DataFrame(group_rows, columns=["component", "group", "att", "n_units"])
    gp = group_att.assign(w=group_att["n_units"] * group_att["att"]).groupby("component")
    cohort_of_unit = pd.DataFrame({"unit": units, **{c: first[c] for c in comps}})

    mean_alpha = float(alpha.mean())
    baseline = mean_alpha + float(lam.mean())
    values = {}
    for cell in itertools.product((0, 1), repeat=len(comps)):
        xs = {c: np.asarray(float(v)) for c, v in zip(comps, cell, strict=True)}
        values[cell] = baseline + mean_alpha * float(_lift(beta, xs))
    per_component = {
        c: {
            "att_gt": att_gt.loc[
                att_gt["component"] == c, ["group", "time", "att", "n_units"]
            ].reset_index(drop=True),
            "event_time": event_time.loc[
                event_time["component"] == c, ["event_time", "att"]
            ].reset_index(drop=True),
            "group_att": group_att.loc[
                group_att["component"] == c, ["group", "att", "n_units"]
            ].reset_index(drop=True),
            "overall_att": overall[c],
        }
        for c in comps
    }
    details = {
        "per_component": per_component,
        "att_gt": att_gt,
        "event_time": event_time,
        "overall_att": pd.Series(overall, name="att"),
        "group_att": group_att,
        "group_overall_att": (gp["w"].sum() / gp["n_units"].sum()).rename("att"),
        "unit_effects": pd.concat(unit_eff, ignore_index=True),
        "cohort_of_unit": cohort_of_unit,
        "never_treated_units": [units[u] for u in never_units],
        "lifts": dict(beta),
        "dynamic": dynamic,
        "unit_levels": pd.Series(alpha, index=units, name="alpha"),
        "time_effects": pd.Series(lam, index=pd.Index(t, name="period"), name="lambda"),
    }
    truth = truth_from_cell_means(comps, values, details)
    tables: dict[str, Any] = {"surface_panel": panel, "launch_log": launch_log}
    if con is not None:
        tables = {
            "surface_panel": write_frame(con, "surface_panel", panel, schema=PANEL_SCHEMA),
            "launch_log": write_frame(con, "launch_log", launch_log, schema=LAUNCH_LOG_SCHEMA),
        }
    return Simulation(scenario="staggered_rollout", tables=tables, truth=truth, seed=seed)


def single_market_launch(
    *,
    n_units: int = 39,
    n_periods: int = 31,
    treated: int = 1,
    start_period: int | Sequence[int] = 21,
    seed: int = 0,
    component: str = "K",
    lift: float = 0.03,
    dynamic: bool = False,
    n_factors: int = 2,
    noise_sd: float = 0.1,
    start_date: _dt.date = _dt.date(2026, 3, 2),
    con: Any = None,
) -> Simulation:
    """A factor-model panel of markets where `treated` of them launch `component` at `start_period`.

    Untreated outcomes follow an interactive fixed-effects model (Bai 2009; the DGP family used by
    Abadie et al. 2010 and Arkhangelsky et al. 2021):

        y_it(0) = 10 + α_i + δ_t + Σ_f λ_if F_tf + ε_it,   ε_it ~ N(0, noise_sd²)

    with α_i ~ N(0, 1), λ_if ~ N(0, 0.5²), F_f smooth AR(1) factors with unit variance, δ_t weekly
    seasonality plus trend. Loadings of all units come from the same distribution; the treated units
    are the `treated` units closest to the centre of the (α, λ) cloud, so they lie inside the
    donors' convex hull. From its start period (one int, or one per treated unit for staggered
    starts) a treated unit's expected outcome is multiplied by 1 + lift·h(event time) (h = 1, or the
    `ramp` if dynamic).

    Table "surface_panel" (tables.md columns, every unit on surface "home") plus a `treatment`
    int64 0/1 column marking treated unit-periods; the component's share column equals treatment.
    Truth (exact given the drawn α, δ, λ, F): details["att"] (mean effect over treated post
    unit-periods), details["effects"] (unit, period, event_time, effect, y0_mean),
    details["per_period"] (mean effect per period over the units treated by then),
    details["treated_units"], details["start_periods"]; effects/shapley/total = att for the one
    component.
    """
    n_units = _check_int("n_units", n_units, 3, "use at least 3 units (1 treated + 2 donors)")
    n_periods = _check_int("n_periods", n_periods, 3, "use at least 3 periods")
    seed = _check_int("seed", seed, 0, "use a non-negative integer seed")
    n_treated = _check_int("treated", treated, 1, "treated is the number of treated units")
    if n_treated > n_units - 2:
        raise DesignError(
            f"treated={n_treated} leaves fewer than 2 donors among {n_units} units",
            fix="treat fewer units or add units",
        )
    if isinstance(start_period, Sequence) and not isinstance(start_period, str):
        starts = list(start_period)
        if len(starts) != n_treated:
            raise OptionError(
                f"start_period has {len(starts)} values for {n_treated} treated units",
                fix="give one start period, or one per treated unit",
            )
    else:
        starts = [start_period] * n_treated
    for s in starts:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or not 2 <= s <= n_periods:
            raise OptionError(
                f"start_period={s!r} must be an integer in 2..{n_periods}",
                fix="a treated unit needs at least one pre-period and one post-period",
            )
    if component not in COMPONENTS:
        raise OptionError(f"unknown component {component!r}", fix=f"use one of {list(COMPONENTS)}")
    lift = _check_float("lift", lift, -0.5, 10.0, lo_open=True)
    if not isinstance(dynamic, bool):
        raise OptionError(f"dynamic={dynamic!r} must be True or False")
    n_factors = _check_int("n_factors", n_factors, 0, "use 0 (no factors) or more")
    noise_sd = _check_float("noise_sd", noise_sd, 0.0, 10.0)
    start_date = _check_start_date(start_date)
    con = check_con(con)

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM_SYNTH,)))
    t = np.arange(1, n_periods + 1)
    alpha = rng.standard_normal(n_units)
    loadings = 0.5 * rng.standard_normal((n_units, n_factors))
    factors = np.empty((n_periods, n_factors))
    rho = 0.8
    innov = rng.standard_normal((n_periods, n_factors))
    if n_factors:
        factors[0] = innov[0]
        for j in range(1, n_periods):
            factors[j] = rho * factors[j - 1] + np.sqrt(1 - rho**2) * innov[j]
    delta = 0.2 * np.sin(2 * np.pi * t / 7.0) + 0.01 * t
    y0_mean = 10.0 + alpha[:, None] + delta[None, :] + loadings @ factors.T
    eps = noise_sd * rng.standard_normal((n_units, n_periods))
    users = np.round(np.exp(np.log(50_000) + 0.5 * rng.standard_normal(n_units))).astype(np.int64)

    # treated = the units nearest the centre of the standardised (α, λ) cloud
    z = np.column_stack([alpha, loadings / 0.5]) if n_factors else alpha[:, None]
    dist = np.sum((z - z.mean(axis=0)) ** 2, axis=1)
    treated_idx = np.sort(np.argsort(dist, kind="stable")[:n_treated])
    width = max(2, len(str(n_units - 1)))
    markets = [f"m{i:0{width}d}" for i in range(n_units)]
    units = [f"{m}/home" for m in markets]
    g = np.zeros(n_units, dtype=np.int64)
    g[treated_idx] = np.asarray(starts, dtype=np.int64)

    event = t[None, :] - g[:, None]
    d = (g[:, None] > 0) & (event >= 0)
    tau = np.where(d, lift * y0_mean * ramp(event, dynamic), 0.0)
    y = y0_mean + tau + eps

    dates = [start_date + _dt.timedelta(days=int(p - 1)) for p in t]
    panel = pd.DataFrame(
        {
            "unit": np.repeat(units, n_periods),
            "market": np.repeat(markets, n_periods),
            "surface": "home",
            "period": np.tile(t, n_units).astype(np.int64),
            "date": pd.Series(dates * n_units, dtype=object),
            "engagement": y.ravel(),
            "users": np.repeat(users, n_periods),
        }
    )
    for c in COMPONENTS:
        panel[c] = d.astype(np.float64).ravel() if c == component else 0.0
    panel["treatment"] = d.astype(np.int64).ravel()

    uu, tt = np.nonzero(d)
    effects = pd.DataFrame(
        {
            "unit": np.asarray(units)[uu],
            "period": t[tt].astype(np.int64),
            "event_time": event[uu, tt].astype(np.int64),
            "effect": tau[uu, tt],
            "y0_mean": y0_mean[uu, tt],
        }
    )
    att = float(tau[d].mean())
    baseline = float(y0_mean[d].mean())
    details = {
        "att": att,
        "effects": effects,
        "per_period": effects.groupby("period")["effect"].mean().rename("att"),
        "per_event_time": effects.groupby("event_time")["effect"].mean().rename("att"),
        "treated_units": [units[i] for i in treated_idx],
        "start_periods": {units[i]: int(g[i]) for i in treated_idx},
        "lift": lift,
        "dynamic": dynamic,
        "loadings": pd.DataFrame(
            loadings, index=units, columns=[f"f{j + 1}" for j in range(n_factors)]
        ),
        "factors": pd.DataFrame(
            factors,
            index=pd.Index(t, name="period"),
            columns=[f"f{j + 1}" for j in range(n_factors)],
        ),
        "unit_effects": pd.Series(alpha, index=units, name="alpha"),
        "time_effects": pd.Series(delta, index=pd.Index(t, name="period"), name="delta"),
    }
    truth = truth_from_cell_means((component,), {(0,): baseline, (1,): baseline + att}, details)
    tables: dict[str, Any] = {"surface_panel": panel}
    if con is not None:
        schema = ibis.schema({**dict(PANEL_SCHEMA.items()), "treatment": "!int64"})
        tables = {"surface_panel": write_frame(con, "surface_panel", panel, schema=schema)}
    return Simulation(scenario="single_market_launch", tables=tables, truth=truth, seed=seed)
