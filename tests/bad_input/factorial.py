"""Factorial entry points for the bad-input catalogue."""

from __future__ import annotations

import pandas as pd

import attribution as at
from tests.bad_input.registry import Entry, cached


def factorial_frame() -> pd.DataFrame:
    return cached(
        "factorial",
        lambda: at.simulate.factorial_experiment(3_000, seed=11).table()[
            ["user_id", "engagement", "pre_engagement", "E", "R", "K", "market"]
        ],
    )


ENTRIES: dict[str, Entry] = {
    "factorial": Entry(
        func=at.factorial,
        data=lambda: (factorial_frame().copy(),),
        kwargs={
            "outcome": "engagement",
            "factors": ["E", "R", "K"],
            "covariate": "pre_engagement",
            "unit": "user_id",
        },
        columns=("outcome", "factors", "covariate", "unit"),
        outcome="outcome",
    ),
}
