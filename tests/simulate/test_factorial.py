"""factorial_experiment: determinism, engine writes, exact truth, calibration, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.errors import DesignError, OptionError
from attribution.simulate import ComponentEffects, factorial_experiment
from attribution.simulate.factorial import BLOCK, factorial_truth
from attribution.simulate.truth import cell_label, cells, effect_terms

COLUMNS = ["user_id", "market", "segment", "E", "R", "K", "pre_engagement", "engagement"]


def test_same_seed_same_table_and_chunk_size_does_not_matter():
    n = 2 * BLOCK + 1234  # three blocks, the last one partial
    a = factorial_experiment(n, seed=11, chunk_size=10).table()
    b = factorial_experiment(n, seed=11, chunk_size=BLOCK).table()
    c = factorial_experiment(n, seed=11, chunk_size=10_000_000).table()
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    d = factorial_experiment(n, seed=12).table()
    assert not np.allclose(a["engagement"], d["engagement"])


def test_prefix_stable_in_n_users():
    small = factorial_experiment(1000, seed=4).table()
    big = factorial_experiment(BLOCK + 10, seed=4).table()
    pd.testing.assert_frame_equal(small, big.iloc[:1000])


def test_pandas_table_follows_tables_md():
    df = factorial_experiment(5000, seed=1).table()
    assert list(df.columns) == COLUMNS
    assert df["user_id"].dtype == np.int64 and df["user_id"].is_unique
    assert (df["user_id"] == np.arange(1, 5001)).all()
    for c in "ERK":
        assert df[c].dtype == np.int8
        assert set(df[c].unique()) == {0, 1}
    assert pd.api.types.is_string_dtype(df["market"]) and pd.api.types.is_string_dtype(
        df["segment"]
    )
    assert set(df["segment"]) == {"new", "casual", "heavy"}
    assert set(df["market"]) <= {f"m{i:02d}" for i in range(20)}
    for c in ("pre_engagement", "engagement"):
        assert df[c].dtype == np.float64
        assert np.isfinite(df[c]).all() and (df[c] >= 0).all()
    assert df.groupby(["E", "R", "K"]).size().shape == (8,)


def test_duckdb_file_write(tmp_path):
    con = at.connect(str(tmp_path / "sim.duckdb"))
    n = BLOCK + 777
    sim = factorial_experiment(n, seed=5, con=con, table_name="fx", chunk_size=BLOCK)
    t = sim.table("fx")
    assert int(t.count().execute()) == n
    schema = dict(t.schema().items())
    assert [str(v) for v in schema.values()] == [
        "!int64", "!string", "!string", "!int8", "!int8", "!int8", "!float64", "!float64",
    ]  # fmt: skip
    assert list(schema) == COLUMNS
    back = t.order_by("user_id").execute()
    ref = factorial_experiment(n, seed=5).table()
    pd.testing.assert_frame_equal(back, ref)
    con.disconnect()
    # the file persists and can be reopened
    con2 = at.connect(str(tmp_path / "sim.duckdb"))
    assert int(con2.table("fx").count().execute()) == n
    con2.disconnect()


def test_progress_goes_to_stderr(capsys):
    factorial_experiment(100, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "factorial_experiment" in err and "100 / 100 rows" in err


# ---------------------------------------------------------------- truth


def test_truth_algebra_is_consistent():
    tr = factorial_truth()
    assert tr.components == ("E", "R", "K")
    assert math.isclose(tr.shapley.sum(), tr.total, rel_tol=1e-12)
    assert tr.baseline == tr.cell_means["E=0,R=0,K=0"]
    # the BHH effects reproduce every cell mean: y_c = mean + Σ_T effect_T / 2 · Π_{j∈T} (2x_j − 1)
    grand = tr.cell_means.mean()
    for cell in cells(3):
        signs = dict(zip("ERK", (2 * np.array(cell) - 1), strict=True))
        y = grand + sum(
            tr.effects[":".join(t)] / 2 * np.prod([signs[j] for j in t])
            for t in effect_terms(("E", "R", "K"))
        )
        assert math.isclose(y, tr.cell_means[cell_label("ERK", cell)], rel_tol=1e-13)
    # with no 3-way term worth speaking of, Shapley = BHH main effects
    assert np.allclose(tr.shapley.values, tr.effects[["E", "R", "K"]].values, atol=2e-4)


def test_truth_calibration_matches_product_story():
    tr = factorial_truth()
    pct = 100 * tr.effects / tr.baseline
    assert tr.baseline == pytest.approx(10.0, abs=1e-12)
    assert 1.8 < 100 * tr.total / tr.baseline < 2.2
    assert 0.5 < pct["E"] < 1.0 and 0.4 < pct["R"] < 0.7 and 0.4 < pct["K"] < 0.8
    assert 0.3 < pct["E:K"] < 0.5
    assert 0.0 < pct["E:R"] < pct["E:K"] / 2
    assert abs(pct["E:R:K"]) < 0.01 and abs(pct["R:K"]) < 0.01
    # novelty: day-1 effects exceed the long-run level, and decay monotonically
    daily = tr.details["daily_effects"]
    assert (daily["E"].diff().dropna() < 0).all()
    assert daily["E"].iloc[0] > tr.effects["E"] > tr.details["long_run_effects"]["E"]
    # heterogeneity: new users gain most from E relative to their level, heavy users from K
    seg = tr.details["segment_effects"].div(tr.details["segment_cell_means"]["E=0,R=0,K=0"], axis=0)
    assert seg.loc["new", "E"] > seg.loc["heavy", "E"]
    assert seg.loc["heavy", "K"] > seg.loc["new", "K"]


def test_shorter_window_overstates_long_run_effects():
    week, month = factorial_truth(window_days=7), factorial_truth(window_days=28)
    lr = factorial_truth().details["long_run_effects"]
    for term in ("E", "R", "K", "E:K"):
        assert week.effects[term] > factorial_truth().effects[term] > month.effects[term] > lr[term]
    sim = factorial_experiment(2000, seed=0, window_days=7)
    assert sim.truth.details["window_days"] == 7
    pd.testing.assert_series_equal(sim.truth.effects, week.effects)
    # same users and assignments, only the outcome's effect part differs
    base = factorial_experiment(2000, seed=0).table()
    pd.testing.assert_frame_equal(
        sim.table().drop(columns="engagement"), base.drop(columns="engagement")
    )


def test_no_effects_means_flat_cells():
    tr = factorial_truth(ComponentEffects.none())
    assert np.allclose(tr.cell_means, 10.0) and np.allclose(tr.effects, 0.0)
    tr2 = factorial_truth(ComponentEffects().scaled(2.0))
    assert tr2.effects["E:K"] > 1.9 * factorial_truth().effects["E:K"]


def test_truth_details_are_in_the_simulation():
    sim = factorial_experiment(1000, seed=2, allocation={"K": 0.3})
    assert sim.truth.details["allocation"] == {"E": 0.5, "R": 0.5, "K": 0.3}
    m = sim.truth.details["markets"]
    assert np.isclose((m["weight"] * m["multiplier"]).sum(), 1.0)
    pd.testing.assert_series_equal(sim.truth.effects, factorial_truth().effects)


def test_large_sample_cell_means_converge_to_truth():
    """2M users: every sample cell mean within 4 SE of its exact expectation."""
    df = factorial_experiment(2_000_000, seed=123, chunk_size=4 * BLOCK).table()
    tr = factorial_truth()
    g = df.groupby(["E", "R", "K"])["engagement"].agg(["mean", "std", "size"])
    for (e, r, k), row in g.iterrows():
        truth = tr.cell_means[cell_label("ERK", (e, r, k))]
        z = (row["mean"] - truth) / (row["std"] / math.sqrt(row["size"]))
        assert abs(z) < 4, (e, r, k, z)
    pre = df["pre_engagement"]
    z = (pre.mean() - tr.details["pre_engagement_mean"]) / (pre.std() / math.sqrt(len(pre)))
    assert abs(z) < 4


def test_noise_is_realistic_and_cuped_detects_e_by_k():
    df = factorial_experiment(200_000, seed=0).table()
    y, x = df["engagement"].to_numpy(), df["pre_engagement"].to_numpy()
    cv = y.std() / y.mean()
    assert 0.8 < cv < 1.2
    assert pd.Series(y).skew() > 1.0 and y.min() >= 0
    rho = np.corrcoef(x, y)[0, 1]
    assert 0.9 < rho < 0.995  # CUPED cuts the variance by 1 − ρ² (≈ 95%)
    # OLS with ±1-coded factors and the centred covariate; classical SE is fine for the check
    s = {c: 2.0 * df[c].to_numpy() - 1.0 for c in "ERK"}
    X = np.column_stack([np.ones_like(y), s["E"], s["R"], s["K"], s["E"] * s["K"], x - x.mean()])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    cov = np.linalg.inv(X.T @ X) * (resid @ resid) / (len(y) - X.shape[1])
    t_ek = beta[4] / math.sqrt(cov[4, 4])
    assert t_ek > 3
    truth = factorial_truth().effects["E:K"] / 2  # ±1 coefficient = BHH effect / 2
    assert abs(beta[4] - truth) < 4 * math.sqrt(cov[4, 4])


def test_allocation_changes_sample_ratio():
    df = factorial_experiment(100_000, seed=3, allocation={"E": 0.6, "R": 0.5}).table()
    p = df["E"].mean()
    assert abs(p - 0.6) < 4 * math.sqrt(0.24 / len(df))
    assert abs(df["K"].mean() - 0.5) < 4 * math.sqrt(0.25 / len(df))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_users": 7}, "n_users"),
        ({"n_users": 100.0}, "n_users"),
        ({"n_users": True}, "n_users"),
        ({"seed": -1}, "seed"),
        ({"n_markets": 0}, "n_markets"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"allocation": {"E": 0.0}}, "allocation"),
        ({"allocation": {"E": 1.0}}, "allocation"),
        ({"allocation": {"R": 1.5}}, "allocation"),
        ({"allocation": {"K": "half"}}, "allocation"),
        ({"allocation": {"X": 0.5}}, "unknown component"),
        ({"allocation": [0.5, 0.5, 0.5]}, "allocation"),
        ({"effects": {"E": 0.01}}, "ComponentEffects"),
        ({"table_name": "bad name"}, "table_name"),
        ({"table_name": ""}, "table_name"),
        ({"con": "sim.duckdb"}, "Ibis backend"),
        ({"progress": "yes"}, "progress"),
        ({"window_days": 0}, "window_days"),
    ],
)
def test_bad_options(kwargs, match):
    args = {"n_users": 100, "seed": 0} | kwargs
    n = args.pop("n_users")
    with pytest.raises(OptionError, match=match) as info:
        factorial_experiment(n, **args)
    assert info.value.fix or "must" in info.value.message


@pytest.mark.parametrize(
    "kwargs",
    [{"E": float("nan")}, {"K": -0.6}, {"novelty": -1.0}, {"novelty_days": 0.0}, {"EK": "big"}],
)
def test_bad_component_effects(kwargs):
    with pytest.raises(OptionError, match="ComponentEffects"):
        ComponentEffects(**kwargs)


def test_empty_cell_is_a_design_error(tmp_path):
    with pytest.raises(DesignError, match="no users") as info:
        factorial_experiment(8, seed=0)
    assert "n_users" in info.value.fix
    con = at.connect(str(tmp_path / "e.duckdb"))
    with pytest.raises(DesignError):
        factorial_experiment(8, seed=0, con=con, table_name="tiny")
    assert "tiny" not in con.list_tables()  # nothing half-written is left behind
    con.disconnect()


def test_table_lookup_errors():
    sim = factorial_experiment(100, seed=0)
    with pytest.raises(OptionError, match="no table"):
        sim.table("nope")


@pytest.mark.spark
def test_spark_write_matches_pandas(spark_backend):
    """Any Ibis backend works through create_table + insert; Spark keeps types, not NOT NULL."""
    sim = factorial_experiment(500, seed=6, con=spark_backend, table_name="sim_fx_spark")
    t = sim.table()
    assert {k: str(v).lstrip("!") for k, v in t.schema().items()} == {
        "user_id": "int64", "market": "string", "segment": "string", "E": "int8", "R": "int8",
        "K": "int8", "pre_engagement": "float64", "engagement": "float64",
    }  # fmt: skip
    back = t.order_by("user_id").execute()
    pd.testing.assert_frame_equal(back, factorial_experiment(500, seed=6).table())
    spark_backend.drop_table("sim_fx_spark", force=True)
