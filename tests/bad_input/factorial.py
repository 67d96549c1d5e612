"""Factorial entry points for the bad-input catalogue."""

from __future__ import annotations

import pandas as pd

import attribution as at
from attribution.metrics import Ratio
from tests.bad_input.registry import Entry, cached


def factorial_frame() -> pd.DataFrame:
    return cached(
        "factorial",
        lambda: at.simulate.factorial_experiment(3_000, seed=11).table()[
            ["user_id", "engagement", "pre_engagement", "E", "R", "K", "market"]
        ],
    )


def ratio_frame() -> pd.DataFrame:
    """Clicks and impressions over two days per user; the ratio's columns are named like the
    design's internal columns ("n", "cell"), so collisions with them are exercised too (the
    catalogue renames only plain column arguments, not a metric's columns)."""
    from tests.designs.factorial.helpers import clicks

    def make() -> pd.DataFrame:
        rows, _ = clicks(1_500, seed=12, factors=("E", "R", "K"), rows_per_user=2)
        return rows.rename(columns={"clicks": "n", "impressions": "cell"})

    return cached("factorial_ratio", make)


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
    "factorial_ratio": Entry(
        func=at.factorial,
        data=lambda: (ratio_frame().copy(),),
        kwargs={
            "outcome": Ratio("n", "cell", covariate=("pre_clicks", "pre_impressions")),
            "factors": ["E", "R", "K"],
            "unit": "user_id",
        },
        columns=("factors", "unit"),
    ),
}
