"""twfe, event_study, did_2x2, pretrend_test: pyfixest references, simulations with truth, bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from attribution.designs.did import (
    EventStudyResult,
    did_2x2,
    event_study,
    pretrend_test,
    twfe,
)
from attribution.designs.did.fixed_effects import demean, fit_fe_ols
from attribution.errors import DataError, DesignError, OptionError
from tests.conftest import put
from tests.reference.did import mpdta
from tests.reference.did import pyfixest_panels as panels

REF = Path(__file__).resolve().parents[2] / "reference" / "did"


@pytest.fixture(scope="module")
def mp() -> pd.DataFrame:
    df = mpdta.load_mpdta()
    df["D"] = ((df.first_treat > 0) & (df.year >= df.first_treat)).astype(np.int64)
    return df


@pytest.fixture(scope="module")
def ref_mp() -> dict:
    return json.loads((REF / "pyfixest_mpdta.json").read_text())


@pytest.fixture(scope="module")
def ref_sim() -> dict:
    return json.loads((REF / "pyfixest_sim.json").read_text())


def _close(tidy: pd.DataFrame, ref: dict, *, est_tol=1e-8, se_tol=1e-6) -> None:
    np.testing.assert_allclose(tidy["estimate"], ref["estimate"], rtol=0, atol=est_tol)
    np.testing.assert_allclose(tidy["std_error"], ref["std_error"], rtol=0, atol=se_tol)
    np.testing.assert_allclose(tidy["conf_low"], ref["conf_low"], rtol=0, atol=se_tol * 3)
    np.testing.assert_allclose(tidy["conf_high"], ref["conf_high"], rtol=0, atol=se_tol * 3)


# ------------------------------------------------------------------------------ references
def test_twfe_matches_pyfixest_on_mpdta(mp, ref_mp):
    res = twfe(mp, yname="lemp", tname="year", idname="countyreal", treatment="D")
    tidy = res.tidy()
    assert tidy["term"].tolist() == ["D"]
    _close(tidy, ref_mp["twfe"])
    assert res.n_obs == ref_mp["twfe"]["n_obs"] == 2500
    assert res.n_clusters == 500
    assert "CR1" in res.vcov_type


def test_twfe_unbalanced_covariate_market_cluster_matches_pyfixest(ref_sim):
    sim = panels.staggered_panel(seed=11, unbalanced=True, covariate=True)
    res = twfe(
        sim,
        yname="y",
        tname="period",
        idname="unit",
        treatment="D",
        cluster="market",
        covariates=["x"],
    )
    _close(res.tidy(), ref_sim["twfe_market"])
    assert res.n_obs == ref_sim["twfe_market"]["n_obs"]
    res = twfe(sim, yname="y", tname="period", idname="unit", treatment="D")
    _close(res.tidy(), ref_sim["twfe_unit"])


def test_event_study_matches_pyfixest(mp, ref_mp, ref_sim):
    es = event_study(mp, yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    ref = ref_mp["event_study"]
    assert es.tidy()["event_time"].tolist() == ref["event_times"]
    _close(es.tidy(), ref)
    np.testing.assert_allclose(es.event_study()[2], ref["vcov"], atol=1e-10)
    es2 = event_study(
        mp, yname="lemp", tname="year", idname="countyreal", gname="first_treat", ref=-2
    )
    _close(es2.tidy(), ref_mp["event_study_ref_m2"])
    sim = panels.staggered_panel(seed=11, unbalanced=True, covariate=True)
    es3 = event_study(sim, yname="y", tname="period", idname="unit", gname="g", cluster="market")
    _close(es3.tidy(), ref_sim["event_study_market"])


def test_did_2x2_matches_pyfixest(mp, ref_mp):
    two = mp[mp.first_treat.isin([0, 2007]) & mp.year.isin([2006, 2007])].copy()
    two["G"] = (two.first_treat == 2007).astype(np.int64)
    two["P"] = (two.year == 2007).astype(np.int64)
    res = did_2x2(two, yname="lemp", group="G", post="P", idname="countyreal")
    assert res.tidy()["term"].tolist() == ["G:P"]
    _close(res.tidy(), ref_mp["did_2x2_panel"])
    rcs = did_2x2(two, yname="lemp", group="G", post="P", cluster="countyreal")
    _close(rcs.tidy(), ref_mp["did_2x2_rcs"])
    # the 2x2 estimate is the difference of the four cell means
    m = two.groupby(["G", "P"])["lemp"].mean()
    assert res.estimate == pytest.approx((m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0]), abs=1e-12)


def test_live_pyfixest_on_a_fresh_panel():
    """Guards the cached JSON: a new seeded panel, compared with pyfixest run now."""
    pf = pytest.importorskip("pyfixest")
    sim = panels.staggered_panel(seed=5, n_units=60, n_periods=6, cohorts=(3, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("y ~ D | unit + period", data=sim, vcov={"CRV1": "market"})
    res = twfe(sim, yname="y", tname="period", idname="unit", treatment="D", cluster="market")
    assert res.estimate == pytest.approx(float(m.coef().iloc[0]), abs=1e-8)
    assert res.std_error == pytest.approx(float(m.se().iloc[0]), abs=1e-6)


def test_engines_agree(duckdb_backend, mp, ref_mp):
    """pandas and DuckDB (Spark is exercised by the launch-log tests, which share this path)."""
    table = put(duckdb_backend, mp)
    res = twfe(table, yname="lemp", tname="year", idname="countyreal", treatment="D")
    _close(res.tidy(), ref_mp["twfe"])
    es = event_study(table, yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    _close(es.tidy(), ref_mp["event_study"])


def test_pretrend_test_is_the_wald_statistic(mp, ref_mp):
    es = event_study(mp, yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    pt = pretrend_test(es)
    ref = ref_mp["event_study"]
    pre = np.array(ref["event_times"]) < 0
    b = np.array(ref["estimate"])[pre]
    v = np.array(ref["vcov"])[np.ix_(pre, pre)]
    assert pt.statistic == pytest.approx(float(b @ np.linalg.solve(v, b)), rel=1e-9)
    assert pt.df == 3
    assert "event times -4, -3, -2" in pt.detail
    assert 0 < pt.p_value < 1


# ------------------------------------------------------------------------------ math
def test_demean_balanced_is_two_way_within():
    rng = np.random.default_rng(0)
    n_u, n_t = 7, 5
    u, t = np.repeat(np.arange(n_u), n_t), np.tile(np.arange(n_t), n_u)
    y = rng.normal(size=n_u * n_t)
    ym = y.reshape(n_u, n_t)
    within = ym - ym.mean(1, keepdims=True) - ym.mean(0, keepdims=True) + ym.mean()
    np.testing.assert_allclose(demean(y[:, None], [u, t])[:, 0], within.ravel(), atol=1e-12)


def test_fit_fe_ols_names_collinear_regressors():
    u, t = np.repeat(np.arange(6), 4), np.tile(np.arange(4), 6)
    x = np.column_stack([(u % 2).astype(float), np.random.default_rng(1).normal(size=24)])
    with pytest.raises(DesignError, match="unit_level") as err:
        fit_fe_ols(np.arange(24.0), x, [u, t], u, names=["unit_level", "x"])
    assert err.value.columns == ("unit_level",)


# ------------------------------------------------------------------------------ simulation
def test_static_twfe_biased_with_growing_effects_event_study_not():
    """Effects 1 + 0.5 e grow with time since adoption: the static TWFE coefficient is far from the
    average effect on the treated, the event-study coefficients recover tau(e)."""
    sim = panels.staggered_panel(seed=3, n_units=900, n_periods=10, cohorts=(3, 6, 9), sigma=0.5)
    treated = sim[sim.D == 1]
    att = float(panels.tau(treated.period - treated.g).mean())
    st = twfe(sim, yname="y", tname="period", idname="unit", treatment="D")
    assert abs(st.estimate - att) > 8 * st.std_error  # clearly biased
    es = event_study(sim, yname="y", tname="period", idname="unit", gname="g").tidy()
    truth = panels.tau(es["event_time"].to_numpy())
    z = (es["estimate"] - truth) / es["std_error"]
    assert np.all(np.abs(z) < 4)


@pytest.mark.slow
def test_event_study_coverage_and_pretrend_size():
    """500 seeds: pointwise 95% intervals cover tau(e) 93-97%; the pre-trend test rejects 2.5-7.5%."""
    cover, reject = [], []
    for seed in range(500):
        sim = panels.staggered_panel(seed=1000 + seed, n_units=150, n_periods=7, cohorts=(3, 5))
        es = event_study(sim, yname="y", tname="period", idname="unit", gname="g")
        t = es.tidy()
        truth = panels.tau(t["event_time"].to_numpy())
        cover.append(((t["conf_low"] <= truth) & (truth <= t["conf_high"])).to_numpy())
        reject.append(pretrend_test(es).p_value < 0.05)
    rate = np.concatenate(cover).mean()
    assert 0.93 <= rate <= 0.97, rate
    assert 0.025 <= np.mean(reject) <= 0.075, np.mean(reject)


# ------------------------------------------------------------------------------ results
def test_event_study_result_protocol_plot_and_dict(mp):
    es = event_study(mp, yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    assert isinstance(es, EventStudyResult)
    times, est, vcov = es.event_study()
    assert times.tolist() == [-4, -3, -2, 0, 1, 2, 3]
    assert vcov.shape == (7, 7)
    est[0] = 99.0  # a copy: the result cannot be changed
    assert es.event_study()[1][0] != 99.0
    t = es.tidy()
    assert np.all(t["conf_low_uniform"] <= t["conf_low"])
    assert isinstance(es.plot(), Figure)
    d = es.to_dict()
    json.dumps(d)
    assert "vcov" not in d


# ------------------------------------------------------------------------------ bad input
def test_treatment_must_be_binary(mp):
    bad = mp.assign(D=mp.D * 2.0)
    with pytest.raises(DataError, match="must be 0/1") as err:
        twfe(bad, yname="lemp", tname="year", idname="countyreal", treatment="D")
    assert err.value.columns == ("D",)
    assert len(err.value.rows) > 0


def test_treatment_switching_off_is_named(mp):
    bad = mp.copy()
    bad.loc[(bad.countyreal == 8001) & (bad.year == 2007), "D"] = 0
    bad.loc[(bad.countyreal == 8001) & (bad.year == 2004), "D"] = 1
    with pytest.raises(DataError, match="switches off") as err:
        twfe(bad, yname="lemp", tname="year", idname="countyreal", treatment="D")
    assert 8001 in set(err.value.rows["countyreal"])
    assert "absorbing" in err.value.fix or "absorbing" in err.value.message


def test_missing_and_mistyped_columns(mp):
    with pytest.raises(DataError, match="not in the table"):
        twfe(mp, yname="nope", tname="year", idname="countyreal", treatment="D")
    with pytest.raises(DataError, match="missing or non-finite"):
        twfe(
            mp.assign(lemp=np.where(mp.year == 2004, np.nan, mp.lemp)),
            yname="lemp",
            tname="year",
            idname="countyreal",
            treatment="D",
        )
    with pytest.raises(DataError, match="duplicated"):
        twfe(
            pd.concat([mp, mp.head(3)]),
            yname="lemp",
            tname="year",
            idname="countyreal",
            treatment="D",
        )
    with pytest.raises(OptionError, match="more than one role"):
        twfe(mp, yname="lemp", tname="year", idname="countyreal", treatment="lemp")


def test_twfe_collinear_covariate_and_constant_treatment(mp):
    with pytest.raises(DesignError, match="collinear") as err:
        twfe(
            mp, yname="lemp", tname="year", idname="countyreal", treatment="D", covariates=["lpop"]
        )
    assert err.value.columns == ("lpop",)
    with pytest.raises(DesignError, match="never varies"):
        twfe(mp.assign(D=0), yname="lemp", tname="year", idname="countyreal", treatment="D")


def test_event_study_bad_ref_and_window(mp):
    kw = dict(yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    with pytest.raises(DesignError, match="ref=-9"):
        event_study(mp, ref=-9, **kw)
    with pytest.raises(DesignError, match="no treated observation"):
        event_study(mp, ref=-9, window=(-10, -8), **kw)
    with pytest.raises(OptionError, match="window"):
        event_study(mp, window=(2, 1), **kw)
    with pytest.raises(OptionError, match="ref"):
        event_study(mp, ref=1.5, **kw)
    with pytest.raises(DataError, match="changes within"):
        event_study(mp.assign(first_treat=np.where(mp.year == 2003, 0, mp.first_treat)), **kw)


def test_event_study_window_drops_outside_rows(mp):
    kw = dict(yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    es = event_study(mp, window=(-2, 1), **kw)
    assert es.tidy()["event_time"].tolist() == [-2, 0, 1]
    rel = np.where(mp.first_treat > 0, mp.year - mp.first_treat, 0)
    assert es.n_obs == int(((rel >= -2) & (rel <= 1)).sum())


def test_did_2x2_bad_input(mp):
    two = mp[mp.first_treat.isin([0, 2007]) & mp.year.isin([2006, 2007])].copy()
    two["G"] = (two.first_treat == 2007).astype(np.int64)
    two["P"] = (two.year == 2007).astype(np.int64)
    with pytest.raises(DesignError, match="empty cells"):
        did_2x2(two[two.P == 0], yname="lemp", group="G", post="P", idname="countyreal")
    with pytest.raises(DataError, match="changes within"):
        first_control = two.loc[two.G == 0, "countyreal"].iloc[0]
        flip = (two.countyreal == first_control) & (two.P == 1)
        did_2x2(
            two.assign(G=np.where(flip, 1, two.G)),
            yname="lemp",
            group="G",
            post="P",
            idname="countyreal",
        )
    with pytest.raises(OptionError, match="cluster"):
        did_2x2(two, yname="lemp", group="G", post="P")
    with pytest.raises(DataError, match="must be 0/1"):
        did_2x2(two.assign(P=two.P + 1), yname="lemp", group="G", post="P", idname="countyreal")


def test_pretrend_test_bad_input():
    class NoPre:
        def event_study(self):
            return np.array([0, 1]), np.array([1.0, 2.0]), np.eye(2)

    with pytest.raises(DesignError, match="no pre-period"):
        pretrend_test(NoPre())
    with pytest.raises(OptionError, match="event-study result"):
        pretrend_test(object())
