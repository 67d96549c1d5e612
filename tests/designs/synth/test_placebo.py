"""In-space and in-time placebos for the ADH synthetic control."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from attribution import simulate
from attribution.designs.synth import in_space_placebo, in_time_placebo, synthetic_control
from attribution.designs.synth.placebo import permutation_p_value, placebo_gaps, placebo_table
from attribution.errors import AttributionWarning, DesignError, OptionError
from tests.designs.synth.conftest import LAGS3
from tests.reference.synth.prop99 import load_long


def test_permutation_p_value_counts_ties_against():
    assert permutation_p_value(3.0, np.array([1.0, 2.0, 4.0])) == pytest.approx(2 / 4)
    assert permutation_p_value(3.0, np.array([1.0, 3.0, 2.0])) == pytest.approx(2 / 4)
    assert permutation_p_value(40.0, np.arange(38.0)) == pytest.approx(1 / 39)


def test_placebo_table_ranks_and_p():
    idx = pd.Index(range(6), name="t")
    gaps = pd.DataFrame(
        {"a": [1, -1, 1, 2, 2, 2], "b": [1, 1, -1, 9, 9, 9], "c": [2, 2, 2, 1, 1, 1]},
        index=idx,
        dtype=float,
    )
    treated_gap = np.array([0.5, -0.5, 0.5, 3.0, 3.0, 3.0])
    table, p = placebo_table(gaps, treated_gap, 3, treated_unit="z")
    assert list(table["unit"]) == ["b", "z", "a", "c"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert p == pytest.approx(2 / 4)
    z = table.set_index("unit").loc["z"]
    assert z["ratio"] == pytest.approx(6.0) and z["pre_mspe_vs_treated"] == pytest.approx(1.0)


def test_placebo_gap_equals_a_fit_without_the_treated_unit(prop99):
    """Each placebo is an ordinary ADH fit of that donor on the other donors (California left out)."""
    gaps = prop99.placebo_gaps
    assert "California" not in gaps.columns and gaps.shape == (31, 38)
    df = load_long()
    direct = synthetic_control(
        df[df.state != "California"],
        outcome="packs",
        unit="state",
        time="year",
        treated_unit="Virginia",
        treatment_start=1989,
        special_predictors=LAGS3,
        placebo=False,
        conformal=False,
    )
    np.testing.assert_allclose(gaps["Virginia"].to_numpy(), direct.gaps.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(placebo_gaps(prop99.problem).to_numpy(), gaps.to_numpy())


def test_in_space_placebo_with_exclusion(prop99):
    _, p = in_space_placebo(prop99)
    assert p == prop99.p_value
    kept, p2 = in_space_placebo(prop99, max_pre_mspe_ratio=2.0)
    assert (kept["pre_mspe_vs_treated"] <= 2.0).all()
    n = len(kept)
    assert n < 39
    rank = int(kept.loc[kept["treated"], "rank"].iloc[0])
    assert p2 == pytest.approx(rank / n)
    with pytest.raises(OptionError):
        in_space_placebo(prop99, max_pre_mspe_ratio=0)


def test_in_time_placebo_prop99(prop99):
    """A fake 1980 start (fit on 1970–1979, lags 1970, 1975, 1979): the 1980–1988 'effect' is far
    smaller than the real post-1988 gap, as in ADH (2015)'s in-time placebo."""
    r = in_time_placebo(
        prop99,
        placebo_start=1980,
        special_predictors=[
            ("packs", [1970], "mean"),
            ("packs", [1975], "mean"),
            ("packs", [1979], "mean"),
        ],
    )
    assert list(r.treated_path.index) == list(range(1970, 1989))
    assert r.treatment_start == 1980
    assert abs(r.estimate) < 5 and abs(r.estimate) < abs(prop99.estimate) / 3
    assert r.provenance.options["in_time_placebo_of"] == 1989
    assert r.placebo is None


def test_in_time_placebo_refuses_late_special_predictors(prop99):
    with pytest.raises(DesignError, match="not before the treatment start"):
        in_time_placebo(prop99, placebo_start=1980)  # the 1980/1988 lags are not restated
    with pytest.raises(DesignError, match="inside the pre-period"):
        in_time_placebo(prop99, placebo_start=1995)
    with pytest.raises(DesignError, match="inside the pre-period"):
        in_time_placebo(prop99, placebo_start=1970)


def test_placebo_needs_two_donors():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        [{"u": u, "t": t, "y": float(rng.normal())} for u in ("a", "b") for t in range(1, 7)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        r = synthetic_control(
            df,
            outcome="y",
            unit="u",
            time="t",
            treated_unit="a",
            treatment_start=4,
            conformal=False,
        )
    assert r.p_value is None and "skipped" in r.diagnostics["placebo"]
    with pytest.raises(DesignError, match="at least two donors"):
        placebo_gaps(r.problem)


@pytest.mark.slow
def test_placebo_p_value_uniform_under_null():
    """No effect, treated unit drawn at random: the rank of its RMSPE ratio among 20 units is
    (close to) uniform, so P(p ≤ k/20) ≈ k/20 (within 3 binomial SEs over 500 seeds)."""
    ps = []
    for seed in range(500):
        sim = simulate.single_market_launch(
            n_units=20, n_periods=25, start_period=21, seed=seed, lift=0.0
        )
        df = sim.table()
        units = sorted(df["unit"].unique())
        treated = units[np.random.default_rng(seed).integers(len(units))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AttributionWarning)
            r = synthetic_control(
                df,
                outcome="engagement",
                unit="unit",
                time="period",
                treated_unit=treated,
                treatment_start=21,
                special_predictors=[("engagement", [t], "mean") for t in (1, 7, 14, 20)],
                conformal=False,
            )
        ps.append(r.p_value)
    ps = np.asarray(ps)
    for k in (1, 2, 5, 10):
        level = k / 20
        se = np.sqrt(level * (1 - level) / len(ps))
        assert abs(np.mean(ps <= level + 1e-12) - level) < 3 * se + 1e-9
