"""att_gt / aggte: engines agree, the moment path equals an independent unit-level computation,
the bootstrap is seeded and agrees with the analytic standard errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.designs.did import aggte, att_gt, stats
from attribution.errors import DataTooLarge

KW = {"yname": "y", "tname": "period", "idname": "unit", "gname": "cohort"}


def _weighted_clustered(make_staggered, seed=3, n_units=300):
    frame, _ = make_staggered(seed, n_units=n_units)
    units = frame["unit"].to_numpy()
    frame["w"] = 0.5 + (units % 5) / 4.0
    frame["market"] = "m" + (units % 17).astype(str)
    return frame


# -------------------------------------------------------------------------------------------------
# An independent unit-level implementation of R `did` (no covariates), used as the oracle
# -------------------------------------------------------------------------------------------------


def _oracle(frame: pd.DataFrame, tab: pd.DataFrame, *, weights: str | None = None):
    """Unit influence functions of every reported ATT(g,t) (never-treated controls, varying base),
    written directly from Callaway & Sant'Anna (2021) eq. (2.6) as differences of weighted means."""
    ids = np.sort(frame["unit"].unique())
    n = len(ids)
    periods = np.sort(frame["period"].unique())
    pos = {u: i for i, u in enumerate(ids)}
    Y = np.full((n, len(periods)), np.nan)
    Y[frame["unit"].map(pos), np.searchsorted(periods, frame["period"])] = frame["y"]
    first = frame.drop_duplicates("unit").set_index("unit").loc[ids]
    G = first["cohort"].to_numpy(float)
    w = first[weights].to_numpy(float) if weights else np.ones(n)
    w = w / w.mean()
    att, IF = [], []
    for g, t in zip(tab["group"], tab["time"], strict=True):
        ti = int(np.searchsorted(periods, t))
        bi = int(np.flatnonzero(periods < g)[-1]) if t >= g else ti - 1
        est, inf = 0.0, np.zeros(n)
        for side, sign in ((g == G, 1.0), (G == 0, -1.0)):
            for idx, s in ((ti, 1.0), (bi, -1.0)):
                obs = side & np.isfinite(Y[:, idx])
                W = w[obs].sum()
                mu = (w[obs] * Y[obs, idx]).sum() / W
                est += sign * s * mu
                inf[obs] += sign * s * n * w[obs] * (Y[obs, idx] - mu) / W
        att.append(est)
        IF.append(inf)
    return np.array(att), np.column_stack(IF), G, w


def _oracle_aggregate(att, IF, G, w, groups, keep):
    """R `did` aggregation over the `keep` cells with cohort-share weights and the wif term."""
    pg = np.array([np.mean(w * (g == G)) for g in groups])
    k = np.flatnonzero(keep)
    sp = pg[k].sum()
    est = (pg[k] * att[k]).sum() / sp
    inf = IF[:, k] @ (pg[k] / sp)
    ind = np.column_stack([w * (groups[j] == G) - pg[j] for j in k])
    wif = ind / sp - np.outer(ind.sum(axis=1), pg[k]) / sp**2
    inf = inf + wif @ att[k]
    return est, np.sqrt((inf**2).sum()) / len(G)


@pytest.mark.parametrize("unbalanced", [False, True])
def test_moment_path_equals_unit_level_oracle(make_staggered, unbalanced):
    frame = _weighted_clustered(make_staggered)
    if unbalanced:
        frame = frame[(frame["unit"] * 7 + frame["period"]) % 11 != 0].reset_index(drop=True)
    res = att_gt(frame, **KW, weightsname="w", allow_unbalanced_panel=unbalanced)
    tab = res.tidy()
    att, IF, G, w = _oracle(frame, tab, weights="w")
    n = len(G)
    np.testing.assert_allclose(tab["estimate"], att, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tab["std_error"], np.sqrt((IF**2).sum(axis=0)) / n, rtol=1e-10)
    groups, times = tab["group"].to_numpy(), tab["time"].to_numpy()
    simple = aggte(res, type="simple").overall
    est, se = _oracle_aggregate(att, IF, G, w, groups, groups <= times)
    assert simple.estimate == pytest.approx(est, abs=1e-12)
    assert simple.std_error == pytest.approx(se, rel=1e-10)
    dyn = aggte(res, type="dynamic").tidy()
    for e, row_est, row_se in zip(
        dyn["event_time"], dyn["estimate"], dyn["std_error"], strict=True
    ):
        est, se = _oracle_aggregate(att, IF, G, w, groups, (times - groups) == e)
        assert row_est == pytest.approx(est, abs=1e-12)
        assert row_se == pytest.approx(se, rel=1e-10)


@pytest.mark.parametrize("unbalanced", [False, True])
def test_cluster_variance_is_r_cluster_bootstrap_target(make_staggered, unbalanced):
    frame = _weighted_clustered(make_staggered)
    if unbalanced:
        frame = frame[(frame["unit"] * 7 + frame["period"]) % 11 != 0].reset_index(drop=True)
    res = att_gt(
        frame, **KW, clustervars="market", weightsname="w", allow_unbalanced_panel=unbalanced
    )
    tab = res.tidy()
    _, IF, _, _ = _oracle(frame, tab, weights="w")
    market = frame.drop_duplicates("unit").sort_values("unit")["market"].to_numpy()
    codes, inv = np.unique(market, return_inverse=True)
    bar = np.zeros((len(codes), IF.shape[1]))
    np.add.at(bar, inv, IF)
    bar /= np.bincount(inv)[:, None]
    np.testing.assert_allclose(
        tab["std_error"], np.sqrt((bar**2).sum(axis=0)) / len(codes), rtol=1e-10
    )
    # clustering on the unit id is the default (R drops idname from clustervars)
    kw = {**KW, "allow_unbalanced_panel": unbalanced}
    same = att_gt(frame, **kw, clustervars=["unit"])
    unclustered = att_gt(frame, **kw)
    np.testing.assert_allclose(same.tidy()["std_error"], unclustered.tidy()["std_error"])


def test_engines_agree(make_staggered, engine):
    frame = _weighted_clustered(make_staggered, n_units=120)
    base = att_gt(frame, **KW, weightsname="w", clustervars="market", control_group="notyettreated")
    other = att_gt(
        engine(frame), **KW, weightsname="w", clustervars="market", control_group="notyettreated"
    )
    a, b = base.tidy(), other.tidy()
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-10)
    da, db = aggte(base, type="dynamic"), aggte(other, type="dynamic")
    np.testing.assert_allclose(db.tidy()["estimate"], da.tidy()["estimate"], atol=1e-10)
    np.testing.assert_allclose(db.tidy()["std_error"], da.tidy()["std_error"], rtol=1e-10)
    assert db.overall.std_error == pytest.approx(da.overall.std_error, rel=1e-10)


def test_covariate_path_on_duckdb_matches_pandas(mpdta, duckdb_backend):
    kw = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first_treat"}
    table = duckdb_backend.create_table("did_mpdta_cov", mpdta, overwrite=True)
    a = att_gt(mpdta, **kw, xformla="~lpop").tidy()
    b = att_gt(table, **kw, xformla="~lpop").tidy()
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-10)


def test_no_unit_rows_leave_the_engine_without_covariates(make_staggered, monkeypatch):
    frame, _ = make_staggered(5, n_units=80)

    def refuse(*args, **kwargs):
        raise AssertionError("unit rows were pulled")

    monkeypatch.setattr(stats, "fetch", refuse)
    res = att_gt(frame, **KW)
    assert len(res.tidy()) > 0


def test_covariate_pull_is_guarded(mpdta):
    from attribution import config

    with config.options(max_pull_rows=100), pytest.raises(DataTooLarge, match="att_gt"):
        att_gt(mpdta, yname="lemp", tname="year", idname="countyreal", gname="first_treat",
               xformla="~lpop")  # fmt: skip


def test_intercept_formula_is_no_covariates(mpdta):
    kw = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first_treat"}
    a = att_gt(mpdta, **kw, xformla="~1").tidy()
    b = att_gt(mpdta, **kw).tidy()
    pd.testing.assert_frame_equal(a, b)


# -------------------------------------------------------------------------------------------------
# Bootstrap
# -------------------------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_matches_analytic(mpdta):
    kw = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first_treat"}
    analytic = att_gt(mpdta, **kw).tidy()["std_error"].to_numpy()
    b1 = att_gt(mpdta, **kw, bstrap=True, biters=20000, seed=11)
    b2 = att_gt(mpdta, **kw, bstrap=True, biters=20000, seed=11)
    b3 = att_gt(mpdta, **kw, bstrap=True, biters=20000, seed=12)
    se1 = b1.tidy()["std_error"].to_numpy()
    # same seed: the same draws (up to the last bits of the engine's parallel sums)
    np.testing.assert_allclose(se1, b2.tidy()["std_error"].to_numpy(), rtol=1e-9)
    assert np.max(np.abs(se1 / b3.tidy()["std_error"].to_numpy() - 1)) > 1e-3
    # IQR-based SE from 20000 Gaussian draws: relative Monte-Carlo sd ≈ 0.8%; allow 4%
    np.testing.assert_allclose(se1, analytic, rtol=0.04)
    assert b1.provenance.seed == 11
    dyn_boot = aggte(b1, type="dynamic")
    dyn = aggte(att_gt(mpdta, **kw), type="dynamic")
    np.testing.assert_allclose(dyn_boot.tidy()["std_error"], dyn.tidy()["std_error"], rtol=0.04)


def test_uniform_band_is_wider_than_pointwise_and_below_bonferroni(mpdta):
    from scipy import stats

    kw = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first_treat"}
    res = att_gt(mpdta, **kw, bstrap=True, cband=True, biters=5000, seed=1)
    k = len(res.tidy())
    assert stats.norm.ppf(0.975) < res.critical_value < stats.norm.ppf(1 - 0.025 / k)
    tab = res.tidy()
    np.testing.assert_allclose(
        tab["conf_high_uniform"] - tab["estimate"],
        res.critical_value * tab["std_error"],
        rtol=1e-12,
    )
    dyn = aggte(res, type="dynamic")
    assert dyn.cband and dyn.critical_value > stats.norm.ppf(0.975)
    # the overall effect keeps a pointwise interval (as in R)
    o = dyn.overall
    assert o.conf_high - o.estimate == pytest.approx(stats.norm.ppf(0.975) * o.std_error)
