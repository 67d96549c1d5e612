"""Experiment entry points for the bad-input catalogue."""

from __future__ import annotations

import pandas as pd

from attribution.designs.experiment import decompose_lift, experiment
from attribution.metrics import Mean, Ratio
from tests.bad_input.registry import Entry, cached
from tests.designs.experiment.helpers import users


def experiment_frame() -> pd.DataFrame:
    return cached("experiment", lambda: users(3_000, seed=21))


ENTRIES: dict[str, Entry] = {
    "experiment": Entry(
        func=experiment,
        data=lambda: (experiment_frame().copy(),),
        kwargs={"arm": "arm", "unit": "user", "metrics": "engagement", "segments": "segment"},
        columns=("arm", "unit", "metrics", "segments"),
        outcome="metrics",
    ),
    "experiment (ratio, CUPED)": Entry(
        func=experiment,
        data=lambda: (experiment_frame().copy(),),
        kwargs={
            "arm": "arm",
            "unit": "user",
            "metrics": [
                Ratio("clicks", "impressions", covariate=("pre_clicks", "pre_impressions")),
                Mean("engagement", covariate="pre", role="primary"),
            ],
            "surface": "surface",
        },
        columns=("arm", "unit", "surface"),
    ),
    "decompose_lift": Entry(
        func=decompose_lift,
        data=lambda: (experiment_frame().copy(),),
        kwargs={"arm": "arm", "unit": "user", "metric": ["sessions", "engagement"]},
        columns=("arm", "unit", "metric"),
    ),
}
