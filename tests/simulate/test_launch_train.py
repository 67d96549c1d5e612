"""The launch-train scenario: deterministic, chunk-independent, and its truth is the model's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import attribution as at
from attribution.simulate import LaunchEffects, launch_train
from attribution.simulate.launch_train import window_variance


@pytest.fixture(scope="module")
def sim():
    return launch_train(3_000, n_weeks=5, seed=4)


def test_deterministic_and_chunk_independent(sim):
    again = launch_train(3_000, n_weeks=5, seed=4, chunk_size=1)
    pd.testing.assert_frame_equal(sim.table("launch_train"), again.table("launch_train"))
    pd.testing.assert_frame_equal(sim.table("launches"), again.table("launches"))
    other = launch_train(3_000, n_weeks=5, seed=5)
    assert not other.table("launches")["estimate"].equals(sim.table("launches")["estimate"])


def test_launch_train_depends_on_the_seed_alone(sim):
    """More users change the user rows, not the launches; the first users stay the same."""
    bigger = launch_train(4_000, n_weeks=5, seed=4)
    pd.testing.assert_frame_equal(sim.table("launches"), bigger.table("launches"))
    first = bigger.table("launch_train").iloc[: len(sim.table("launch_train"))]
    pd.testing.assert_frame_equal(first.reset_index(drop=True), sim.table("launch_train"))


def test_tables_and_ship_rule(sim):
    rows = sim.table("launch_train")
    assert len(rows) == 3_000 * 3 * 5
    assert set(rows["arm"]) == {"holdout", "treatment"}
    assert rows.groupby("user_id")["arm"].nunique().max() == 1
    launches = sim.table("launches")
    assert list(launches.columns) == [
        "launch", "surface", "start_week", "ship_week", "estimate", "std_error", "p_value",
        "shipped",
    ]  # fmt: skip
    z = launches["estimate"] / launches["std_error"]
    assert (launches["shipped"] == (z > stats.norm.ppf(0.975))).all()
    np.testing.assert_allclose(launches["p_value"], 2 * stats.norm.sf(np.abs(z)))
    shipped = launches[launches["shipped"]]
    assert (shipped["ship_week"] == shipped["start_week"] + 2).all()
    assert launches.loc[~launches["shipped"], "ship_week"].isna().all()


def test_truth_is_the_sum_of_shipped_effects(sim):
    d = sim.truth.details
    cum = d["cumulative"]
    last = cum[cum["week"] == cum["week"].max()].set_index("surface")["effect"]
    lt = d["launches"]
    shipped = lt[lt["shipped"]]
    assert last["overall"] == pytest.approx(shipped["true_effect"].sum(), rel=1e-12)
    assert sim.truth.total == pytest.approx(d["shipped_total"], rel=1e-12)
    for s, v in d["shipped_by_surface"].items():
        assert last[s] == pytest.approx(v, rel=1e-12, abs=1e-15)
    # each week: the shipped launches of that surface whose ship week has come (no novelty)
    for row in cum[cum["surface"] != "overall"].itertuples():
        on = shipped[(shipped["surface"] == row.surface) & (shipped["ship_week"] <= row.week)]
        assert row.effect == pytest.approx(on["true_effect"].sum(), rel=1e-12, abs=1e-15)
    assert d["naive_total"] == pytest.approx(shipped["estimate"].sum())
    assert np.allclose(lt["true_effect"], lt["true_lift"] * lt["surface"].map(d["baselines"]))


def test_launch_standard_error_is_the_model_one():
    """σ_i = μ_s √(window variance · 4 / slice): the SE of a two-arm difference of means."""
    sim = launch_train(100, n_weeks=4, seed=2, slice_users=40_000)
    lt = sim.truth.details["launches"]
    mu = lt["surface"].map(sim.truth.details["baselines"])
    np.testing.assert_allclose(lt["std_error"], mu * np.sqrt(window_variance(2) * 4 / 40_000))


def test_arm_means_match_the_truth_on_large_data():
    """Per surface, the treatment − holdout difference in the last week is the exact effect
    within sampling error (4 SE)."""
    sim = launch_train(40_000, n_weeks=4, holdout_share=0.3, seed=8)
    rows = sim.table("launch_train")
    last = rows[rows["week"] == 4]
    g = last.groupby(["surface", "arm"])["engagement"].agg(["mean", "var", "count"]).unstack()
    diff = g[("mean", "treatment")] - g[("mean", "holdout")]
    se = np.sqrt(
        g[("var", "treatment")] / g[("count", "treatment")]
        + g[("var", "holdout")] / g[("count", "holdout")]
    )
    cum = sim.truth.details["cumulative"]
    truth = cum[cum["week"] == 4].set_index("surface")["effect"]
    for s in diff.index:
        assert abs(diff[s] - truth[s]) < 4 * se[s]
    assert 0.28 < (rows.drop_duplicates("user_id")["arm"] == "holdout").mean() < 0.32


def test_novelty_decays_to_the_long_run_effect():
    eff = LaunchEffects(novelty=1.0, novelty_weeks=1.0)
    sim = launch_train(100, n_weeks=12, seed=3, effects=eff)
    d = sim.truth.details
    lt = d["launches"]
    first = lt[lt["shipped"]].iloc[0]
    lone = lt[(lt["surface"] == first["surface"]) & lt["shipped"]]
    cum = d["cumulative"]
    path = cum[cum["surface"] == first["surface"]].set_index("week")["effect"]
    w = int(first["ship_week"])
    if len(lone) == 1:  # the only launch on its surface: its path alone
        assert path[w] == pytest.approx(2 * first["true_effect"])
        assert path[12] == pytest.approx(first["true_effect"] * (1 + np.exp(-(12 - w))), rel=1e-12)
    assert d["shipped_total"] == pytest.approx(lt.loc[lt["shipped"], "true_effect"].sum())


def test_writes_into_an_engine():
    con = at.connect()
    sim = launch_train(1_000, n_weeks=3, seed=1, con=con)
    local = launch_train(1_000, n_weeks=3, seed=1)
    got = sim.table("launch_train").order_by(["user_id", "surface", "week"]).execute()
    want = local.table("launch_train").sort_values(["user_id", "surface", "week"])
    np.testing.assert_allclose(got["engagement"], want["engagement"])
    assert int(sim.table("launches").count().execute()) == 30


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_users": 1}, "n_users"),
        ({"n_launches": 0}, "n_launches"),
        ({"holdout_share": 1.0}, "holdout_share"),
        ({"surfaces": "home"}, "surfaces"),
        ({"surfaces": ("home", "home")}, "surfaces"),
        ({"n_weeks": 2, "test_weeks": 2}, "n_weeks"),
        ({"effects": {"novelty": 1}}, "effects"),
        ({"table_name": "launches"}, "table_name"),
    ],
)
def test_bad_options_are_typed_errors(kwargs, match):
    with pytest.raises(at.OptionError, match=match):
        launch_train(**{"n_users": 100, **kwargs})
