"""Graph-family entry points (at.graph) for the bad-input catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd

import attribution as at
from attribution.graph import CausalGraph
from tests.bad_input.registry import Entry, cached

PIPELINE = CausalGraph(
    nodes=("activity", "R", "K", "engagement"),
    edges=(
        ("activity", "R"),
        ("R", "K"),
        ("activity", "K"),
        ("K", "engagement"),
        ("activity", "engagement"),
    ),
    roles={"activity": "confounder", "R": "component", "K": "component", "engagement": "outcome"},
)


def exposures() -> pd.DataFrame:
    return cached(
        "graph:exposures",
        lambda: at.simulate.observational_exposure(800, seed=12).table()[
            ["user_id", "segment", "activity", "exposure_K", "engagement"]
        ],
    )


def confounded() -> pd.DataFrame:
    def make() -> pd.DataFrame:
        rng = np.random.default_rng(13)
        w = rng.standard_normal(120)
        t = 0.8 * w + rng.standard_normal(120)
        return pd.DataFrame({"w": w, "t": t, "y": t + w + rng.standard_normal(120)})

    return cached("graph:confounded", make)


def before_after() -> tuple[pd.DataFrame, pd.DataFrame]:
    def make(shift: float, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        a = rng.standard_normal(150)
        r = 0.6 * a + shift + rng.standard_normal(150)
        k = 0.5 * r + 0.3 * a + rng.standard_normal(150)
        return pd.DataFrame(
            {"activity": a, "R": r, "K": k, "engagement": k + 0.5 * a + rng.standard_normal(150)}
        )

    return cached("graph:before_after", lambda: (make(0.0, 14), make(1.0, 15)))


def ols(data: pd.DataFrame, confounders) -> at.Result:
    return at.graph.backdoor_regression(
        data, outcome="y", treatments=["t"], confounders=confounders
    )


ENTRIES: dict[str, Entry] = {
    "graph.backdoor_regression": Entry(
        func=at.graph.backdoor_regression,
        data=lambda: (exposures().copy(),),
        kwargs={
            "outcome": "engagement",
            "treatments": ["exposure_K"],
            "confounders": ["activity", "segment"],
        },
        columns=("outcome", "treatments", "confounders"),
        outcome="outcome",
    ),
    "graph.refute": Entry(
        func=at.graph.refute,
        data=lambda: (confounded().copy(),),
        kwargs={
            "estimator": ols,
            "treatment": "t",
            "outcome": "y",
            "confounders": ["w"],
            "n_reps": 2,
        },
        outcome="outcome",  # column names are fixed inside the estimator: no renaming case
    ),
    "graph.mechanism_shift": Entry(
        func=at.graph.mechanism_shift,
        data=lambda: tuple(f.copy() for f in before_after()),
        kwargs={"graph": PIPELINE, "target": "engagement", "n_boot": 2, "num_samples": 100},
        outcome="target",  # node names are fixed by the graph: no renaming case
    ),
}
