"""Per-component rollouts: launch-log event studies, the overlap check, the stacked design."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution import simulate
from attribution.designs.did import (
    launch_event_study,
    pretrend_test,
    rollout_overlap,
    stacked_did,
)
from attribution.errors import DataError, DesignError, DesignWarning, OptionError
from tests.reference.did import pyfixest_panels as panels

REF = Path(__file__).resolve().parents[2] / "reference" / "did"
COLS = {"yname": "engagement", "unit": "unit", "time": "period"}  # the simulator's panel


@pytest.fixture(scope="module")
def k_only():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate.staggered_rollout(seed=0, components=("K",))


@pytest.fixture(scope="module")
def launches():
    return panels.launch_panel(seed=1)


def _z(tidy: pd.DataFrame, truth: pd.Series) -> np.ndarray:
    t = tidy.set_index("event_time")
    return ((t["estimate"] - truth.reindex(t.index).fillna(0.0)) / t["std_error"]).to_numpy()


# ------------------------------------------------------------------------------ truth recovery
def test_launch_event_study_recovers_simulator_truth(k_only):
    truth = k_only.truth.details["per_component"]["K"]["event_time"].set_index("event_time")["att"]
    panel, log = k_only.table("surface_panel"), k_only.table("launch_log")
    sa = launch_event_study(panel, log, **COLS, component="K", method="sun_abraham")
    assert sa.design == "did.launch_event_study[K]"
    assert sa.provenance.options["component"] == "K"
    assert np.all(np.abs(_z(sa.tidy(), truth)) < 4)
    cs = launch_event_study(panel, log, **COLS, component="K", method="cs")
    assert cs.estimator == "callaway_santanna" and cs.ref == -1
    assert np.all(np.abs(_z(cs.tidy(), truth)) < 4)
    # with never-treated controls and a universal base the two estimators nearly coincide
    both = sa.tidy().merge(cs.tidy(), on="event_time")
    assert np.max(np.abs(both.estimate_x - both.estimate_y) / both.std_error_x) < 0.5
    assert pretrend_test(sa).df == int((sa.tidy().event_time < 0).sum())


def test_each_component_recovered_from_the_launch_log(launches):
    panel, log, effects = launches
    for component, effect in effects.items():
        t = launch_event_study(panel, log, **COLS, component=component).tidy()
        t = t[t.event_time.between(-4, 4)]
        truth = pd.Series(np.where(t.event_time >= 0, effect, 0.0), index=t.event_time)
        assert np.all(np.abs(_z(t, truth)) < 4), component


def test_engines_agree(engine):
    panel, log, _ = panels.launch_panel(seed=3, n_markets=4, n_periods=14)
    want = launch_event_study(panel, log, **COLS, component="R").tidy()
    got = launch_event_study(engine(panel), engine(log), **COLS, component="R").tidy()
    np.testing.assert_allclose(got["estimate"], want["estimate"], atol=1e-10)
    np.testing.assert_allclose(got["std_error"], want["std_error"], atol=1e-10)


# ------------------------------------------------------------------------------ overlap
def test_rollout_overlap_flags_the_simulator_overlaps():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = simulate.staggered_rollout(seed=0).table("launch_log")
    with pytest.warns(DesignWarning, match="within 2 period"):
        rep = rollout_overlap(log, window=2)
    assert not rep.passed
    # brute force over every pair of launches on a unit
    want = set()
    for unit, grp in log.groupby("unit"):
        rows = list(grp[["component", "start_period"]].itertuples(index=False))
        for a in rows:
            for b in rows:
                if a.component < b.component and abs(a.start_period - b.start_period) <= 2:
                    want.add((unit, a.component, b.component))
    got = set(rep.pairs[["unit", "component_a", "component_b"]].itertuples(index=False, name=None))
    assert got == want and len(want) > 0
    assert (rep.pairs["gap"] <= 2).all()
    json.dumps(rep.to_dict())
    assert "stacked_did" in rep.text


def test_rollout_overlap_designed_pairs_and_clean_log():
    _, log, _ = panels.launch_panel(seed=2, overlap_units=5)
    with pytest.warns(DesignWarning):
        rep = rollout_overlap(log, window=1)
    designed = {f"m00/{s}" for s in ("home", "search", "watch_next")} | {"m01/home", "m01/search"}
    er = rep.pairs[(rep.pairs.component_a == "E") & (rep.pairs.component_b == "R")]
    assert designed <= set(er.unit)
    assert (er.set_index("unit").loc[sorted(designed), "gap"] == 1).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DesignWarning)  # a clean log must not warn
        clean = rollout_overlap(log[log.component == "K"], window=3)
    assert clean.passed and clean.pairs.empty


# ------------------------------------------------------------------------------ stacked
def test_stacked_did_removes_contamination_the_event_study_keeps():
    """R launches one period after E on most units: the per-component event study for E picks up
    R's effect from e = 1 on; the stacked design drops those units and recovers E's effect."""
    panel, log, effects = panels.launch_panel(seed=1, n_markets=20, overlap_units=30, sigma=0.3)
    truth = pd.Series(effects["E"], index=range(0, 4))
    for method in ("sun_abraham", "cs"):
        es = launch_event_study(panel, log, **COLS, component="E", method=method).tidy()
        es = es[es.event_time.between(1, 3)]
        assert np.all(_z(es, truth) > 3), method  # biased upwards by R
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DesignWarning)
        st = stacked_did(panel, log, **COLS, component="E", window=(-3, 3))
    t = st.tidy()
    assert t.event_time.tolist() == [-3, -2, 0, 1, 2, 3]
    assert np.all(np.abs(_z(t, truth)) < 4)
    opts = st.provenance.options
    assert opts["cohorts"] and set(opts["cohorts"]).isdisjoint(opts["dropped_cohorts"])
    assert st.n_units < panel.unit.nunique()


def test_stacked_did_by_hand_single_cohort():
    """One cohort, no other launches: stacking is the plain event study on the window."""
    sim = panels.staggered_panel(seed=9, n_units=80, n_periods=9, cohorts=(5,), sigma=0.5)
    sim["unit"] = sim["unit"].map(lambda u: f"u{u:03d}")
    log = (
        sim[sim.g > 0]
        .drop_duplicates("unit")
        .assign(component="X", start_period=lambda d: d.g.astype(np.int64))[
            ["component", "unit", "start_period"]
        ]
    )
    st = stacked_did(sim, log, component="X", yname="y", unit="unit", time="period", window=(-3, 3))
    from attribution.designs.did import event_study

    win = sim[sim.period.between(2, 8)]
    es = event_study(win, yname="y", tname="period", idname="unit", gname="g")
    np.testing.assert_allclose(st.tidy().estimate, es.tidy().estimate, atol=1e-10)
    np.testing.assert_allclose(st.tidy().std_error, es.tidy().std_error, atol=1e-10)


@pytest.mark.slow
def test_stacked_did_coverage():
    """300 seeds with designed overlaps: stacked 95% intervals cover E's effect 93-97%."""
    hits = []
    for seed in range(300):
        panel, log, eff = panels.launch_panel(seed=100 + seed, overlap_units=8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DesignWarning)
            t = stacked_did(panel, log, **COLS, component="E", window=(-3, 3)).tidy()
        truth = np.where(t.event_time >= 0, eff["E"], 0.0)
        hits.append(((t.conf_low <= truth) & (truth <= t.conf_high)).to_numpy())
    rate = np.concatenate(hits).mean()
    assert 0.93 <= rate <= 0.97, rate


# ------------------------------------------------------------------------------ bad input
def test_launch_log_bad_input(launches):
    panel, log, _ = launches
    with pytest.raises(DesignError, match="not in the launch log") as err:
        launch_event_study(panel, log, **COLS, component="Z")
    assert "['E', 'K', 'R']" in err.value.fix
    orphan = pd.concat(
        [log, pd.DataFrame({"component": ["E"], "unit": ["m99/nowhere"], "start_period": [7]})]
    )
    with pytest.raises(DataError, match="not in the panel") as err:
        launch_event_study(panel, orphan, **COLS, component="E")
    assert "m99/nowhere" in set(err.value.rows["unit"])
    dup = pd.concat([log, log.iloc[[0]]])
    with pytest.raises(DataError, match="launched twice") as err:
        launch_event_study(panel, dup, **COLS, component="E")
    assert log.iloc[0]["unit"] in set(err.value.rows["unit"])
    with pytest.raises(DataError, match="start_period"):
        launch_event_study(panel, log.drop(columns="start_period"), **COLS, component="E")
    with pytest.raises(DataError, match="missing"):
        launch_event_study(
            panel, log.assign(unit=log.unit.where(log.index != 3, None)), **COLS, component="E"
        )
    with pytest.raises(OptionError, match="method"):
        launch_event_study(panel, log, **COLS, component="E", method="twfe")
    early = log.copy()
    early.loc[early.index[early.component == "E"][0], "start_period"] = 1
    with pytest.raises(DesignError, match="first period"):
        launch_event_study(panel, early, **COLS, component="E")


def test_overlap_and_stacked_bad_input(launches):
    panel, log, _ = launches
    with pytest.raises(OptionError, match="window"):
        rollout_overlap(log, window=-1)
    with pytest.raises(DataError, match="launched twice"):
        rollout_overlap(pd.concat([log, log.iloc[[0]]]), window=1)
    with pytest.raises(OptionError, match="window"):
        stacked_did(panel, log, **COLS, component="E", window=(3, -3))
    with pytest.raises(OptionError, match="pre-period"):
        stacked_did(panel, log, **COLS, component="E", window=(0, 3), ref=0)
    with pytest.raises(OptionError, match="ref"):
        stacked_did(panel, log, **COLS, component="E", window=(-3, 3), ref=-5)
    with pytest.raises(DesignError, match="whole window"):
        stacked_did(panel, log, **COLS, component="E", window=(-20, 20))
    with pytest.raises(DesignError, match="not in the launch log"):
        stacked_did(panel, log, **COLS, component="Q", window=(-2, 2))
