"""`baseline` of the synthetic designs: the treated unit-periods' counterfactual mean (their mean
observed post-period outcome minus the ATT), so that headline / baseline is the relative lift."""

from __future__ import annotations

import json

import numpy as np
import pytest

import attribution as at
from attribution.simulate import single_market_launch

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KW = {"outcome": "engagement", "unit": "unit", "time": "period", "treatment": "treatment"}


def _true_baseline(sim) -> float:
    eff = sim.truth.details["effects"]
    return float(eff["y0_mean"].mean())


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_fit_baseline_is_treated_post_mean_minus_att(method):
    sim = single_market_launch(treated=5, seed=1, lift=0.05)
    df = sim.tables["surface_panel"]
    res = at.synth.fit(df, method=method, se_method=None, **KW)
    treated_post = df.loc[df["treatment"] == 1, "engagement"].mean()
    assert res.baseline == pytest.approx(treated_post - res.estimate, rel=1e-12)
    assert json.dumps(res.to_dict(), allow_nan=False)
    if method == "sdid":  # known truth: the relative lift is the simulator's
        assert res.estimate / res.baseline == pytest.approx(sim.truth.details["lift"], abs=0.005)
        assert res.baseline == pytest.approx(_true_baseline(sim), rel=0.01)


def test_staggered_sdid_baseline_weights_cohorts_as_the_att():
    sim = single_market_launch(treated=4, start_period=[18, 18, 22, 24], seed=2, lift=0.04)
    df = sim.tables["surface_panel"]
    res = at.synth.fit(df, se_method=None, **KW)
    assert len(res.cohorts) == 3
    # cohort weights ∝ treated unit-periods: every treated post unit-period counts once
    treated_post = df.loc[df["treatment"] == 1, "engagement"].mean()
    assert res.baseline == pytest.approx(treated_post - res.estimate, rel=1e-12)
    assert res.estimate / res.baseline == pytest.approx(0.04, abs=0.005)


def test_covariates_keep_the_baseline_on_the_outcome_scale():
    sim = single_market_launch(treated=3, seed=3)
    df = sim.tables["surface_panel"]
    df = df.assign(x=np.random.default_rng(0).normal(size=len(df)) + 0.1 * df["period"])
    res = at.synth.fit(df, se_method=None, covariates=["x"], **KW)
    treated_post = df.loc[df["treatment"] == 1, "engagement"].mean()
    assert res.baseline == pytest.approx(treated_post - res.estimate, rel=1e-12)


def test_adh_and_conformal_baselines():
    sim = single_market_launch(seed=1, lift=0.05)
    df = sim.tables["surface_panel"]
    unit = sim.truth.details["treated_units"][0]
    start = sim.truth.details["start_periods"][unit]
    sc = at.synth.synthetic_control(
        df,
        outcome="engagement",
        unit="unit",
        time="period",
        treated_unit=unit,
        treatment_start=start,
        placebo=False,
        conformal=False,
    )
    post = df[(df["unit"] == unit) & (df["period"] >= start)]["engagement"].mean()
    assert sc.baseline == pytest.approx(post - sc.headline.estimate, rel=1e-12)
    assert sc.headline.estimate / sc.baseline == pytest.approx(0.05, abs=0.02)
    assert sc.baseline == pytest.approx(_true_baseline(sim), rel=0.02)
    cf = at.synth.conformal_interval(sc)
    assert cf.baseline == pytest.approx(post - cf.headline.estimate, rel=1e-12)
    assert json.dumps(cf.to_dict(), allow_nan=False)
