"""The Result contract on every DiD result: headlines equal what they are defined as, pointwise vs
uniform columns, checks (pre-trend test, breakdown value), the shared argument vocabulary
(cluster=, control_group, vcov=) and the deprecations."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

import attribution as at
from attribution.designs.did import (
    aggte,
    att_gt,
    did_2x2,
    event_study,
    honest_did,
    launch_event_study,
    pretrend_test,
    rollout_overlap,
    stacked_did,
    sun_abraham,
    twfe,
)
from attribution.errors import DesignWarning, OptionError
from attribution.results import KEY_COLUMNS, TIDY_COLUMNS, Check, Estimate
from tests.reference.did import mpdta
from tests.reference.did import pyfixest_panels as panels

MP = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first_treat"}
COLS = {"yname": "engagement", "unit": "unit", "time": "period"}


@pytest.fixture(scope="module")
def mp() -> pd.DataFrame:
    df = mpdta.load_mpdta()
    df["D"] = ((df.first_treat > 0) & (df.year >= df.first_treat)).astype(np.int64)
    df["state"] = df["countyreal"] // 1000
    return df


@pytest.fixture(scope="module")
def gt(mp):
    return att_gt(mp, **MP)


@pytest.fixture(scope="module")
def es(mp):
    return event_study(mp, **MP)


def _post_average(res) -> tuple[float, float]:
    """By hand: mean of the post-period coefficients and sqrt(w' V w)."""
    times, est, vcov = res.event_study()
    w = (np.asarray(times) >= 0) / (np.asarray(times) >= 0).sum()
    return float(w @ est), float(np.sqrt(w @ vcov @ w))


def _same(h: Estimate, other: Estimate) -> None:
    for f in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
        assert getattr(h, f) == pytest.approx(getattr(other, f), rel=1e-12, abs=1e-15), f


# ------------------------------------------------------------------------------------ headlines
@pytest.mark.parametrize("typ", ["simple", "dynamic", "group", "calendar"])
def test_aggte_headline_is_its_overall(gt, typ):
    a = aggte(gt, type=typ)
    h = a.headline
    assert isinstance(h, Estimate) and h.term == "ATT"
    assert h is a.overall
    assert a.overall_att == h.estimate and a.overall_se == h.std_error
    z = stats.norm.ppf(0.975)
    assert h.conf_low == pytest.approx(h.estimate - z * h.std_error, rel=1e-12)
    assert "lemp" in h.label
    assert a.sample_size == 500


def test_att_gt_headline_is_the_simple_aggregation(mp, gt):
    assert gt.headline.term == "ATT"
    _same(gt.headline, aggte(gt, type="simple").overall)
    # with the bootstrap too: the same draws as aggte(type="simple")
    boot = att_gt(mp, **MP, bstrap=True, biters=2000, seed=3)
    _same(boot.headline, aggte(boot, type="simple").overall)
    assert gt.sample_size == 500


def test_event_study_headline_is_the_average_post_coefficient(es):
    est, se = _post_average(es)
    h = es.headline
    assert h.term == "ATT" and h.estimate == pytest.approx(est, rel=1e-12)
    assert h.std_error == pytest.approx(se, rel=1e-12)
    crit = stats.t.ppf(0.975, es.n_clusters - 1)  # CR1: t with G - 1 degrees of freedom
    assert (h.conf_low, h.conf_high) == pytest.approx((est - crit * se, est + crit * se))
    assert h.p_value == pytest.approx(2 * stats.t.sf(abs(est / se), es.n_clusters - 1))
    assert "lemp" in h.label and "post-treatment" in h.label
    assert es.sample_size == 500


def test_sun_abraham_and_stacked_headlines(mp):
    sa = sun_abraham(mp, **MP)
    est, se = _post_average(sa)
    assert sa.headline.estimate == pytest.approx(est) and sa.headline.std_error == pytest.approx(se)
    panel, log, _ = panels.launch_panel(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DesignWarning)
        st = stacked_did(panel, log, **COLS, component="E", window=(-3, 3))
    est, se = _post_average(st)
    assert st.headline.estimate == pytest.approx(est) and st.headline.std_error == pytest.approx(se)
    assert st.headline.label.startswith("effect of E on engagement")


def test_launch_event_study_headline_is_the_dynamic_overall():
    """CS path: the mean of the post coefficients with its vcov SE is aggte(dynamic)'s overall."""
    panel, log, _ = panels.launch_panel(seed=1)
    res = launch_event_study(panel, log, **COLS, component="K")
    h = res.headline
    assert h.label == "effect of K on engagement, average over post-launch periods"
    est, se = _post_average(res)
    assert (h.estimate, h.std_error) == pytest.approx((est, se), rel=1e-12)
    frame = (
        at.as_table(panel)
        .execute()
        .assign(g=lambda d: d["unit"].map(log[log.component == "K"].set_index("unit").start_period))
        .fillna({"g": 0})
        .astype({"g": np.int64})
    )
    gt = att_gt(
        frame, yname="engagement", tname="period", idname="unit", gname="g",
        base_period="universal",
    )  # fmt: skip
    dyn = aggte(gt, type="dynamic").overall
    assert h.estimate == pytest.approx(dyn.estimate, rel=1e-10)
    assert h.std_error == pytest.approx(dyn.std_error, rel=1e-10)


def test_twfe_2x2_and_honest_headlines(mp, es):
    tw = twfe(mp, yname="lemp", tname="year", idname="countyreal", treatment="D")
    _same(tw.headline, Estimate.from_row(tw.tidy().iloc[0], label="x"))
    assert tw.headline.term == "D" and tw.sample_size == 500
    two = mp[mp.first_treat.isin([0, 2007]) & mp.year.isin([2006, 2007])].copy()
    two["G"] = (two.first_treat == 2007).astype(np.int64)
    two["P"] = (two.year == 2007).astype(np.int64)
    d2 = did_2x2(two, yname="lemp", group="G", post="P", idname="countyreal")
    assert d2.headline.term == "G:P" and d2.headline.estimate == d2.estimate
    hd = honest_did(es, M=[0, 0.01])
    orig = hd.tidy().iloc[0]
    assert hd.headline.term == "ATT(e=0)" and hd.headline.estimate == orig["estimate"]
    assert (hd.headline.conf_low, hd.headline.conf_high) == (orig["conf_low"], orig["conf_high"])
    (check,) = hd.checks
    assert check.name == "breakdown value"
    assert check.statistic == (hd.breakdown if np.isfinite(hd.breakdown) else None)
    assert hd.sample_size == 500


# ------------------------------------------------------------------------------------ columns
def test_pointwise_and_uniform_columns(mp, gt):
    z = stats.norm.ppf(0.975)
    tab = gt.tidy()
    assert "conf_low_uniform" not in tab.columns  # no band without cband=True
    band = att_gt(mp, **MP, bstrap=True, cband=True, biters=2000, seed=1)
    t = band.tidy()
    assert list(t.columns[:9]) == [*TIDY_COLUMNS, "group", "time", "event_time"]
    np.testing.assert_allclose(t["conf_high"] - t["estimate"], z * t["std_error"], rtol=1e-12)
    np.testing.assert_allclose(
        t["estimate"] - t["conf_low_uniform"], band.critical_value * t["std_error"], rtol=1e-12
    )
    assert band.critical_value > z
    dyn = aggte(band, type="dynamic").tidy()
    np.testing.assert_allclose(dyn["conf_high"] - dyn["estimate"], z * dyn["std_error"])
    assert (dyn["conf_high_uniform"] > dyn["conf_high"]).all()
    assert isinstance(band.plot(), Figure) and isinstance(
        aggte(band, type="dynamic").plot(), Figure
    )


def test_terms_and_key_columns(gt, es):
    assert gt.tidy()["term"].iloc[1] == "ATT(g=2004,t=2005)"
    terms = {typ: aggte(gt, type=typ).tidy()["term"].iloc[0] for typ in ("dynamic", "group")}
    assert terms == {"dynamic": "ATT(e=-3)", "group": "ATT(g=2004)"}
    assert aggte(gt, type="calendar").tidy()["term"].iloc[0] == "ATT(t=2004)"
    assert aggte(gt, type="simple").tidy()["term"].tolist() == ["ATT"]
    t = es.tidy()
    assert t["term"].iloc[0] == "ATT(e=-4)"
    assert list(t.columns) == [*TIDY_COLUMNS, "event_time", "conf_low_uniform", "conf_high_uniform"]
    for tab in (gt.tidy(), es.tidy()):
        assert not {"cohort", "period", "e"} & set(tab.columns)
        keys = [c for c in tab.columns if c in KEY_COLUMNS]
        assert list(tab.columns[6 : 6 + len(keys)]) == keys


def test_every_result_serialises_summarises_compares_and_plots(mp, gt, es):
    results = [
        gt,
        aggte(gt, type="dynamic"),
        twfe(mp, yname="lemp", tname="year", idname="countyreal", treatment="D"),
        es,
        sun_abraham(mp, **MP),
        honest_did(es, M=[0, 0.01]),
    ]
    for r in results:
        json.dumps(r.to_dict(), allow_nan=False)
        assert r.headline.text() in r.summary()
        for kind in r.PLOT_KINDS:
            assert isinstance(r.plot(kind=kind), Figure), (type(r).__name__, kind)
    comp = at.compare(*results).tidy()
    assert len(comp) == len(results) and comp["estimate"].notna().all()


# ------------------------------------------------------------------------------------ checks
def test_pretrend_test_returns_a_check(gt, es):
    pt = pretrend_test(es)
    assert isinstance(pt, Check) and pt.name == "pre-trend test"
    assert pt.passed == (pt.p_value >= es.alpha)
    assert pt.df == 3 and pt.statistic > 0
    assert es.checks == (pt,)  # event-study results carry it already
    (pre,) = gt.checks  # att_gt: R `did`'s pre-test
    assert pre.p_value == gt.pretest_pvalue and pre.df == gt.pretest_df == 5
    assert pre.passed is True  # p = 0.168
    dyn = aggte(gt, type="dynamic")
    assert dyn.checks == gt.checks
    assert pretrend_test(dyn).df == 3
    with pytest.warns(DeprecationWarning, match="PretrendTest"):
        assert at.did.PretrendTest is Check


def test_overlap_report_as_a_check():
    _, log, _ = panels.launch_panel(seed=2, overlap_units=5)
    with pytest.warns(DesignWarning):
        rep = rollout_overlap(log, window=1)
    c = rep.to_check()
    assert c.passed is False and c.statistic == len(rep.pairs) and c.detail == rep.text


# ------------------------------------------------------------------------------------ vocabulary
def test_sun_abraham_control_is_deprecated(mp):
    new = sun_abraham(mp, **MP, control_group="lasttreated")
    with pytest.warns(DeprecationWarning, match="control_group"):
        old = sun_abraham(mp, **MP, control="last")
    pd.testing.assert_frame_equal(old.tidy(), new.tidy())
    assert old.provenance.options["control_group"] == "lasttreated"
    with pytest.warns(DeprecationWarning), pytest.raises(OptionError, match="disagree"):
        sun_abraham(mp, **MP, control="never", control_group="lasttreated")


def test_control_group_subsets_are_named(mp):
    with pytest.raises(OptionError, match="control_group") as err:
        att_gt(mp, **MP, control_group="lasttreated")
    assert err.value.fix == "use one of 'nevertreated', 'notyettreated'"
    panel, log, _ = panels.launch_panel(seed=1)
    with pytest.raises(OptionError, match="control_group"):
        launch_event_study(panel, log, **COLS, component="K", control_group="lasttreated")
    with pytest.raises(OptionError, match="control_group"):
        stacked_did(panel, log, **COLS, component="E", window=(-3, 3), control_group="lasttreated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DesignWarning)
        never = stacked_did(
            panel, log, **COLS, component="E", window=(-3, 3), control_group="nevertreated"
        )
        notyet = stacked_did(panel, log, **COLS, component="E", window=(-3, 3))
    assert never.n_units < notyet.n_units


def test_att_gt_cluster_is_an_alias_of_clustervars(mp):
    a = att_gt(mp, **MP, cluster="state").tidy()
    b = att_gt(mp, **MP, clustervars="state").tidy()
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(OptionError, match="cluster= and clustervars="):
        att_gt(mp, **MP, cluster="state", clustervars="state")


def test_launch_designs_need_the_column_names():
    panel, log, _ = panels.launch_panel(seed=1)
    with pytest.raises(TypeError, match="yname"):
        launch_event_study(panel, log, component="K")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="yname"):
        stacked_did(panel, log, component="E", window=(-3, 3))  # type: ignore[call-arg]


@pytest.mark.parametrize("vcov, pf_vcov", [("iid", "iid"), ("HC1", "hetero")])
def test_vcov_options_match_pyfixest(mp, vcov, pf_vcov):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("lemp ~ D | countyreal + year", data=mp, vcov=pf_vcov)
    res = twfe(mp, yname="lemp", tname="year", idname="countyreal", treatment="D", vcov=vcov)
    row = res.tidy().iloc[0]
    assert row["estimate"] == pytest.approx(float(m.coef().iloc[0]), abs=1e-10)
    assert row["std_error"] == pytest.approx(float(m.se().iloc[0]), rel=1e-9)
    assert row["conf_low"] == pytest.approx(float(m.confint().iloc[0, 0]), rel=1e-9)
    assert row["p_value"] == pytest.approx(float(m.pvalue().iloc[0]), rel=1e-8)
    assert res.n_clusters is None and vcov in res.vcov_type
    # the event study: one dummy per event time but the reference (-1)
    rel = np.where(mp.first_treat > 0, mp.year - mp.first_treat, np.nan)
    data = mp.copy()
    names = []
    for e in sorted({int(v) for v in rel[~np.isnan(rel)]} - {-1}):
        name = f"m{-e}" if e < 0 else f"p{e}"
        data[name] = (rel == e).astype(float)
        names.append(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(f"lemp ~ {' + '.join(names)} | countyreal + year", data=data, vcov=pf_vcov)
    t = event_study(mp, **MP, vcov=vcov).tidy()
    np.testing.assert_allclose(t["estimate"], m.coef().to_numpy(), atol=1e-10)
    np.testing.assert_allclose(t["std_error"], m.se().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(t["conf_high"], m.confint().to_numpy()[:, 1], rtol=1e-9)


def test_vcov_option_checks(mp):
    kw = {"yname": "lemp", "tname": "year", "idname": "countyreal", "treatment": "D"}
    with pytest.raises(OptionError, match="vcov"):
        twfe(mp, **kw, vcov="HC3")
    with pytest.raises(OptionError, match="only applies to vcov='CR1'"):
        twfe(mp, **kw, vcov="iid", cluster="state")
    with pytest.raises(OptionError, match="only applies"):
        sun_abraham(mp, **MP, vcov="HC1", cluster="state")
    sa = sun_abraham(mp, **MP, vcov="HC1")
    assert sa.n_clusters is None and np.isfinite(sa.tidy()["std_error"]).all()
    two = mp[mp.first_treat.isin([0, 2007]) & mp.year.isin([2006, 2007])].copy()
    two["G"] = (two.first_treat == 2007).astype(np.int64)
    two["P"] = (two.year == 2007).astype(np.int64)
    rcs = did_2x2(two, yname="lemp", group="G", post="P", vcov="HC1")  # no cluster needed
    assert rcs.n_clusters is None and rcs.provenance.options["vcov"] == "HC1"


def test_event_study_plot_kinds_and_deprecated_uniform(es):
    assert es.PLOT_KINDS[0] == "event_study"
    with_band = es.plot()
    assert len(with_band.axes[0].collections) > len(es.plot(kind="pointwise").axes[0].collections)
    with pytest.warns(DeprecationWarning, match="kind="):
        fig = es.plot(uniform=False)
    assert len(fig.axes[0].collections) == len(es.plot(kind="pointwise").axes[0].collections)
