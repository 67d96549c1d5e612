"""Conformal inference for synthetic control (Chernozhukov, Wüthrich & Zhu 2021): the p-value
against a direct re-implementation, test inversion, Prop 99, coverage on simulated panels, and bad
input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from attribution import simulate
from attribution.designs.synth import ConformalResult, conformal_interval, synthetic_control
from attribution.designs.synth.conformal import conformal_arrays, conformal_p_value
from attribution.designs.synth.solvers import simplex_least_squares
from attribution.errors import AttributionWarning, DesignError, OptionError
from tests.reference.synth.prop99 import load_long


def direct_p_value(y1, Y0, n_pre, theta, q=1.0, perms=None):
    """CWZ Algorithm 1 written out plainly: adjust, refit on all periods, permute residuals."""
    y = y1.astype(float).copy()
    y[n_pre:] -= theta
    w = simplex_least_squares(Y0.T, y)
    u = y - Y0.T @ w
    T = len(y)
    n_post = T - n_pre
    if perms is None:
        perms = [np.roll(np.arange(T), -j) for j in range(T)]

    def stat(v):
        return np.mean(np.abs(v) ** q) ** (1 / q)

    s0 = stat(u[n_pre:])
    return np.mean([stat(u[p][T - n_post :]) >= s0 * (1 - 1e-12) for p in perms])


def panel(seed: int, n_units: int = 15, n_periods: int = 24, start: int = 21):
    sim = simulate.single_market_launch(
        n_units=n_units, n_periods=n_periods, start_period=start, seed=seed
    )
    df = sim.table()
    wide = df.pivot(index="unit", columns="period", values="engagement")
    unit = sim.truth.details["treated_units"][0]
    eff = sim.truth.details["effects"].set_index("period")["effect"].to_numpy()
    return wide.loc[unit].to_numpy(), wide.drop(index=unit).to_numpy(), start - 1, eff, sim


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("q", [1.0, 2.0])
def test_p_value_matches_direct_implementation(seed, q):
    y1, Y0, n_pre, eff, _ = panel(seed)
    for theta in (0.0, eff, eff + 0.3):
        ours = conformal_p_value(y1, Y0, n_pre, theta, q=q)
        assert ours == pytest.approx(direct_p_value(y1, Y0, n_pre, theta, q=q), abs=1e-12)


def test_iid_permutations_seeded():
    y1, Y0, n_pre, _eff, _ = panel(1)
    a = conformal_p_value(y1, Y0, n_pre, 0.0, permutation="iid", n_reps=200, seed=5)
    b = conformal_p_value(y1, Y0, n_pre, 0.0, permutation="iid", n_reps=200, seed=5)
    assert a == b
    rng = np.random.default_rng(5)
    T = len(y1)
    perms = [np.arange(T)] + [rng.permutation(T) for _ in range(199)]
    assert a == pytest.approx(direct_p_value(y1, Y0, n_pre, 0.0, perms=perms))


def test_moving_block_p_values_are_multiples_of_one_over_t():
    y1, Y0, n_pre, eff, _ = panel(2)
    T = len(y1)
    p = conformal_p_value(y1, Y0, n_pre, eff)
    assert p * T == pytest.approx(round(p * T))
    # a huge effect left in the data is detected at the smallest attainable p-value
    assert conformal_p_value(y1 + np.r_[np.zeros(n_pre), np.full(T - n_pre, 50.0)], Y0, n_pre) == (
        pytest.approx(1 / T)
    )


def test_inversion_endpoints_are_tight():
    """Inside the interval the p-value exceeds alpha, just outside it does not."""
    y1, Y0, n_pre, _eff, _ = panel(4)
    r = conformal_arrays(y1, Y0, n_pre, alpha=0.1)
    for k in range(len(r.low)):
        cols = np.r_[np.arange(n_pre), n_pre + k]
        yk, Yk = y1[cols], Y0[:, cols]
        width = r.high[k] - r.low[k]
        assert width > 0
        eps = 1e-4 * width
        assert conformal_p_value(yk, Yk, n_pre, r.low[k] + eps) > 0.1
        assert conformal_p_value(yk, Yk, n_pre, r.high[k] - eps) > 0.1
        assert conformal_p_value(yk, Yk, n_pre, r.low[k] - 10 * eps) <= 0.1
        assert conformal_p_value(yk, Yk, n_pre, r.high[k] + 10 * eps) <= 0.1


def test_user_grid_is_used_as_given():
    y1, Y0, n_pre, _eff, _ = panel(0)
    grid = np.linspace(-5, 5, 201)
    r = conformal_arrays(y1, Y0, n_pre, alpha=0.05, grid=grid)
    assert set(np.round(r.low, 10)) <= set(np.round(grid, 10))
    with pytest.warns(AttributionWarning, match="end of the supplied grid"):
        conformal_arrays(y1, Y0, n_pre, alpha=0.05, grid=np.linspace(-0.01, 0.01, 5))


def test_prop99_intervals():
    """California: per-period 95% sets (moving block, q = 1) exclude zero from 1991 on, and the
    sharp null of no effect has p = 3/31 (the smallest attainable is 1/31)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        r = synthetic_control(
            load_long(),
            outcome="packs",
            unit="state",
            time="year",
            treated_unit="California",
            treatment_start=1989,
            special_predictors=[("packs", [y], "mean") for y in (1975, 1980, 1988)],
            placebo=False,
        )
    t = r.tidy().set_index("term")
    assert r.sharp_null_p_value == pytest.approx(3 / 31)
    later = t.loc[[f"gap(t={y})" for y in range(1991, 2001)]]
    assert (later["conf_high"] < 0).all()
    np.testing.assert_allclose(later["p_value"], 1 / 20)
    assert (t["conf_low"].iloc[1:] <= t["estimate"].iloc[1:]).all()
    assert (t["estimate"].iloc[1:] <= t["conf_high"].iloc[1:]).all()
    c = conformal_interval(r)
    assert isinstance(c, ConformalResult)
    ct = c.tidy().set_index("term")
    np.testing.assert_allclose(
        ct.loc["gap(t=1995)", ["conf_low", "conf_high"]],
        t.loc["gap(t=1995)", ["conf_low", "conf_high"]],
    )
    assert ct.loc["constant effect", "p_value"] == pytest.approx(3 / 31)


@pytest.mark.parametrize("on_duckdb", [False, True])
def test_conformal_interval_on_a_table(on_duckdb, duckdb_backend):
    y1, Y0, n_pre, _eff, sim = panel(3)
    df = sim.table()[["unit", "period", "engagement"]]
    unit = sim.truth.details["treated_units"][0]
    data = duckdb_backend.create_table("g_conformal_panel", df, overwrite=True) if on_duckdb else df
    c = conformal_interval(
        data,
        outcome="engagement",
        unit="unit",
        time="period",
        treated_unit=unit,
        treatment_start=n_pre + 1,
        alpha=0.1,
    )
    direct = conformal_arrays(y1, Y0, n_pre, alpha=0.1)
    per = c.tidy().iloc[:-1]
    np.testing.assert_allclose(per["conf_low"], direct.low)
    np.testing.assert_allclose(per["conf_high"], direct.high)


def test_too_few_pre_periods_gives_unbounded_sets():
    y1, Y0, n_pre, _eff, _ = panel(0, n_periods=10, start=8)
    with pytest.warns(AttributionWarning, match="unbounded"):
        r = conformal_arrays(y1, Y0, n_pre, alpha=0.05)
    assert np.isinf(r.low).all() and np.isinf(r.high).all()


@pytest.mark.parametrize(
    ("kw", "err"),
    [
        ({"alpha": 0.0}, OptionError),
        ({"permutation": "blocks"}, OptionError),
        ({"q": 0.5}, OptionError),
        ({"grid": np.array([1.0])}, OptionError),
    ],
)
def test_bad_options(kw, err):
    y1, Y0, n_pre, _eff, _ = panel(0)
    args = {"alpha": 0.05}
    args.update(kw)
    with pytest.raises(err):
        conformal_arrays(y1, Y0, n_pre, **args)


def test_table_input_needs_the_design_columns():
    with pytest.raises(OptionError, match="needs"):
        conformal_interval(load_long(), outcome="packs", unit="state", time="year")
    with pytest.raises(DesignError, match="not a value"):
        conformal_interval(
            load_long(),
            outcome="packs",
            unit="state",
            time="year",
            treated_unit="Atlantis",
            treatment_start=1989,
        )


def test_no_pre_or_post_period():
    y1, Y0, _n_pre, _eff, _ = panel(0)
    with pytest.raises(DesignError):
        conformal_arrays(y1, Y0, 0, alpha=0.05)
    with pytest.raises(DesignError):
        conformal_arrays(y1, Y0, len(y1), alpha=0.05)


# -- coverage (slow) -----------------------------------------------------------------------------


@pytest.mark.slow
def test_coverage_and_size_over_500_seeds():
    """single_market_launch (20 units, 19 pre-periods, 5 post): per-period 95% conformal sets
    cover the true period effect 93–97% of the time; the sharp null on the untreated outcomes is
    rejected at most at the nominal rate (exactly 1/24 ≈ 4.2% under exchangeability)."""
    cover = []
    reject = []
    for seed in range(500):
        y1, Y0, n_pre, eff, _ = panel(seed, n_units=20, n_periods=24, start=20)
        r = conformal_arrays(y1, Y0, n_pre, alpha=0.05)
        cover.append((r.low <= eff) & (eff <= r.high))
        y0 = y1.copy()
        y0[n_pre:] -= eff
        reject.append(conformal_p_value(y0, Y0, n_pre, 0.0) <= 0.05)
    cover = np.asarray(cover)
    assert 0.93 <= cover.mean() <= 0.97
    assert (cover.mean(axis=0) >= 0.91).all() and (cover.mean(axis=0) <= 0.99).all()
    assert 0.02 <= np.mean(reject) <= 0.065
    pd.Series(cover.mean(axis=0)).to_dict()  # per period, for the log
