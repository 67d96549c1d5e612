"""Scenario 1: a 2×2×2 factorial experiment — E, R, K randomised independently per user.

Rows are generated in fixed blocks of `BLOCK` users, each with its own random stream derived from
(seed, block index), so user i gets the same draws whatever `chunk_size` is and however the blocks
are grouped into chunks for writing. With `con`, chunks go straight into the engine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from attribution.errors import DesignError, OptionError
from attribution.progress import RowCounter
from attribution.simulate.model import (
    COMPONENTS,
    SEGMENTS,
    WINDOW_DAYS,
    ComponentEffects,
    cell_multipliers,
    daily_multipliers,
    segment_table,
)
from attribution.simulate.truth import (
    GroundTruth,
    Simulation,
    bhh_effects,
    cell_label,
    cells,
    truth_from_cell_means,
)
from attribution.simulate.writer import (
    check_con,
    check_table_name,
    to_pandas,
    write_arrow_chunks,
)

__all__ = ["BLOCK", "FACTORIAL_SCHEMA", "factorial_experiment", "factorial_truth"]

BLOCK = 65_536
"""Users per random-stream block (fixed: changing it changes every table)."""

_STREAM = 1  # spawn-key tag of this scenario's random streams
_MARKET_STREAM = 0

NOISE_POST = 0.012
"""Variance of the mean-one gamma noise on the test-window outcome (CV ≈ 0.11)."""
NOISE_PRE = 0.008
"""Variance of the mean-one gamma noise on pre_engagement (a longer pre-period: CV ≈ 0.09)."""
MARKET_SD = 0.15
"""SD of the log market multiplier (normalised to a size-weighted mean of one)."""

FACTORIAL_SCHEMA = ibis.schema(
    {
        "user_id": "!int64",
        "market": "!string",
        "segment": "!string",
        "E": "!int8",
        "R": "!int8",
        "K": "!int8",
        "pre_engagement": "!float64",
        "engagement": "!float64",
    }
)


def _check_int(name: str, value: Any, minimum: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OptionError(f"{name}={value!r} must be an integer", fix=fix)
    if value < minimum:
        raise OptionError(f"{name}={value!r} must be at least {minimum}", fix=fix)
    return int(value)


def _check_allocation(allocation: Mapping[str, float] | None) -> np.ndarray:
    if allocation is None:
        return np.full(3, 0.5)
    if not isinstance(allocation, Mapping):
        raise OptionError(
            f"allocation must be a dict of P(component on), got {type(allocation).__name__}",
            fix="e.g. allocation={'E': 0.5, 'R': 0.5, 'K': 0.5}",
        )
    unknown = [c for c in allocation if c not in COMPONENTS]
    if unknown:
        raise OptionError(
            f"unknown component(s) {unknown} in allocation",
            fix=f"use component names from {list(COMPONENTS)}",
        )
    out = np.full(3, 0.5)
    for i, c in enumerate(COMPONENTS):
        if c in allocation:
            p = allocation[c]
            ok = isinstance(p, int | float | np.floating) and not isinstance(p, bool)
            if not ok or not 0.0 < float(p) < 1.0:
                raise OptionError(
                    f"allocation[{c!r}]={p!r} must be a probability strictly between 0 and 1",
                    fix="every cell of the factorial needs users: use e.g. 0.5",
                )
            out[i] = float(p)
    return out


def _markets(seed: int, n_markets: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Market sizes (probabilities) and baseline multipliers with size-weighted mean exactly one."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM, _MARKET_STREAM)))
    weights = rng.dirichlet(np.full(n_markets, 4.0))
    mult = np.exp(MARKET_SD * rng.standard_normal(n_markets))
    mult = mult / np.sum(weights * mult)
    width = max(2, len(str(n_markets - 1)))
    labels = [f"m{i:0{width}d}" for i in range(n_markets)]
    return weights, mult, labels


def _block(
    seed: int,
    b: int,
    alloc: np.ndarray,
    mult_cells: np.ndarray,
    m_cum: np.ndarray,
    m_mult: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw block `b` (BLOCK users) from its own stream."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM, 1, b)))
    n = BLOCK
    seg_cum = np.cumsum([s.share for s in SEGMENTS])
    seg = np.minimum(np.searchsorted(seg_cum, rng.random(n), side="right"), len(SEGMENTS) - 1)
    market = np.minimum(np.searchsorted(m_cum, rng.random(n), side="right"), len(m_cum) - 1)
    treat = (rng.random((n, 3)) < alloc).astype(np.int8)
    shape = np.array([s.activity_shape for s in SEGMENTS])
    scale = np.array([s.mean_activity / s.activity_shape for s in SEGMENTS])
    activity = rng.standard_gamma(shape[seg]) * scale[seg] * m_mult[market]
    u = rng.standard_gamma(1.0 / NOISE_POST, n) * NOISE_POST
    v = rng.standard_gamma(1.0 / NOISE_PRE, n) * NOISE_PRE
    cell = treat[:, 0] + 2 * treat[:, 1] + 4 * treat[:, 2]  # Yates index, E fastest
    return {
        "seg": seg,
        "market": market,
        "treat": treat,
        "cell": cell,
        "pre": activity * v,
        "y": activity * mult_cells[seg, cell] * u,
    }


def _chunks(
    n_users: int,
    seed: int,
    alloc: np.ndarray,
    effects: ComponentEffects,
    n_markets: int,
    chunk_size: int,
    counts: np.ndarray,
    window_days: int = WINDOW_DAYS,
) -> Iterator[pa.Table]:
    weights, m_mult, m_labels = _markets(seed, n_markets)
    m_cum = np.cumsum(weights)
    mult_cells = cell_multipliers(effects, window_days=window_days)
    seg_dict = pa.array([s.name for s in SEGMENTS], pa.string())
    mkt_dict = pa.array(m_labels, pa.string())
    n_blocks = math.ceil(n_users / BLOCK)
    per_chunk = max(1, chunk_size // BLOCK)  # chunks are whole blocks
    for first in range(0, n_blocks, per_chunk):
        parts = []
        for b in range(first, min(first + per_chunk, n_blocks)):
            d = _block(seed, b, alloc, mult_cells, m_cum, m_mult)
            rows = min(BLOCK, n_users - b * BLOCK)
            parts.append({k: v[:rows] for k, v in d.items()})
            counts += np.bincount(parts[-1]["cell"], minlength=8)
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        start = first * BLOCK
        n = len(cat["y"])
        yield pa.table(
            {
                "user_id": pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64)),
                "market": mkt_dict.take(pa.array(cat["market"].astype(np.int32))),
                "segment": seg_dict.take(pa.array(cat["seg"].astype(np.int32))),
                "E": pa.array(cat["treat"][:, 0]),
                "R": pa.array(cat["treat"][:, 1]),
                "K": pa.array(cat["treat"][:, 2]),
                "pre_engagement": pa.array(cat["pre"]),
                "engagement": pa.array(cat["y"]),
            },
            schema=FACTORIAL_SCHEMA.to_pyarrow(),
        )


def factorial_truth(
    effects: ComponentEffects | None = None, *, window_days: int = WINDOW_DAYS
) -> GroundTruth:
    """Exact GroundTruth of the factorial scenario (independent of seed, allocation and n).

    details: "segment_cell_means" / "segment_effects" (per segment), "daily_effects" (BHH effects
    on each test day: the novelty decay), "long_run_effects" (novelty gone), "window_days",
    "effects_params", "segments", "pre_engagement_mean".
    """
    effects = ComponentEffects() if effects is None else effects
    window_days = _check_int("window_days", window_days, 1, "e.g. window_days=14")
    shares = np.array([s.share for s in SEGMENTS])
    mu = np.array([s.mean_activity for s in SEGMENTS])
    mult = cell_multipliers(effects, window_days=window_days)  # (segments, cells)
    seg_means = mu[:, None] * mult
    pop = shares @ seg_means
    values = {c: float(pop[i]) for i, c in enumerate(cells(3))}

    labels = [cell_label(COMPONENTS, c) for c in cells(3)]
    seg_cm = pd.DataFrame(seg_means, index=[s.name for s in SEGMENTS], columns=labels)
    seg_effects = pd.DataFrame(
        {s.name: bhh_effects(COMPONENTS, seg_cm.loc[s.name]) for s in SEGMENTS}
    ).T
    days = np.arange(1, window_days + 1)
    daily = np.zeros((window_days, 8))
    for s, seg in enumerate(SEGMENTS):
        for c, cell in enumerate(cells(3)):
            daily[:, c] += shares[s] * mu[s] * daily_multipliers(effects, seg, cell, days)
    daily_effects = pd.DataFrame(
        [bhh_effects(COMPONENTS, pd.Series(daily[d], index=labels)) for d in range(window_days)],
        index=pd.Index(days, name="day"),
    )
    lr = ComponentEffects(
        E=effects.E, R=effects.R, K=effects.K, ER=effects.ER, EK=effects.EK, novelty=0.0
    )
    lr_pop = shares @ (mu[:, None] * cell_multipliers(lr))
    long_run = bhh_effects(COMPONENTS, pd.Series(lr_pop, index=labels))
    details = {
        "window_days": window_days,
        "effects_params": effects,
        "segments": segment_table(),
        "segment_cell_means": seg_cm,
        "segment_effects": seg_effects,
        "daily_effects": daily_effects,
        "long_run_effects": long_run,
        "pre_engagement_mean": float(shares @ mu),
    }
    return truth_from_cell_means(COMPONENTS, values, details)


def factorial_experiment(
    n_users: int = 200_000,
    *,
    seed: int = 0,
    effects: ComponentEffects | None = None,
    allocation: Mapping[str, float] | None = None,
    n_markets: int = 20,
    con: Any = None,
    table_name: str = "factorial_experiment",
    chunk_size: int = 1_000_000,
    progress: bool = False,
    window_days: int = WINDOW_DAYS,
) -> Simulation:
    """Simulate a user-randomised 2×2×2 experiment of the embedding E, retrieval R and ranker K.

    Each user is independently assigned E, R, K with probabilities `allocation` (default 0.5 each;
    unequal values produce a sample-ratio mismatch on purpose). `effects` (a ComponentEffects)
    overrides the stage lifts, e.g. ``ComponentEffects.none()`` for an A/A test. The outcome is
    engagement averaged over a `window_days`-day test window (default 14) with novelty decay, so a
    shorter test overstates the long-run effects (see truth.details["daily_effects"] and
    ["long_run_effects"]); pre_engagement is the
    pre-period value of the same user (the CUPED covariate, correlation ≈ 0.97).

    Returns a Simulation with one table `table_name` (pandas, or an Ibis table in `con` written
    chunk by chunk, replacing any table of that name) and exact truth (`factorial_truth`). The
    table is identical for any `chunk_size`, and the first m users are the same for any n ≥ m.
    Column types: user_id int64, market/segment string, E/R/K int8, the two outcomes float64.
    """
    n_users = _check_int("n_users", n_users, 8, "use at least 8 users (one per cell)")
    seed = _check_int("seed", seed, 0, "use a non-negative integer seed")
    n_markets = _check_int("n_markets", n_markets, 1, "use at least one market")
    chunk_size = _check_int("chunk_size", chunk_size, 1, "e.g. chunk_size=1_000_000")
    window_days = _check_int("window_days", window_days, 1, "e.g. window_days=14")
    alloc = _check_allocation(allocation)
    if effects is None:
        effects = ComponentEffects()
    elif not isinstance(effects, ComponentEffects):
        raise OptionError(
            f"effects must be a ComponentEffects, got {type(effects).__name__}",
            fix="e.g. effects=attribution.simulate.ComponentEffects(EK=0.01)",
        )
    if not isinstance(progress, bool):
        raise OptionError(f"progress={progress!r} must be True or False")
    con = check_con(con)
    table_name = check_table_name(table_name)

    counts = np.zeros(8, dtype=np.int64)
    report = RowCounter("factorial_experiment", n_users, progress)
    chunks = _chunks(n_users, seed, alloc, effects, n_markets, chunk_size, counts, window_days)
    if con is None:
        table: Any = to_pandas(chunks)
        report(n_users)
    else:
        table = write_arrow_chunks(
            con, table_name, chunks, schema=FACTORIAL_SCHEMA, progress=report
        )
    if np.any(counts == 0):
        empty = [cell_label(COMPONENTS, c) for c, n in zip(cells(3), counts, strict=True) if n == 0]
        if con is not None:
            con.drop_table(table_name, force=True)
        raise DesignError(
            f"cell(s) {empty} received no users (n_users={n_users}, allocation={alloc.tolist()})",
            fix="increase n_users or move the allocation probabilities toward 0.5",
        )
    truth = factorial_truth(effects, window_days=window_days)
    details = dict(truth.details)
    details["allocation"] = dict(zip(COMPONENTS, alloc.tolist(), strict=True))
    weights, m_mult, m_labels = _markets(seed, n_markets)
    details["markets"] = pd.DataFrame({"market": m_labels, "weight": weights, "multiplier": m_mult})
    truth = dataclasses.replace(truth, details=details)
    return Simulation(
        scenario="factorial_experiment",
        tables={table_name: table},
        truth=truth,
        seed=seed,
    )
