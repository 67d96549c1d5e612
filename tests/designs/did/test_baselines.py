"""`baseline` of the DiD results: the treated cells' counterfactual mean, i.e. their mean observed
outcome (weighted as the headline weights its cells) minus the headline ATT, so that
headline / baseline is the relative lift a study compares across designs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.designs.did.api import att_gt_from_moments
from attribution.designs.did.stats import cohort_moments_from_arrays
from attribution.simulate import staggered_rollout

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

Y, T, ID = "engagement", "period", "unit"


@pytest.fixture(scope="module")
def rollout():
    """Only the ranker K rolls out (a clean single-treatment staggered panel), with its cohort
    column `g` (0 = never) and the treated indicator `d`."""
    sim = staggered_rollout(components=("K",), seed=4, n_markets=60)
    log = sim.tables["launch_log"]
    start = log[log["component"] == "K"].set_index("unit")["start_period"]
    p = sim.tables["surface_panel"]
    p = p.assign(g=p["unit"].map(start).fillna(0).astype("int64"))
    p = p.assign(d=((p["g"] > 0) & (p[T] >= p["g"])).astype("int64"))
    return sim, p, log


def _cell_means(p: pd.DataFrame) -> pd.Series:
    """Mean observed outcome by (cohort, period) over the treated cohorts."""
    return p[p["g"] > 0].groupby(["g", T])[Y].mean()


def _true_relative_lift(sim) -> tuple[float, float]:
    """(simple ATT / counterfactual mean over the treated post unit-periods, that mean)."""
    d = sim.truth.details
    ue = d["unit_effects"]
    ue = ue[ue["component"] == "K"]
    y0 = (
        d["unit_levels"].reindex(ue["unit"]).to_numpy()
        + d["time_effects"].reindex(ue["period"]).to_numpy()
    )
    return float(d["overall_att"]["K"] / y0.mean()), float(y0.mean())


def test_att_gt_baseline_is_the_treated_post_mean_minus_the_att(rollout):
    sim, p, _ = rollout
    gt = at.did.att_gt(p, yname=Y, tname=T, idname=ID, gname="g")
    h = gt.headline
    # simple weights: cohort size within each post cell → every treated post unit-period counts once
    treated_post = p.loc[p["d"] == 1, Y].mean()
    assert gt.baseline == pytest.approx(treated_post - h.estimate, rel=1e-12)
    # known truth: the relative lift is the simulator's within three standard errors
    rel, y0 = _true_relative_lift(sim)
    assert abs(h.estimate / gt.baseline - rel) < 3 * h.std_error / gt.baseline
    assert gt.baseline == pytest.approx(y0, rel=0.01)
    assert json.dumps(gt.to_dict(), allow_nan=False)
    # the covariate path pulls rows; the same treated means come from them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc = at.did.att_gt(p, yname=Y, tname=T, idname=ID, gname="g", xformla="~users")
    assert gc.baseline == pytest.approx(treated_post - gc.headline.estimate, rel=1e-12)


@pytest.mark.parametrize("type", ["simple", "dynamic", "group", "calendar"])
def test_aggte_baseline_weights_the_cells_as_the_overall_att(rollout, type):
    _, p, _ = rollout
    gt = at.did.att_gt(p, yname=Y, tname=T, idname=ID, gname="g")
    agg = at.did.aggte(gt, type=type)
    cm = _cell_means(p)
    sizes = p[p["g"] > 0].groupby("g")[ID].nunique()
    post = p[(p["g"] > 0) & (p[T] >= p["g"])][["g", T]].drop_duplicates()
    post = post.assign(m=cm.reindex(pd.MultiIndex.from_frame(post)).to_numpy())
    post = post.assign(n=post["g"].map(sizes), e=post[T] - post["g"])
    if type == "simple":
        direct = np.average(post["m"], weights=post["n"])
    elif type == "dynamic":  # cohort-size weighted within an event time, then equal over e >= 0
        direct = post.groupby("e").apply(lambda s: np.average(s["m"], weights=s["n"])).mean()
    elif type == "group":  # equal within a cohort, then cohort-size weighted
        by_g = post.groupby("g")["m"].mean()
        direct = np.average(by_g, weights=sizes.reindex(by_g.index))
    else:  # cohort-size weighted within a period, then equal over periods
        direct = post.groupby(T).apply(lambda s: np.average(s["m"], weights=s["n"])).mean()
    assert agg.baseline == pytest.approx(direct - agg.headline.estimate, rel=1e-12)
    assert json.dumps(agg.to_dict(), allow_nan=False)


def test_att_gt_from_moments_baseline():
    rng = np.random.default_rng(0)
    n, periods = 300, np.arange(1.0, 7.0)
    G = rng.choice([0.0, 3.0, 5.0], size=n)
    Y0 = 10 + rng.normal(size=(n, 1)) + 0.3 * periods + rng.normal(scale=0.2, size=(n, 6))
    Yobs = Y0 + 0.5 * ((G[:, None] > 0) & (periods[None, :] >= G[:, None]))
    mom = cohort_moments_from_arrays(Yobs, G, periods)
    res = att_gt_from_moments(mom)
    treated = (G[:, None] > 0) & (periods[None, :] >= G[:, None])
    assert res.baseline == pytest.approx(Yobs[treated].mean() - res.headline.estimate, rel=1e-12)
    assert res.baseline == pytest.approx(Y0[treated].mean(), abs=0.05)


def _event_direct(p: pd.DataFrame, estimate: float) -> float:
    """Treated rows' mean at each post event time, equal-weighted over event times, minus the ATT."""
    post = p[(p["g"] > 0) & (p[T] >= p["g"])]
    by_e = post.groupby(post[T] - post["g"])[Y].mean()
    return float(by_e.mean() - estimate)


def test_event_study_and_sun_abraham_baselines(rollout):
    sim, p, _ = rollout
    es = at.did.event_study(p, yname=Y, tname=T, idname=ID, gname="g")
    assert es.baseline == pytest.approx(_event_direct(p, es.headline.estimate), rel=1e-12)
    sa = at.did.sun_abraham(p, yname=Y, tname=T, idname=ID, gname="g")
    # IW shares are the cohorts' row counts at each event time: the pooled mean at that event time
    assert sa.baseline == pytest.approx(_event_direct(p, sa.headline.estimate), rel=1e-12)
    for r in (es, sa):
        assert json.dumps(r.to_dict(), allow_nan=False)
    # honest_did's θ = the effect at one event time: the treated rows' mean there minus θ
    at_1 = p[(p["g"] > 0) & (p[T] - p["g"] == 1)]
    hd = at.did.honest_did(es, e=1, M=[0.0])
    assert hd.baseline == pytest.approx(at_1[Y].mean() - hd.headline.estimate, rel=1e-12)
    gt = at.did.att_gt(p, yname=Y, tname=T, idname=ID, gname="g", base_period="universal")
    hd = at.did.honest_did(at.did.aggte(gt, type="dynamic"), e=1, M=[0.0])
    cm = at_1.groupby("g")[Y].mean()  # cohort-size weights over the cells at e = 1
    n = p[p["g"] > 0].groupby("g")[ID].nunique().reindex(cm.index)
    direct = np.average(cm, weights=n)
    assert hd.baseline == pytest.approx(direct - hd.headline.estimate, rel=1e-12)
    _, y0 = _true_relative_lift(sim)
    assert sa.baseline == pytest.approx(y0, rel=0.01)


def test_launch_event_study_and_stacked_baselines(rollout):
    _, p, log = rollout
    kw = {"component": "K", "yname": Y, "unit": ID, "time": T}
    cs = at.did.launch_event_study(p.drop(columns=["g", "d"]), log, **kw)
    # C&S dynamic: cohort-size weighted cells at each event time, equal over e >= 0
    post = p[(p["g"] > 0) & (p[T] >= p["g"])]
    cm = post.groupby(["g", T])[Y].mean().rename("m").reset_index()
    cm = cm.assign(e=cm[T] - cm["g"], n=cm["g"].map(p[p["g"] > 0].groupby("g")[ID].nunique()))
    direct = cm.groupby("e").apply(lambda s: np.average(s["m"], weights=s["n"])).mean()
    assert cs.baseline == pytest.approx(direct - cs.headline.estimate, rel=1e-12)
    sa = at.did.launch_event_study(p.drop(columns=["g", "d"]), log, method="sun_abraham", **kw)
    assert sa.baseline == pytest.approx(_event_direct(p, sa.headline.estimate), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = at.did.stacked_did(p.drop(columns=["g", "d"]), log, window=(-3, 4), **kw)
    # stacked: treated rows of the used cohorts at event times 0..4, equal over event times
    used = st.provenance.options["cohorts"]
    rows = p[p["g"].isin(used)]
    e = rows[T] - rows["g"]
    by_e = rows[(e >= 0) & (e <= 4)].groupby(e)[Y].mean()
    assert st.baseline == pytest.approx(by_e.mean() - st.headline.estimate, rel=1e-12)


def test_twfe_and_2x2_baselines(rollout):
    sim, p, _ = rollout
    tw = at.did.twfe(p, yname=Y, tname=T, idname=ID, treatment="d")
    treated = p.loc[p["d"] == 1, Y].mean()
    assert tw.baseline == pytest.approx(treated - tw.estimate, rel=1e-12)
    _, y0 = _true_relative_lift(sim)
    assert tw.baseline == pytest.approx(y0, rel=0.01)
    # 2×2: units of one cohort against the never treated, before / after its start
    g0 = int(sorted(p.loc[p["g"] > 0, "g"].unique())[0])
    sub = p[p["g"].isin([0, g0])].assign(
        grp=lambda f: (f["g"] > 0).astype("int64"), post=lambda f: (f[T] >= g0).astype("int64")
    )
    dd = at.did.did_2x2(sub, yname=Y, group="grp", post="post", idname=ID)
    cell = sub.loc[(sub["grp"] == 1) & (sub["post"] == 1), Y].mean()
    assert dd.baseline == pytest.approx(cell - dd.estimate, rel=1e-12)
    # with regression weights, the treated mean is weighted the same way
    w = p.assign(wt=1.0 + (p["users"] % 3))
    tw_w = at.did.twfe(w, yname=Y, tname=T, idname=ID, treatment="d", weights="wt")
    tr = w[w["d"] == 1]
    assert tw_w.baseline == pytest.approx(
        np.average(tr[Y], weights=tr["wt"]) - tw_w.estimate, rel=1e-12
    )
