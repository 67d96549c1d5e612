"""Scenario 4: observational exposure — no randomisation, exposure confounded by activity and segment.

Heavier, more active users are served more traffic by the new components (the components were
launched first on the surfaces those users visit) and also engage more, so a naive regression of
engagement on exposure overstates every effect. Adjusting for activity and segment removes the
confounding: the outcome model is partially linear with segment-specific exposure slopes,

    engagement = activity · u + Σ_c β_{c,s} · exposure_c,          E[u] = 1
    exposure_c = expit(γ_c + γ_a·(log activity − m_s) + γ_{c,s} + 0.6·z_0 + 0.8·z_c)

(z_0 shared across components: the user's surface mix; z_c component-specific). The true average
marginal effect of exposure_c is Σ_s p_s β_{c,s} (exact). Note that a partially linear model
without exposure × segment interactions (e.g. plain double ML) targets a variance-weighted average
of the segment slopes, not this AME; per-segment estimates are comparable to `segment_slopes`.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import expit

from attribution.progress import RowCounter
from attribution.simulate.factorial import BLOCK, _check_int
from attribution.simulate.model import COMPONENTS, SEGMENTS
from attribution.simulate.truth import Simulation, truth_from_cell_means
from attribution.simulate.writer import (
    check_con,
    check_table_name,
    to_pandas,
    write_arrow_chunks,
)

__all__ = ["EXPOSURES_SCHEMA", "SLOPES", "observational_exposure"]

_STREAM = 4

SLOPES = pd.DataFrame(
    {"E": [0.8, 0.5, 0.4], "R": [0.3, 0.4, 0.5], "K": [0.2, 0.5, 0.9]},
    index=pd.Index([s.name for s in SEGMENTS], name="segment"),
)
"""β_{c,s}: engagement units gained by a user of segment s when all their traffic moves to c."""

EXPOSURE_INTERCEPT = {"E": -0.2, "R": 0.0, "K": -0.4}
ACTIVITY_PULL = 1.0
"""γ_a: log-odds of exposure per unit of log activity (the confounding path)."""
SEGMENT_PULL = {"new": -0.5, "casual": 0.0, "heavy": 0.6}
"""γ_{c,s}: heavy users sit on the surfaces launched first."""
NOISE_POST = 0.05
NOISE_PRE = 0.05

EXPOSURES_SCHEMA = ibis.schema(
    {
        "user_id": "!int64",
        "segment": "!string",
        "activity": "!float64",
        "pre_engagement": "!float64",
        "exposure_E": "!float64",
        "exposure_R": "!float64",
        "exposure_K": "!float64",
        "engagement": "!float64",
    }
)


def _block(seed: int, b: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM, b)))
    n = BLOCK
    seg_cum = np.cumsum([s.share for s in SEGMENTS])
    seg = np.minimum(np.searchsorted(seg_cum, rng.random(n), side="right"), len(SEGMENTS) - 1)
    shape = np.array([s.activity_shape for s in SEGMENTS])
    mean = np.array([s.mean_activity for s in SEGMENTS])
    activity = rng.standard_gamma(shape[seg]) * (mean / shape)[seg]
    centre = np.log(mean)[seg]
    z0 = rng.standard_normal(n)
    z = rng.standard_normal((n, 3))
    pull = np.array([SEGMENT_PULL[s.name] for s in SEGMENTS])[seg]
    out: dict[str, np.ndarray] = {"seg": seg, "activity": activity}
    y = activity * rng.standard_gamma(1.0 / NOISE_POST, n) * NOISE_POST
    for j, c in enumerate(COMPONENTS):
        x = expit(
            EXPOSURE_INTERCEPT[c]
            + ACTIVITY_PULL * (np.log(activity) - centre)
            + pull
            + 0.6 * z0
            + 0.8 * z[:, j]
        )
        out[f"exposure_{c}"] = x
        y = y + SLOPES[c].to_numpy()[seg] * x
    out["pre"] = activity * rng.standard_gamma(1.0 / NOISE_PRE, n) * NOISE_PRE
    out["y"] = y
    return out


def _chunks(n_users: int, seed: int, chunk_size: int) -> Any:
    seg_dict = pa.array([s.name for s in SEGMENTS], pa.string())
    n_blocks = math.ceil(n_users / BLOCK)
    per_chunk = max(1, chunk_size // BLOCK)
    for first in range(0, n_blocks, per_chunk):
        parts = []
        for b in range(first, min(first + per_chunk, n_blocks)):
            rows = min(BLOCK, n_users - b * BLOCK)
            parts.append({k: v[:rows] for k, v in _block(seed, b).items()})
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        start = first * BLOCK
        n = len(cat["y"])
        yield pa.table(
            {
                "user_id": pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64)),
                "segment": seg_dict.take(pa.array(cat["seg"].astype(np.int32))),
                "activity": pa.array(cat["activity"]),
                "pre_engagement": pa.array(cat["pre"]),
                "exposure_E": pa.array(cat["exposure_E"]),
                "exposure_R": pa.array(cat["exposure_R"]),
                "exposure_K": pa.array(cat["exposure_K"]),
                "engagement": pa.array(cat["y"]),
            },
            schema=EXPOSURES_SCHEMA.to_pyarrow(),
        )


def observational_exposure(
    n_users: int = 100_000,
    *,
    seed: int = 0,
    con: Any = None,
    table_name: str = "exposures",
    chunk_size: int = 1_000_000,
    progress: bool = False,
) -> Simulation:
    """Users with confounded continuous exposure to E, R, K (table "exposures", tables.md).

    Truth: details["ame"] (true average marginal effect of each exposure, Σ_s p_s β_{c,s}),
    details["segment_slopes"] (β_{c,s}; every user's slope is that of their segment),
    details["segment_shares"]. Cell means / effects describe the counterfactual where every user's
    exposures are set to 0/1 (additive model: no interactions). Deterministic given seed and
    independent of `chunk_size` (same fixed-block streams as factorial_experiment).
    """
    from attribution.errors import OptionError

    n_users = _check_int("n_users", n_users, 8, "use at least 8 users")
    seed = _check_int("seed", seed, 0, "use a non-negative integer seed")
    chunk_size = _check_int("chunk_size", chunk_size, 1, "e.g. chunk_size=1_000_000")
    if not isinstance(progress, bool):
        raise OptionError(f"progress={progress!r} must be True or False")
    con = check_con(con)
    table_name = check_table_name(table_name)

    report = RowCounter("observational_exposure", n_users, progress)
    chunks = _chunks(n_users, seed, chunk_size)
    if con is None:
        table: Any = to_pandas(chunks)
        report(n_users)
    else:
        table = write_arrow_chunks(
            con, table_name, chunks, schema=EXPOSURES_SCHEMA, progress=report
        )

    shares = pd.Series([s.share for s in SEGMENTS], index=SLOPES.index, name="share")
    ame = (SLOPES.mul(shares, axis=0)).sum().rename("ame")
    base = float(sum(s.share * s.mean_activity for s in SEGMENTS))
    values = {
        cell: base + float(sum(ame[c] * v for c, v in zip(COMPONENTS, cell, strict=True)))
        for cell in np.ndindex(2, 2, 2)
    }
    details = {
        "ame": ame,
        "segment_slopes": SLOPES.copy(),
        "segment_shares": shares,
        "exposure_model": {
            "intercept": dict(EXPOSURE_INTERCEPT),
            "activity_pull": ACTIVITY_PULL,
            "segment_pull": dict(SEGMENT_PULL),
        },
        "adjustment_set": ("activity", "segment"),
    }
    truth = truth_from_cell_means(COMPONENTS, values, details)
    return Simulation(
        scenario="observational_exposure", tables={table_name: table}, truth=truth, seed=seed
    )
