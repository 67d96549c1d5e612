"""Sun & Abraham: saturated regression vs pyfixest, IW aggregation by hand, simulation, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution.designs.did import event_study, sun_abraham
from attribution.designs.did.sunab import iw_aggregate
from attribution.errors import DesignError, OptionError
from tests.reference.did import mpdta
from tests.reference.did import pyfixest_panels as panels

REF = Path(__file__).resolve().parents[2] / "reference" / "did"


KW = dict(yname="lemp", tname="year", idname="countyreal", gname="first_treat")


@pytest.fixture(scope="module")
def mp() -> pd.DataFrame:
    return mpdta.load_mpdta()


def _check(res, ref) -> None:
    ce = res.cohort_effects
    assert [tuple(c[:2]) for c in ref["cells"]] == list(
        zip(ce["group"], ce["event_time"], strict=True)
    )
    assert ce["n_obs"].tolist() == [c[2] for c in ref["cells"]]
    np.testing.assert_allclose(ce["estimate"], ref["cohort_estimate"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(ce["std_error"], ref["cohort_std_error"], atol=1e-6, rtol=0)
    t = res.tidy()
    assert t["event_time"].tolist() == ref["event_times"]
    np.testing.assert_allclose(t["estimate"], ref["estimate"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(t["std_error"], ref["std_error"], atol=1e-6, rtol=0)


def test_sun_abraham_matches_pyfixest_saturated_regression_on_mpdta(mp):
    ref = json.loads((REF / "pyfixest_mpdta.json").read_text())["sun_abraham"]
    res = sun_abraham(mp, **KW)
    _check(res, ref)
    # published fixest sunab() numbers for mpdta, e = 0..3 (widely reproduced; 4 decimals)
    post = res.tidy().set_index("event_time")["estimate"]
    np.testing.assert_allclose(
        post.loc[[0, 1, 2, 3]], [-0.0199, -0.0510, -0.1373, -0.1008], atol=6e-5
    )


def test_sun_abraham_unbalanced_market_cluster_matches_pyfixest():
    ref = json.loads((REF / "pyfixest_sim.json").read_text())["sun_abraham_market"]
    sim = panels.staggered_panel(seed=11, unbalanced=True, covariate=True)
    res = sun_abraham(sim, yname="y", tname="period", idname="unit", gname="g", cluster="market")
    _check(res, ref)


def test_iw_aggregate_by_hand():
    coef = np.array([1.0, 2.0, 3.0])
    vcov = np.diag([1.0, 4.0, 9.0])
    es, nu, v, w = iw_aggregate(
        np.array([5, 7, 5]), np.array([0, 0, 1]), coef, vcov, np.array([30, 10, 30])
    )
    assert es.tolist() == [0, 1]
    np.testing.assert_allclose(nu, [0.75 * 1 + 0.25 * 2, 3.0])
    np.testing.assert_allclose(np.diag(v), [0.75**2 + 0.25**2 * 4, 9.0])
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


def test_control_last_cohort(mp):
    res = sun_abraham(mp, control_group="lasttreated", **KW)
    ce = res.cohort_effects
    assert set(ce["group"]) == {2004, 2006}  # 2007 is the control
    assert res.n_obs == int(((mp.first_treat != 0) & (mp.year < 2007)).sum())


def test_sun_abraham_unbiased_where_twfe_event_study_is_not():
    """Cohort-heterogeneous dynamic effects: TWFE event-study leads are contaminated by other
    cohorts' lags (Sun & Abraham 2021, Prop. 3); the IW estimator recovers the truth."""
    scale = (2.0, 1.0, 0.2)
    sim = panels.staggered_panel(
        seed=4,
        n_units=1500,
        n_periods=9,
        cohorts=(3, 5, 7),
        cohort_scale=scale,
        sigma=0.3,
        never_share=0.1,
    )
    kw = dict(yname="y", tname="period", idname="unit", gname="g")
    sa = sun_abraham(sim, **kw).tidy()
    # truth: cohort-share-weighted tau at each event time
    cell = sim[sim.g > 0].assign(e=lambda d: d.period - d.g)
    cell["truth"] = cell.g.map(dict(zip((3, 5, 7), scale, strict=True))) * panels.tau(cell.e)
    truth = cell.groupby("e")["truth"].mean()
    z = sa.set_index("event_time")["estimate"] - truth.reindex(sa.event_time).to_numpy()
    assert np.all(np.abs(z / sa.set_index("event_time")["std_error"]) < 4)
    tw = event_study(sim, **kw).tidy().set_index("event_time")
    pre = tw.loc[tw.index < -1]
    assert np.max(np.abs(pre["estimate"] / pre["std_error"])) > 4  # spurious pre-trends


@pytest.mark.slow
def test_sun_abraham_coverage():
    """500 seeds, heterogeneous cohorts: 95% intervals for nu_e cover 93-97%."""
    scale = (1.5, 0.5)
    hits = []
    for seed in range(500):
        sim = panels.staggered_panel(
            seed=5000 + seed, n_units=150, n_periods=7, cohorts=(3, 5), cohort_scale=scale
        )
        t = sun_abraham(sim, yname="y", tname="period", idname="unit", gname="g").tidy()
        ce = sim[sim.g > 0].assign(e=lambda d: d.period - d.g)
        ce["truth"] = ce.g.map({3: 1.5, 5: 0.5}) * panels.tau(ce.e)
        truth = ce.groupby("e")["truth"].mean().reindex(t.event_time).to_numpy()
        hits.append(((t.conf_low <= truth) & (truth <= t.conf_high)).to_numpy())
    rate = np.concatenate(hits).mean()
    assert 0.93 <= rate <= 0.97, rate


def test_sun_abraham_bad_input(mp):
    with pytest.raises(OptionError, match="control_group") as err:
        sun_abraham(mp, control_group="notyettreated", **KW)
    assert "'nevertreated', 'lasttreated'" in err.value.fix
    with pytest.raises(DesignError, match="never-treated"):
        sun_abraham(mp[mp.first_treat > 0], **KW)
    with pytest.raises(DesignError, match="two treated cohorts"):
        sun_abraham(mp[mp.first_treat.isin([0, 2007])], control_group="lasttreated", **KW)
    with pytest.raises(DesignError, match="reference event time") as err:
        sun_abraham(mp, ref=-4, **KW)  # only the 2007 cohort is seen 4 years before
    assert {2004, 2006} <= set(err.value.rows["group"].astype(int))
