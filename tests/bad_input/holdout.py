"""Holdout-family entry points for the bad-input catalogue."""

from __future__ import annotations

import pandas as pd

from attribution.designs.holdout import cumulative_impact, holdout_readout
from attribution.simulate import launch_train
from tests.bad_input.registry import Entry, cached


def _sim():
    return cached("launch_train", lambda: launch_train(1_500, n_weeks=3, holdout_share=0.2, seed=9))


def launches() -> pd.DataFrame:
    return _sim().table("launches")


def rows() -> pd.DataFrame:
    return _sim().table("launch_train")


ENTRIES: dict[str, Entry] = {
    "cumulative_impact": Entry(
        func=cumulative_impact,
        data=lambda: (launches().copy(),),
        kwargs={
            "estimate": "estimate",
            "std_error": "std_error",
            "launch": "launch",
            "shipped": "shipped",
            "surface": "surface",
            "holdout": (0.3, 0.1),
        },
        columns=("estimate", "std_error", "launch", "shipped", "surface"),
    ),
    "holdout_readout": Entry(
        func=holdout_readout,
        data=lambda: (rows().copy(),),
        kwargs={
            "arm": "arm",
            "unit": "user_id",
            "metric": "engagement",
            "surface": "surface",
            "time": "week",
            "covariate": "pre_engagement",
        },
        columns=("arm", "unit", "metric", "surface", "time", "covariate"),
        outcome="metric",
    ),
}
