"""Double-ML entry points for the bad-input catalogue."""

from __future__ import annotations

import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

import attribution as at
from tests.bad_input.registry import Entry, cached


def exposure_frame() -> pd.DataFrame:
    return cached(
        "dml",
        lambda: at.simulate.observational_exposure(1_500, seed=11).table()[
            ["user_id", "segment", "activity", "exposure_E", "exposure_R", "engagement"]
        ],
    )


ENTRIES: dict[str, Entry] = {
    "dml": Entry(
        func=at.dml,
        data=lambda: (exposure_frame().copy(),),
        kwargs={
            "outcome": "engagement",
            "treatments": ["exposure_E", "exposure_R"],
            "confounders": ["activity", "segment"],
            "model_y": HistGradientBoostingRegressor(max_iter=20, random_state=0),
            "model_t": HistGradientBoostingRegressor(max_iter=20, random_state=0),
            "cv": 2,
            "random_state": 0,
        },
        columns=("outcome", "treatments", "confounders"),
        outcome="outcome",
    ),
}
