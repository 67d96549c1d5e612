"""Synthetic-control entry points for the bad-input catalogue.

A small panel (12 units, 16 periods, one unit treated from period 12) keeps the catalogue fast; the
ADH in-space placebos and conformal inference are off in the registered `synthetic_control` call and
on in `synth.synthetic_control+inference`. Entries taking a fitted result get it from `data()`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import attribution as at
from tests.bad_input.registry import Entry, cached

TREATED = "m01/home"
START = 12


def synth_frame() -> pd.DataFrame:
    return cached(
        "synth",
        lambda: (
            at.simulate.single_market_launch(n_units=12, n_periods=16, start_period=START, seed=3)
            .table()[["unit", "period", "engagement", "treatment"]]
            .pipe(_with_covariate)
        ),
    )


def _with_covariate(frame: pd.DataFrame) -> pd.DataFrame:
    """A time-varying covariate (the simulation's own columns are constant within units)."""
    rng = np.random.default_rng(5)
    return frame.assign(users=frame["engagement"] * 0.1 + rng.normal(size=len(frame)))


ADH = {
    "outcome": "engagement",
    "unit": "unit",
    "time": "period",
    "treated_unit": TREATED,
    "treatment_start": START,
}
ADH_COLUMNS = ("outcome", "unit", "time")


def adh_result() -> at.synth.SyntheticControlResult:
    return cached(
        "synth:adh",
        lambda: at.synth.synthetic_control(
            synth_frame().copy(), **ADH, predictors=["users"], placebo=False, conformal=False
        ),
    )


ENTRIES: dict[str, Entry] = {
    "synth.fit": Entry(
        func=at.synth.fit,
        data=lambda: (synth_frame().copy(),),
        kwargs={
            "outcome": "engagement",
            "unit": "unit",
            "time": "period",
            "treatment": "treatment",
            "covariates": ["users"],
            "n_reps": 20,
            "seed": 1,
        },
        columns=("outcome", "unit", "time", "treatment", "covariates"),
        outcome="outcome",
    ),
    "synth.synthetic_control": Entry(
        func=at.synth.synthetic_control,
        data=lambda: (synth_frame().copy(),),
        kwargs={**ADH, "predictors": ["users"], "placebo": False, "conformal": False},
        columns=(*ADH_COLUMNS, "predictors"),
        outcome="outcome",
        off_grid=(("treatment_start", 8.5), ("treatment_start", 20), ("treated_unit", "nope")),
    ),
    "synth.synthetic_control+inference": Entry(
        func=at.synth.synthetic_control,
        data=lambda: (synth_frame().copy(),),
        kwargs={**ADH, "seed": 1},
        columns=ADH_COLUMNS,
        outcome="outcome",
    ),
    "synth.conformal_interval": Entry(
        func=at.synth.conformal_interval,
        data=lambda: (adh_result(),),
        kwargs={},
        skip_options=("q",),  # q may be inf (the sup-norm statistic): tests/designs/synth
    ),
    "synth.conformal_interval(table)": Entry(
        func=at.synth.conformal_interval,
        data=lambda: (synth_frame().copy(),),
        kwargs=ADH,
        columns=ADH_COLUMNS,
        outcome="outcome",
        off_grid=(("treatment_start", 8.5),),
        skip_options=("q",),
    ),
    "synth.in_space_placebo": Entry(
        func=at.synth.in_space_placebo,
        data=lambda: (adh_result(),),
        kwargs={},
    ),
    "synth.in_time_placebo": Entry(
        func=at.synth.in_time_placebo,
        data=lambda: (adh_result(),),
        kwargs={"placebo_start": 8},
        off_grid=(("placebo_start", 5.5), ("placebo_start", 12), ("placebo_start", 1)),
    ),
    "synth.leave_one_out": Entry(
        func=at.synth.leave_one_out,
        data=lambda: (adh_result(),),
        kwargs={},
    ),
}
