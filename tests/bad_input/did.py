"""did entry points for the bad-input catalogue.

Column-taking entry points get `columns=` and `outcome=`; result-taking ones (aggte, pretrend_test,
honest_did) get the fitted result as their positional argument and no columns.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from attribution import simulate
from attribution.designs import did
from tests.bad_input.registry import Entry, cached

GT = {"yname": "y", "tname": "period", "idname": "unit", "gname": "cohort"}
LAUNCH = {"yname": "engagement", "unit": "unit", "time": "period", "component": "K"}


def staggered() -> pd.DataFrame:
    """A small staggered-adoption panel (cohorts 3, 4, 5 and never treated; periods 1..6)."""

    def make() -> pd.DataFrame:
        rng = np.random.default_rng(3)
        n, periods = 90, np.arange(1, 7)
        g = np.where(rng.random(n) < 0.35, 0, rng.choice([3, 4, 5], size=n))
        t = np.tile(periods, n)
        gg = np.repeat(g, len(periods))
        effect = np.where((gg > 0) & (t >= gg), 0.5 * (t - gg + 1), 0.0)
        y = np.repeat(rng.normal(size=n) + 0.3 * g, len(periods)) + 0.2 * t + effect
        y = y + rng.normal(size=len(t))
        return pd.DataFrame(
            {
                "unit": np.repeat(np.arange(n), len(periods)),
                "period": t,
                "cohort": gg,
                "treated": ((gg > 0) & (t >= gg)).astype(np.int64),
                "y": y,
            }
        )

    return cached("did:staggered", make)


def two_by_two() -> pd.DataFrame:
    """Never-treated units and cohort 4, periods 3 and 4: a 2×2 design."""
    df = staggered()
    sub = df[df["cohort"].isin([0, 4]) & df["period"].isin([3, 4])]
    return sub.assign(
        group=(sub["cohort"] == 4).astype(np.int64), post=(sub["period"] == 4).astype(np.int64)
    )[["unit", "period", "group", "post", "y"]].reset_index(drop=True)


def rollout() -> tuple[pd.DataFrame, pd.DataFrame]:
    def make():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sim = simulate.staggered_rollout(seed=0, components=("K",))
        panel = sim.table("surface_panel")[["unit", "period", "engagement"]]
        return panel, sim.table("launch_log")[["component", "unit", "start_period"]]

    return cached("did:rollout", make)


def fitted_att_gt():
    return cached("did:att_gt", lambda: did.att_gt(staggered().copy(), **GT))


def fitted_event_study():
    return cached("did:event_study", lambda: did.event_study(staggered().copy(), **GT))


ENTRIES: dict[str, Entry] = {
    "att_gt": Entry(
        func=did.att_gt,
        data=lambda: (staggered().copy(),),
        kwargs=GT,
        columns=("yname", "tname", "idname", "gname"),
        outcome="yname",
        off_grid=(("anticipation", 0.5),),
    ),
    "aggte": Entry(
        func=did.aggte,
        data=lambda: (fitted_att_gt(),),
        kwargs={"type": "dynamic"},
        off_grid=(("balance_e", 99),),
        # min_e / max_e take ±inf (R's "no bound"), so the catalogue's inf is no bad value for
        # them; their bad values are tested in tests/designs/did/test_aggte.py
        skip_options=("min_e", "max_e"),
    ),
    "twfe": Entry(
        func=did.twfe,
        data=lambda: (staggered().copy(),),
        kwargs={"yname": "y", "tname": "period", "idname": "unit", "treatment": "treated"},
        columns=("yname", "tname", "idname", "treatment"),
        outcome="yname",
    ),
    "did_2x2": Entry(
        func=did.did_2x2,
        data=lambda: (two_by_two().copy(),),
        kwargs={"yname": "y", "group": "group", "post": "post", "idname": "unit"},
        columns=("yname", "group", "post", "idname"),
        outcome="yname",
    ),
    "event_study": Entry(
        func=did.event_study,
        data=lambda: (staggered().copy(),),
        kwargs=GT,
        columns=("yname", "tname", "idname", "gname"),
        outcome="yname",
        off_grid=(("ref", 99), ("ref", -2.5)),
    ),
    "sun_abraham": Entry(
        func=did.sun_abraham,
        data=lambda: (staggered().copy(),),
        kwargs=GT,
        columns=("yname", "tname", "idname", "gname"),
        outcome="yname",
        off_grid=(("ref", 99),),
    ),
    "pretrend_test": Entry(
        func=did.pretrend_test,
        data=lambda: (fitted_event_study(),),
        kwargs={},
    ),
    "honest_did": Entry(
        func=did.honest_did,
        data=lambda: (fitted_event_study(),),
        kwargs={"e": 0, "M": [0.0, 0.1]},
        off_grid=(("e", 99), ("e", -3)),
    ),
    "launch_event_study": Entry(
        func=did.launch_event_study,
        data=lambda: tuple(f.copy() for f in rollout()),
        kwargs=LAUNCH,
        columns=("yname", "unit", "time"),
        outcome="yname",
    ),
    "stacked_did": Entry(
        func=did.stacked_did,
        data=lambda: tuple(f.copy() for f in rollout()),
        kwargs={**LAUNCH, "window": (-3, 3)},
        columns=("yname", "unit", "time"),
        outcome="yname",
        off_grid=(("ref", 9),),
    ),
    "rollout_overlap": Entry(
        func=did.rollout_overlap,
        data=lambda: (rollout()[1].copy(),),
        kwargs={"window": 2},
        columns=("unit",),
    ),
}
