"""Prop 99: SDID / SC / DiD reproduce Arkhangelsky et al. (2021) Table 1 and the published weights.

Provenance of every number: tests/reference/synth/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution.designs.synth import fit
from attribution.designs.synth.inference import placebo_replicates, replicate_se
from attribution.designs.synth.panel import prepare_panel
from attribution.designs.synth.sdid import fit_cohort
from tests.reference.synth.make_sdid_reference import exact_placebo_se
from tests.reference.synth.prop99 import load_long

REF = json.loads((Path(__file__).parents[2] / "reference/synth/sdid_prop99.json").read_text())
PUB = REF["published"]
COMP = REF["computed"]
ARGS = {"outcome": "packs", "unit": "state", "time": "year", "treatment": "treated"}


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return load_long()


@pytest.fixture(scope="module")
def panel(prop99):
    return prepare_panel(prop99, **ARGS)


@pytest.fixture(scope="module")
def fits(prop99):
    return {m: fit(prop99, **ARGS, method=m, se_method=None) for m in ("sdid", "sc", "did")}


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_table1_point_estimates(fits, method):
    est = fits[method].estimate
    assert est == pytest.approx(PUB["table1_aer2021"][method]["estimate"], abs=0.05)  # 1 d.p.
    assert est == pytest.approx(PUB["stata_sdid"][method]["estimate"], abs=1e-4)  # to 0.01 and more


def test_did_is_the_two_by_two(prop99, fits):
    """Independent closed form: (ΔCalifornia) − (Δ mean of controls)."""
    d = prop99.assign(post=prop99["year"] >= 1989, ca=prop99["state"] == "California")
    m = d.groupby(["ca", "post"])["packs"].mean()
    two_by_two = (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])
    assert fits["did"].estimate == pytest.approx(two_by_two, abs=1e-9)


def test_sdid_unit_weights_as_published(fits):
    w = fits["sdid"].unit_weights
    assert w.sum() == pytest.approx(1.0)
    assert (w >= 0).all()
    pub = PUB["stata_sdid"]["sdid_unit_weights_2dp"]
    top = w.sort_values(ascending=False).head(len(pub))
    assert list(top.index) == sorted(pub, key=pub.get, reverse=True)  # same states, same order
    for state, value in pub.items():
        assert round(w[state], 2) == pytest.approx(value)


def test_sdid_time_weights_as_published(fits):
    lam = fits["sdid"].time_weights
    assert list(lam.index) == list(range(1970, 1989))
    pub = PUB["stata_sdid"]["sdid_time_weights_2dp"]
    for year, value in pub.items():
        assert round(lam[int(year)], 2) == pytest.approx(value)
    assert (lam.loc[1970:1985] == 0).all()


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_weights_match_stored_reference(fits, method):
    """Drift guard against our own full-precision numbers (make_sdid_reference.py)."""
    r = fits[method]
    comp = COMP[method]
    assert r.estimate == pytest.approx(comp["estimate"], abs=1e-8)
    uw = pd.Series(comp["unit_weights"])
    np.testing.assert_allclose(
        r.unit_weights.reindex(uw.index).to_numpy(), uw.to_numpy(), atol=1e-6
    )
    if method != "sc":
        tw = pd.Series(comp["time_weights"])
        np.testing.assert_allclose(r.time_weights.to_numpy(), tw.to_numpy(), atol=1e-6)
    else:
        assert (r.time_weights == 0).all()


def test_sdid_regularisation_and_diagnostics(fits):
    c = fits["sdid"].cohorts.iloc[0]
    assert c["noise_level"] == pytest.approx(COMP["sdid"]["noise_level"], rel=1e-10)
    assert c["zeta_omega"] == pytest.approx(12**0.25 * c["noise_level"], rel=1e-12)
    d = fits["sdid"].diagnostics
    assert d["effective_donors"] == pytest.approx(16.39, abs=0.01)
    assert d["effective_periods"] == pytest.approx(2.78, abs=0.01)
    assert d["n_donors"] == int((fits["sdid"].unit_weights > 0).sum())
    # SC matches levels; it fits the pre-period better than DiD's uniform weights
    assert fits["sc"].diagnostics["pre_rmse"] < fits["did"].diagnostics["pre_rmse"] / 3


def test_exact_placebo_se_is_the_published_size(panel):
    """B → ∞ placebo SE (all 38 placebo states) vs the published 200-draw value 8.4.

    The published SE is one Monte-Carlo draw whose own sd is ≈ 0.7 here (README), so we allow
    2 × 0.7.
    """
    tr = np.flatnonzero(panel.treated)
    co = np.flatnonzero(~panel.treated)
    f = fit_cohort(panel.Y, 19, tr, co, "sdid")
    se = exact_placebo_se(panel.Y, f)
    assert se == pytest.approx(COMP["sdid"]["exact_placebo_se"], rel=1e-8)
    assert abs(se - PUB["table1_aer2021"]["sdid"]["se_placebo"]) < 2 * 0.7


def test_placebo_se_seeded_and_reproducible(prop99):
    a = fit(prop99, **ARGS, se_method="placebo", n_reps=60, seed=7)
    b = fit(prop99, **ARGS, se_method="placebo", n_reps=60, seed=7)
    c = fit(prop99, **ARGS, se_method="placebo", n_reps=60, seed=8)
    assert a.std_error == b.std_error
    assert a.std_error != c.std_error
    assert 6.0 < a.std_error < 13.0
    assert a.tidy().loc[0, "conf_low"] == pytest.approx(a.estimate - 1.959964 * a.std_error)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_published_placebo_se_within_monte_carlo_range(panel, method):
    """The published 200-replication SEs lie in the central 95% of ours over 100 seeds (~30 s)."""
    tr = np.flatnonzero(panel.treated)
    co = np.flatnonzero(~panel.treated)
    f = fit_cohort(panel.Y, 19, tr, co, method)
    ses = [
        replicate_se(placebo_replicates(panel.Y, [f], n_reps=200, rng=np.random.default_rng(s))[0])
        for s in range(100)
    ]
    lo, hi = np.quantile(ses, [0.025, 0.975])
    assert lo < PUB["table1_aer2021"][method]["se_placebo"] < hi


def test_result_views(fits):
    r = fits["sdid"]
    tidy = r.tidy()
    assert list(tidy["term"]) == ["ATT"]
    assert np.isnan(tidy.loc[0, "std_error"])
    d = r.to_dict()
    json.dumps(d)  # JSON-safe
    assert "Y" not in d and "replicates" not in d
    assert d["estimate"] == pytest.approx(r.estimate)
    tr = r.trajectories()
    post = tr["post"].to_numpy()
    assert (tr["treated"] - tr["synthetic"])[post].mean() == pytest.approx(r.estimate)
    fig = r.plot()
    assert fig.axes and fig.axes[0].get_title().startswith("SDID")
    fig = r.plot_weights(top=5)
    assert len(fig.axes[0].patches) == 5
    assert "synth.sdid" in r.summary()


def test_sdid_weights_equal_stata_sdid_to_float32_precision(fits):
    """All 38 unit weights and 19 time weights as exported by Stata sdid (float32)."""
    pub = PUB["stata_sdid_weights"]
    omega = pd.Series(pub["omega"])
    lam = pd.Series(pub["lambda_pre"])
    r = fits["sdid"]
    assert set(omega.index) == set(r.unit_weights.index)
    np.testing.assert_allclose(r.unit_weights[omega.index].to_numpy(), omega.to_numpy(), atol=5e-8)
    got = r.time_weights.rename(index=str)[lam.index]
    np.testing.assert_allclose(got.to_numpy(), lam.to_numpy(), atol=5e-8)
