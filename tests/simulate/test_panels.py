"""staggered_rollout and single_market_launch: tables, exact truth, known biases, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import attribution as at
from attribution.errors import DesignError, OptionError
from attribution.simulate import single_market_launch, staggered_rollout
from attribution.simulate.panels import ramp

PANEL_COLUMNS = [
    "unit",
    "market",
    "surface",
    "period",
    "date",
    "engagement",
    "users",
    "E",
    "R",
    "K",
]


def _wide(panel: pd.DataFrame, col: str) -> pd.DataFrame:
    return panel.pivot(index="unit", columns="period", values=col)


def _twfe(panel: pd.DataFrame, col: str) -> float:
    """Static two-way fixed effects coefficient (balanced panel: two-way demeaning)."""
    y, d = _wide(panel, "engagement").to_numpy(), _wide(panel, col).to_numpy()

    def dm(a):
        return a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()

    return float((dm(y) * dm(d)).sum() / (dm(d) ** 2).sum())


def _cs_att_gt(panel: pd.DataFrame, first: pd.Series) -> pd.DataFrame:
    """Callaway–Sant'Anna ATT(g,t) against never-treated units, base period g − 1 (no covariates)."""
    y = _wide(panel, "engagement")
    g = first.loc[y.index].to_numpy()
    Y = y.to_numpy()
    never = g == 0
    rows = []
    for gg in np.unique(g[g > 0]):
        m = g == gg
        for t in range(gg, Y.shape[1] + 1):
            dy = Y[:, t - 1] - Y[:, gg - 2]
            rows.append((gg, t, dy[m].mean() - dy[never].mean(), m.sum()))
    return pd.DataFrame(rows, columns=["group", "time", "att", "n"])


# ---------------------------------------------------------------- staggered_rollout


def test_staggered_tables_follow_tables_md():
    sim = staggered_rollout(seed=3)
    p, log = sim.table("surface_panel"), sim.table("launch_log")
    assert list(p.columns) == PANEL_COLUMNS
    assert len(p) == 20 * 3 * 30 and not p.duplicated(["unit", "period"]).any()
    assert p.groupby("unit").size().eq(30).all()  # balanced
    assert p["period"].dtype == np.int64 and p["users"].dtype == np.int64 and (p["users"] > 0).all()
    assert all(isinstance(d, dt.date) for d in p["date"].head())
    assert (p["unit"] == p["market"] + "/" + p["surface"]).all()
    for c in "ERK":
        assert p[c].dtype == np.float64 and p[c].between(0, 1).all()
    assert np.isfinite(p["engagement"]).all()
    assert list(log.columns) == ["component", "unit", "start_date", "start_period", "rollout_share"]
    assert not log.duplicated(["component", "unit"]).any()
    assert set(log["unit"]) <= set(p["unit"]) and (log["start_period"] >= 2).all()
    assert (log["rollout_share"] > 0).all() and (log["rollout_share"] <= 1).all()
    # the share columns are exactly the launch log
    for _, row in log.iterrows():
        s = p[p["unit"] == row["unit"]].set_index("period")[row["component"]]
        assert (s.loc[: row["start_period"] - 1] == 0).all()
        assert (s.loc[row["start_period"] :] == row["rollout_share"]).all()
        d0 = p[(p["unit"] == row["unit"]) & (p["period"] == row["start_period"])]["date"].iloc[0]
        assert d0 == row["start_date"]
    launched = set(zip(log["component"], log["unit"], strict=True))
    for c in "ERK":
        for u in set(p["unit"]) - {u for comp, u in launched if comp == c}:
            assert (p.loc[p["unit"] == u, c] == 0).all()
    never = sim.truth.details["never_treated_units"]
    assert len(never) >= 2 and not set(never) & set(log["unit"])
    # some units get one component but not another
    per_c = {c: set(log.loc[log["component"] == c, "unit"]) for c in "ERK"}
    assert per_c["E"] - per_c["K"] and per_c["K"] - per_c["E"]


def test_staggered_is_deterministic():
    a = staggered_rollout(seed=7)
    b = staggered_rollout(seed=7)
    pd.testing.assert_frame_equal(a.table("surface_panel"), b.table("surface_panel"))
    pd.testing.assert_frame_equal(a.table("launch_log"), b.table("launch_log"))
    c = staggered_rollout(seed=8)
    assert not np.allclose(
        a.table("surface_panel")["engagement"], c.table("surface_panel")["engagement"]
    )


def test_staggered_truth_is_consistent():
    tr = staggered_rollout(seed=2).truth
    d = tr.details
    att_gt = d["att_gt"]
    assert (att_gt.loc[att_gt["time"] < att_gt["group"], "att"] == 0).all()
    for c in "ERK":
        post = att_gt[(att_gt["component"] == c) & (att_gt["time"] >= att_gt["group"])]
        simple = np.average(post["att"], weights=post["n_units"])
        assert simple == pytest.approx(d["overall_att"][c], rel=1e-12)
        ue = d["unit_effects"]
        assert ue.loc[ue["component"] == c, "effect"].mean() == pytest.approx(simple, rel=1e-12)
        ev = d["event_time"][d["event_time"]["component"] == c].set_index("event_time")["att"]
        assert (ev.loc[:-1] == 0).all() and (ev.loc[0:] > 0).all()
        # dynamic: within every cohort the effect grows with time since launch
        for _, cohort in post.groupby("group"):
            assert (cohort.sort_values("time")["att"].diff().dropna() > 0).all()
    assert tr.shapley.sum() == pytest.approx(tr.total, rel=1e-12)
    assert tr.effects["E:K"] > 0 and abs(tr.effects["E:R:K"]) < 1e-12


def test_single_component_variant_and_static_effects():
    sim = staggered_rollout(seed=1, components=("K",), dynamic=False)
    p = sim.table("surface_panel")
    assert (p["E"] == 0).all() and (p["R"] == 0).all() and p["K"].max() == 1.0
    assert set(sim.table("launch_log")["component"]) == {"K"}
    assert sim.truth.components == ("K",)
    assert list(sim.truth.cell_means.index) == ["K=0", "K=1"]
    ev = sim.truth.details["event_time"].set_index("event_time")["att"]
    # static effects: the cohort mix changes ATT(e) only through unit levels, not through time
    assert ev.loc[0:].std() < 0.1 * ev.loc[0:].mean()


def test_twfe_is_biased_and_callaway_santanna_is_not():
    """Effects growing with exposure: static TWFE under-states the ATT; CS group-time DiD does not."""
    twfe_err, cs_err, truths = [], [], []
    gt_z = []
    for seed in range(25):
        sim = staggered_rollout(seed=seed, components=("K",))
        p, d = sim.table("surface_panel"), sim.truth.details
        truth = d["overall_att"]["K"]
        truths.append(truth)
        twfe_err.append(_twfe(p, "K") - truth)
        first = d["cohort_of_unit"].set_index("unit")["K"]
        est = _cs_att_gt(p, first)
        cs_err.append(np.average(est["att"], weights=est["n"]) - truth)
        if seed == 0:
            merged = est.merge(d["att_gt"], on=["group", "time"], suffixes=("_hat", ""))
            gt_z = merged["att_hat"] - merged["att"]
    twfe_err, cs_err = np.array(twfe_err), np.array(cs_err)
    se = lambda a: a.std(ddof=1) / np.sqrt(len(a))  # noqa: E731
    assert abs(cs_err.mean()) < 3 * se(cs_err)
    assert twfe_err.mean() < -5 * se(twfe_err)
    assert twfe_err.mean() < -0.1 * np.mean(truths)  # and by more than 10% of the ATT
    # single seed: group-time estimates scatter around the exact ATT(g,t) with no drift
    assert abs(np.mean(gt_z)) < 4 * np.std(gt_z) / np.sqrt(len(gt_z))


def test_staggered_to_duckdb(tmp_path):
    con = at.connect(str(tmp_path / "p.duckdb"))
    sim = staggered_rollout(seed=0, n_markets=4, n_periods=12, con=con)
    p, log = sim.table("surface_panel"), sim.table("launch_log")
    assert str(p.schema()["date"]) == "!date" and str(p.schema()["E"]) == "!float64"
    assert str(log.schema()["start_date"]) == "!date"
    assert int(p.count().execute()) == 4 * 3 * 12
    ref = staggered_rollout(seed=0, n_markets=4, n_periods=12)
    back = p.order_by(["unit", "period"]).execute()
    np.testing.assert_allclose(
        back["engagement"], ref.table("surface_panel").sort_values(["unit", "period"])["engagement"]
    )
    con.disconnect()


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n_markets": 1}, OptionError, "n_markets"),
        ({"n_periods": 3}, OptionError, "n_periods"),
        ({"components": ("E", "X")}, OptionError, "unknown component"),
        ({"components": "K"}, OptionError, "components"),
        ({"components": ()}, OptionError, "components"),
        ({"components": ("K", "K")}, OptionError, "duplicates"),
        ({"cohorts": {"K": [1, 5]}, "components": ("K",)}, OptionError, "cohorts"),
        ({"cohorts": {"K": [31]}, "components": ("K",)}, OptionError, "cohorts"),
        ({"cohorts": {"E": [5]}, "components": ("K",)}, OptionError, "cohorts"),
        ({"lifts": {"X": 0.1}}, OptionError, "lift term"),
        ({"lifts": {"K": float("inf")}}, OptionError, "lifts"),
        ({"rollout_share": 0.0}, OptionError, "rollout_share"),
        ({"rollout_share": 1.5}, OptionError, "rollout_share"),
        ({"never_treated_share": 0.0}, OptionError, "never_treated_share"),
        ({"ar": 1.0}, OptionError, "ar"),
        ({"surfaces": "home"}, OptionError, "surfaces"),
        ({"surfaces": ("home", "home")}, OptionError, "surfaces"),
        ({"dynamic": "yes"}, OptionError, "dynamic"),
        ({"start_date": "2026-01-01"}, OptionError, "start_date"),
        ({"con": 3}, OptionError, "Ibis backend"),
        ({"n_markets": 4, "surfaces": ("a",), "cohorts": {"K": [3, 4, 5]}, "components": ("K",)},
         DesignError, "cohorts"),
        ({"n_markets": 2, "surfaces": ("a",)}, DesignError, "no unit to treat"),
    ],
)  # fmt: skip
def test_staggered_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        staggered_rollout(**kwargs)


# ---------------------------------------------------------------- single_market_launch


def _in_hull(points: np.ndarray, z: np.ndarray) -> bool:
    """Is z a convex combination of the rows of `points`? (LP feasibility)."""
    n = len(points)
    res = linprog(
        np.zeros(n),
        A_eq=np.vstack([points.T, np.ones(n)]),
        b_eq=np.append(z, 1.0),
        bounds=[(0, None)] * n,
        method="highs",
    )
    return res.status == 0


def test_single_market_table_and_truth():
    sim = single_market_launch(seed=4)
    p = sim.table()
    assert list(p.columns) == [*PANEL_COLUMNS, "treatment"]
    assert len(p) == 39 * 31 and p["treatment"].dtype == np.int64
    d = sim.truth.details
    (u,) = d["treated_units"]
    assert d["start_periods"] == {u: 21}
    treated = p[p["treatment"] == 1]
    assert set(treated["unit"]) == {u} and set(treated["period"]) == set(range(21, 32))
    assert (p["K"] == p["treatment"]).all() and (p["E"] == 0).all()
    assert d["att"] == pytest.approx(d["effects"]["effect"].mean(), rel=1e-12)
    assert d["att"] == pytest.approx(0.03 * d["effects"]["y0_mean"].mean(), rel=1e-12)
    assert sim.truth.effects["K"] == pytest.approx(d["att"]) == sim.truth.total
    # oracle: observed minus the exact untreated mean averages to the ATT within noise
    obs = treated.set_index("period")["engagement"]
    err = (
        obs
        - d["effects"].set_index("period")["y0_mean"]
        - d["effects"].set_index("period")["effect"]
    )
    assert abs(err.mean()) < 4 * 0.1 / np.sqrt(len(err))
    # the treated unit's (α, loadings) lie inside the donors' convex hull
    z = np.column_stack([d["unit_effects"].to_numpy(), d["loadings"].to_numpy()])
    idx = list(d["unit_effects"].index)
    donors = np.delete(z, idx.index(u), axis=0)
    assert _in_hull(donors, z[idx.index(u)])


def test_single_market_staggered_dynamic():
    sim = single_market_launch(
        seed=1, treated=3, start_period=[10, 15, 20], dynamic=True, lift=0.05
    )
    d = sim.truth.details
    assert sorted(d["start_periods"].values()) == [10, 15, 20]
    e = d["effects"]
    share = e["effect"] / (0.05 * e["y0_mean"])
    np.testing.assert_allclose(share, ramp(e["event_time"].to_numpy(), True))
    assert (d["per_event_time"].loc[0:11].diff().dropna() > 0).all()  # all 3 units observed
    p = sim.table()
    z = np.column_stack([d["unit_effects"].to_numpy(), d["loadings"].to_numpy()])
    idx = list(d["unit_effects"].index)
    donors = np.delete(z, [idx.index(u) for u in d["treated_units"]], axis=0)
    assert np.mean([_in_hull(donors, z[idx.index(u)]) for u in d["treated_units"]]) == 1.0
    assert p.groupby("unit")["treatment"].apply(lambda s: s.is_monotonic_increasing).all()


def test_single_market_deterministic_and_duckdb(tmp_path):
    a = single_market_launch(seed=9, n_units=10, n_periods=8, start_period=5).table()
    b = single_market_launch(seed=9, n_units=10, n_periods=8, start_period=5).table()
    pd.testing.assert_frame_equal(a, b)
    con = at.connect(str(tmp_path / "s.duckdb"))
    t = single_market_launch(seed=9, n_units=10, n_periods=8, start_period=5, con=con).table()
    assert str(t.schema()["treatment"]) == "!int64" and int(t.count().execute()) == 80
    con.disconnect()


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n_units": 2}, OptionError, "n_units"),
        ({"treated": 0}, OptionError, "treated"),
        ({"treated": 38}, DesignError, "donors"),
        ({"start_period": 1}, OptionError, "start_period"),
        ({"start_period": 32}, OptionError, "start_period"),
        ({"treated": 2, "start_period": [5]}, OptionError, "start_period"),
        ({"component": "X"}, OptionError, "component"),
        ({"lift": -0.9}, OptionError, "lift"),
        ({"n_factors": -1}, OptionError, "n_factors"),
        ({"noise_sd": -1.0}, OptionError, "noise_sd"),
    ],
)
def test_single_market_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        single_market_launch(**kwargs)


def test_per_component_truth_matches_long_tables():
    d = staggered_rollout(seed=5).truth.details
    for c in "ERK":
        pc = d["per_component"][c]
        assert list(pc["att_gt"].columns) == ["group", "time", "att", "n_units"]
        long = d["att_gt"][d["att_gt"]["component"] == c]
        np.testing.assert_array_equal(pc["att_gt"]["att"], long["att"])
        assert pc["overall_att"] == d["overall_att"][c]
        assert list(pc["event_time"].columns) == ["event_time", "att"]
