"""Scenario: a quarter's train of launches, each shipped on the strength of its own A/B test, with a
global holdout kept on the old models across every surface.

Two tables:

- ``launches`` (one row per launch test): launch, surface, start_week, ship_week, estimate,
  std_error, p_value, shipped — what each launch's A/B test reported, on its own randomised slice of
  users. Each estimate is drawn from its exact sampling distribution N(a_i, σ_i²) (the difference of
  two arm means over `slice_users` users; σ_i follows from the outcome model below), so the winner's
  curse is there exactly as in practice: a launch ships when its test is significantly positive
  (z > z_{1−α/2}), and the shipped estimates overstate their true effects.
- ``table_name`` (user × surface × week rows): user_id, arm ("holdout" or "treatment"), surface,
  week, engagement, pre_engagement. The holdout (`holdout_share` of the users) never gets a launch;
  the other users get each shipped launch from its ship week on. (The launch tests' slices are other
  users: their exposure before shipping is not in these rows.)

Outcome model (additive in relative lifts, so effects add up exactly):

    engagement[u, s, w] = μ_s · A_u · G_us · N_usw · (1 + L_s(w) · treated_u)
    L_s(w) = Σ_{shipped i on s, ship_i ≤ w} ℓ_i · (1 + ν · exp(−(w − ship_i) / τ))

A_u (user activity), G_us (surface affinity), N_usw (weekly noise) are independent mean-one gamma
draws, so E[engagement | arm, s, w] = μ_s (1 + L_s(w) · treated) and the exact effect the holdout
measures on surface s in week w is μ_s L_s(w); a launch's true effect is a_i = μ_s ℓ_i (absolute
engagement per user-week on its surface). The overall effect is per user-week summed over surfaces.
With novelty ν = 0 (default) the final week's overall effect is Σ_{shipped} a_i: exactly the
cumulative impact the sum of launch wins tries to estimate.

Rows are generated in fixed blocks of `BLOCK` users with their own random streams (as in
`factorial_experiment`), so the table is the same for any `chunk_size`, and the launch train depends
on the seed alone (not on `n_users`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from attribution.errors import DesignError, OptionError
from attribution.options import check_alpha, check_float, check_int, check_seed
from attribution.progress import RowCounter
from attribution.simulate.truth import Simulation, truth_from_cell_means
from attribution.simulate.writer import (
    check_con,
    check_table_name,
    to_pandas,
    write_arrow_chunks,
    write_frame,
)

__all__ = [
    "LAUNCHES_SCHEMA",
    "LAUNCH_TRAIN_SCHEMA",
    "SURFACE_BASELINES",
    "LaunchEffects",
    "launch_train",
]

BLOCK = 65_536
"""Users per random-stream block (fixed: changing it changes every table)."""

_STREAM = 5  # spawn-key tag of this scenario's random streams
_LAUNCH_STREAM = 0
_USER_STREAM = 1

SURFACE_BASELINES: dict[str, float] = {"home": 10.0, "search": 4.0, "related": 2.0}
"""Mean engagement per user-week on each known surface (other surface names get 3.0)."""
_OTHER_BASELINE = 3.0

ACTIVITY_SHAPE = 4.0
"""Gamma shape of the user activity A_u (variance 1/4)."""
AFFINITY_SHAPE = 8.0
"""Gamma shape of the user's affinity to a surface G_us (variance 1/8)."""
WEEKLY_NOISE = 0.2
"""Variance of the mean-one weekly noise N_usw."""
PRE_NOISE = 0.05
"""Variance of the mean-one noise on pre_engagement (a longer pre-period than one week)."""

LAUNCH_TRAIN_SCHEMA = ibis.schema(
    {
        "user_id": "!int64",
        "arm": "!string",
        "surface": "!string",
        "week": "!int64",
        "engagement": "!float64",
        "pre_engagement": "!float64",
    }
)

LAUNCHES_SCHEMA = ibis.schema(
    {
        "launch": "!string",
        "surface": "!string",
        "start_week": "!int64",
        "ship_week": "int64",
        "estimate": "!float64",
        "std_error": "!float64",
        "p_value": "!float64",
        "shipped": "!boolean",
    }
)


@dataclasses.dataclass(frozen=True)
class LaunchEffects:
    """The distribution of the launches' true relative lifts ℓ: many small effects and a few wins.

    With probability `null_share` a launch's lift is N(0, small_sd²) (a change that does almost
    nothing), else N(win_mean, win_sd²). Lifts are relative to the surface's baseline engagement.
    `novelty` ν and `novelty_weeks` τ make a shipped launch's effect start at (1 + ν) ℓ and decay
    to ℓ (ν = 0: no novelty).
    """

    null_share: float = 0.6
    small_sd: float = 0.0015
    win_mean: float = 0.008
    win_sd: float = 0.005
    novelty: float = 0.0
    novelty_weeks: float = 2.0

    def __post_init__(self) -> None:
        check_float("null_share", self.null_share, low=0.0, high=1.0)
        check_float("small_sd", self.small_sd, low=0.0)
        check_float("win_mean", self.win_mean, low=-1.0, high=1.0)
        check_float("win_sd", self.win_sd, low=0.0)
        check_float("novelty", self.novelty, low=0.0)
        check_float("novelty_weeks", self.novelty_weeks, low=0.0, low_open=True)


def _baseline(surface: str) -> float:
    return SURFACE_BASELINES.get(surface, _OTHER_BASELINE)


def window_variance(weeks: int) -> float:
    """Var of a user's mean weekly engagement over `weeks` weeks on a surface, divided by μ_s².

    (1 + 1/k_A)(1 + 1/k_G)(1 + v/weeks) − 1, from the independent mean-one gamma factors.
    """
    return (1 + 1 / ACTIVITY_SHAPE) * (1 + 1 / AFFINITY_SHAPE) * (1 + WEEKLY_NOISE / weeks) - 1


def _check_surfaces(surfaces: Any) -> tuple[str, ...]:
    if isinstance(surfaces, str) or not isinstance(surfaces, Sequence) or not surfaces:
        raise OptionError(
            f"surfaces={surfaces!r} must be a non-empty list of surface names",
            fix="e.g. surfaces=('home', 'search', 'related')",
        )
    out = tuple(surfaces)
    if any(not isinstance(s, str) or not s for s in out) or len(set(out)) != len(out):
        raise OptionError(
            f"surfaces={list(out)!r} must be distinct non-empty strings",
            fix="e.g. surfaces=('home', 'search', 'related')",
        )
    return out


def _draw_launches(
    seed: int,
    n_launches: int,
    surfaces: tuple[str, ...],
    n_weeks: int,
    test_weeks: int,
    slice_users: int,
    alpha: float,
    effects: LaunchEffects,
) -> pd.DataFrame:
    """The launch train: true effects, test readouts and ship decisions (seed-determined)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM, _LAUNCH_STREAM)))
    n = n_launches
    surf = rng.integers(0, len(surfaces), n)
    start = rng.integers(1, n_weeks - test_weeks + 1, n)  # weeks 1 .. n_weeks − test_weeks
    is_null = rng.random(n) < effects.null_share
    lift = np.where(
        is_null,
        effects.small_sd * rng.standard_normal(n),
        effects.win_mean + effects.win_sd * rng.standard_normal(n),
    )
    z = rng.standard_normal(n)
    mu = np.array([_baseline(surfaces[s]) for s in surf])
    true = mu * lift
    se = mu * math.sqrt(window_variance(test_weeks) * 4.0 / slice_users)  # two arms of slice/2
    est = true + se * z
    p = 2 * stats.norm.sf(np.abs(est / se))
    shipped = est / se > stats.norm.ppf(1 - alpha / 2)
    width = max(2, len(str(n)))
    order = np.lexsort((np.arange(n), start))  # launches numbered in the order their tests began
    frame = pd.DataFrame(
        {
            "launch": [f"L{i + 1:0{width}d}" for i in range(n)],
            "surface": [surfaces[s] for s in surf[order]],
            "start_week": start[order].astype(np.int64),
            "ship_week": pd.array(np.where(shipped, start + test_weeks, 0)[order], dtype="Int64"),
            "estimate": est[order],
            "std_error": se[order],
            "p_value": p[order],
            "shipped": shipped[order],
            "true_effect": true[order],
            "true_lift": lift[order],
        }
    )
    frame.loc[~frame["shipped"], "ship_week"] = pd.NA
    return frame


def _lift_path(
    launches: pd.DataFrame, surfaces: tuple[str, ...], n_weeks: int, effects: LaunchEffects
) -> np.ndarray:
    """L_s(w): the relative lift of the treatment arm on each surface (rows) in each week (cols)."""
    weeks = np.arange(1, n_weeks + 1)
    out = np.zeros((len(surfaces), n_weeks))
    shipped = launches[launches["shipped"]]
    for row in shipped.itertuples(index=False):
        s = surfaces.index(row.surface)
        since = weeks - int(row.ship_week)
        on = since >= 0
        boost = 1 + effects.novelty * np.exp(-np.maximum(since, 0) / effects.novelty_weeks)
        out[s] += np.where(on, row.true_lift * boost, 0.0)
    return out


def _block(
    seed: int, b: int, n_surfaces: int, n_weeks: int, holdout_share: float
) -> dict[str, np.ndarray]:
    """Draw block `b` (BLOCK users) from its own stream."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM, _USER_STREAM, b)))
    n, s, w = BLOCK, n_surfaces, n_weeks
    activity = rng.standard_gamma(ACTIVITY_SHAPE, n) / ACTIVITY_SHAPE
    holdout = rng.random(n) < holdout_share
    affinity = rng.standard_gamma(AFFINITY_SHAPE, (n, s)) / AFFINITY_SHAPE
    pre = rng.standard_gamma(1 / PRE_NOISE, (n, s)) * PRE_NOISE
    weekly = rng.standard_gamma(1 / WEEKLY_NOISE, (n, s, w)) * WEEKLY_NOISE
    return {
        "activity": activity,
        "holdout": holdout,
        "affinity": affinity,
        "pre": pre,
        "weekly": weekly,
    }


def _chunks(
    n_users: int,
    seed: int,
    surfaces: tuple[str, ...],
    n_weeks: int,
    holdout_share: float,
    lift: np.ndarray,
    chunk_size: int,
    counts: np.ndarray,
) -> Iterator[pa.Table]:
    n_s = len(surfaces)
    mu = np.array([_baseline(s) for s in surfaces])
    surf_dict = pa.array(list(surfaces), pa.string())
    arm_dict = pa.array(["treatment", "holdout"], pa.string())
    n_blocks = math.ceil(n_users / BLOCK)
    per_chunk = max(1, chunk_size // (BLOCK * n_s * n_weeks))
    for first in range(0, n_blocks, per_chunk):
        parts = []
        for b in range(first, min(first + per_chunk, n_blocks)):
            d = _block(seed, b, n_s, n_weeks, holdout_share)
            rows = min(BLOCK, n_users - b * BLOCK)
            d = {k: v[:rows] for k, v in d.items()}
            base = mu[None, :] * d["activity"][:, None] * d["affinity"]  # (users, surfaces)
            treated = ~d["holdout"]
            factor = 1.0 + lift[None, :, :] * treated[:, None, None]  # (users, surfaces, weeks)
            y = base[:, :, None] * d["weekly"] * factor
            ids = np.arange(b * BLOCK + 1, b * BLOCK + rows + 1, dtype=np.int64)
            counts += np.array([int(d["holdout"].sum()), int(treated.sum())])
            parts.append(
                {
                    "user_id": np.repeat(ids, n_s * n_weeks),
                    "arm": np.repeat(d["holdout"].astype(np.int32), n_s * n_weeks),
                    "surface": np.tile(np.repeat(np.arange(n_s, dtype=np.int32), n_weeks), rows),
                    "week": np.tile(np.arange(1, n_weeks + 1, dtype=np.int64), rows * n_s),
                    "engagement": y.ravel(),
                    "pre_engagement": np.repeat((base * d["pre"]).ravel(), n_weeks),
                }
            )
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        yield pa.table(
            {
                "user_id": pa.array(cat["user_id"]),
                "arm": arm_dict.take(pa.array(cat["arm"])),
                "surface": surf_dict.take(pa.array(cat["surface"])),
                "week": pa.array(cat["week"]),
                "engagement": pa.array(cat["engagement"]),
                "pre_engagement": pa.array(cat["pre_engagement"]),
            },
            schema=LAUNCH_TRAIN_SCHEMA.to_pyarrow(),
        )


def launch_train(
    n_users: int = 100_000,
    *,
    n_launches: int = 30,
    surfaces: Sequence[str] = ("home", "search", "related"),
    n_weeks: int = 13,
    holdout_share: float = 0.05,
    test_weeks: int = 2,
    slice_users: int = 100_000,
    alpha: float = 0.05,
    effects: LaunchEffects | None = None,
    seed: int = 0,
    con: Any = None,
    table_name: str = "launch_train",
    launches_name: str = "launches",
    chunk_size: int = 2_000_000,
    progress: bool = False,
) -> Simulation:
    """Simulate a quarter of launches on several surfaces with a global holdout, with exact truth.

    Why: the sum of every launch's measured win overstates what the launches added together (the
    winner's curse: a launch ships because its estimate came out high); a holdout kept on the old
    models measures the cumulative effect directly. This scenario knows both.

    Each of `n_launches` launches is tested for `test_weeks` weeks on its own slice of
    `slice_users` users (half treated) on one surface, starting in a random week; it ships at the
    end of its test if significantly positive at `alpha` (two-sided). True lifts follow `effects`
    (a LaunchEffects: by default 60% near-zero changes and 40% real wins of about one test SE).

    Returns a Simulation with tables `launches_name` (the launch-test summaries) and `table_name`
    (user × surface × week rows of `n_users` users, `holdout_share` of them in the holdout), as
    pandas frames or, with `con`, Ibis tables written into that engine chunk by chunk. `truth.total`
    is the overall effect in the last week (Σ of the shipped launches' true effects when there is
    no novelty); truth.details holds:

    - "launches": the launch table with `true_effect` (a_i, absolute) and `true_lift` (ℓ_i);
    - "cumulative": the exact holdout effect (treatment − holdout mean engagement per user-week)
      per surface and week, and the "overall" rows (summed over surfaces): surface, week, effect;
    - "shipped_total" (overall) and "shipped_by_surface": Σ of the shipped launches' true effects
      (the long-run cumulative impact, novelty gone); "naive_total": Σ of their estimates;
    - "baselines": μ_s; "holdout_share", "alpha", "effects".
    """
    n_users = check_int("n_users", n_users, minimum=2)
    n_launches = check_int("n_launches", n_launches, minimum=1)
    surfaces = _check_surfaces(surfaces)
    test_weeks = check_int("test_weeks", test_weeks, minimum=1)
    n_weeks = check_int("n_weeks", n_weeks, minimum=test_weeks + 1)
    holdout_share = check_float(
        "holdout_share", holdout_share, low=0.0, high=1.0, low_open=True, high_open=True
    )
    slice_users = check_int("slice_users", slice_users, minimum=4)
    alpha = check_alpha(alpha)
    if effects is None:
        effects = LaunchEffects()
    elif not isinstance(effects, LaunchEffects):
        raise OptionError(
            f"effects must be a LaunchEffects, got {type(effects).__name__}",
            fix="e.g. effects=attribution.simulate.LaunchEffects(null_share=0.8)",
        )
    seed = check_seed(seed)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    if not isinstance(progress, bool):
        raise OptionError(f"progress={progress!r} must be True or False")
    con = check_con(con)
    table_name = check_table_name(table_name)
    launches_name = check_table_name(launches_name, "launches_name")
    if table_name == launches_name:
        raise OptionError(
            f"table_name and launches_name are both {table_name!r}",
            fix="give the two tables different names",
        )

    launches = _draw_launches(
        seed, n_launches, surfaces, n_weeks, test_weeks, slice_users, alpha, effects
    )
    lift = _lift_path(launches, surfaces, n_weeks, effects)

    counts = np.zeros(2, dtype=np.int64)
    n_rows = n_users * len(surfaces) * n_weeks
    report = RowCounter("launch_train", n_rows, progress)
    chunks = _chunks(n_users, seed, surfaces, n_weeks, holdout_share, lift, chunk_size, counts)
    if con is None:
        table: Any = to_pandas(chunks)
        report(n_rows)
    else:
        table = write_arrow_chunks(
            con, table_name, chunks, schema=LAUNCH_TRAIN_SCHEMA, progress=report
        )
    if np.any(counts == 0):
        if con is not None:
            con.drop_table(table_name, force=True)
        arm = "holdout" if counts[0] == 0 else "treatment"
        raise DesignError(
            f"the {arm} arm received no users (n_users={n_users}, holdout_share={holdout_share})",
            fix="increase n_users or move holdout_share toward 0.5",
        )

    public = launches[list(LAUNCHES_SCHEMA.names)]
    if con is None:
        launch_table: Any = public.copy()
    else:
        launch_table = write_frame(con, launches_name, public, schema=LAUNCHES_SCHEMA)

    mu = np.array([_baseline(s) for s in surfaces])
    weeks = np.arange(1, n_weeks + 1, dtype=np.int64)
    per_surface = mu[:, None] * lift  # exact holdout effect, (surfaces, weeks)
    cumulative = pd.DataFrame(
        {
            "surface": np.repeat(list(surfaces), n_weeks).tolist() + ["overall"] * n_weeks,
            "week": np.concatenate([np.tile(weeks, len(surfaces)), weeks]),
            "effect": np.concatenate([per_surface.ravel(), per_surface.sum(axis=0)]),
        }
    )
    shipped = launches[launches["shipped"]]
    by_surface = (
        shipped.groupby("surface")["true_effect"].sum().reindex(list(surfaces), fill_value=0.0)
    )
    base_total = float(mu.sum())
    total = float(per_surface[:, -1].sum())
    details = {
        "launches": launches,
        "cumulative": cumulative,
        "shipped_total": float(shipped["true_effect"].sum()),
        "shipped_by_surface": by_surface.rename("effect"),
        "naive_total": float(shipped["estimate"].sum()),
        "baselines": pd.Series(mu, index=list(surfaces), name="baseline"),
        "holdout_share": holdout_share,
        "alpha": alpha,
        "effects": effects,
        "n_holdout_users": int(counts[0]),
        "n_treatment_users": int(counts[1]),
    }
    truth = truth_from_cell_means(
        ("launches",), {(0,): base_total, (1,): base_total + total}, details
    )
    return Simulation(
        scenario="launch_train",
        tables={table_name: table, launches_name: launch_table},
        truth=truth,
        seed=seed,
    )
