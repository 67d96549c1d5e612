"""Mechanism attribution of a metric shift: a simulated change of known origin is named, with an
interval, the contributions add up to the headline, and the seed fixes the answer."""

# ruff: noqa: NPY002  (the test checks the legacy global RNG is left alone)
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.graph import CausalGraph, mechanism_shift

GRAPH = CausalGraph(
    nodes=("activity", "R", "K", "engagement"),
    edges=(
        ("activity", "R"),
        ("R", "K"),
        ("activity", "K"),
        ("K", "engagement"),
        ("activity", "engagement"),
    ),
    roles={"activity": "confounder", "R": "component", "K": "component", "engagement": "outcome"},
)


def pipeline(n: int, *, retrieval_shift: float = 0.0, seed: int) -> pd.DataFrame:
    """A new retrieval model adds `retrieval_shift` to R; the rest of the system is unchanged.
    The true shift in mean engagement is retrieval_shift × 0.5 (R → K) × 1.0 (K → engagement)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    r = 0.6 * a + retrieval_shift + rng.standard_normal(n)
    k = 0.5 * r + 0.3 * a + rng.standard_normal(n)
    y = k + 0.5 * a + rng.standard_normal(n)
    return pd.DataFrame({"activity": a, "R": r, "K": k, "engagement": y, "other": 1.0})


@pytest.fixture(scope="module")
def shift():
    before = pipeline(600, seed=1)
    after = pipeline(600, retrieval_shift=1.0, seed=2)
    return (
        before,
        after,
        mechanism_shift(
            before, after, graph=GRAPH, target="engagement", n_boot=8, num_samples=300, seed=4
        ),
    )


def test_names_the_component_that_changed_with_an_interval(shift):
    _, _, res = shift
    tab = res.tidy().set_index("component")
    r = tab.loc["R"]
    assert r["conf_low"] > 0.2 and r["conf_low"] <= 0.5 <= r["conf_high"]
    for node in ("activity", "K"):
        assert (
            tab.loc[node, "conf_low"] <= 0 <= tab.loc[node, "conf_high"]
            or abs(tab.loc[node, "estimate"]) < 0.15
        )
    assert res.contributions.abs().idxmax() == "R"
    assert "R" in res.checks[0].detail


def test_contributions_add_up_to_the_headline(shift):
    before, after, res = shift
    tab = res.tidy()
    parts = tab.loc[tab["component"].notna(), "estimate"].sum()
    assert parts == pytest.approx(res.headline.estimate, rel=1e-9)
    assert res.headline.term == "total" and res.headline.conf_low < res.headline.estimate
    assert res.observed_shift == pytest.approx(
        after["engagement"].mean() - before["engagement"].mean()
    )
    assert res.checks[1].passed  # the linear graph reproduces the observed shift
    assert len(res.draws) == 8 and list(res.draws.columns) == list(GRAPH.nodes)


def test_seeded_and_leaves_global_random_state_alone(shift):
    before, after, res = shift
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    again = mechanism_shift(
        before, after, graph=GRAPH, target="engagement", n_boot=8, num_samples=300, seed=4
    )
    assert np.random.random() == expected
    pd.testing.assert_frame_equal(again.tidy(), res.tidy())


def test_bad_input_is_typed():
    before, after = pipeline(50, seed=1), pipeline(50, seed=2)
    kw = dict(graph=GRAPH, target="engagement", n_boot=2, num_samples=100)
    with pytest.raises(at.DataError, match="K"):
        mechanism_shift(before.drop(columns="K"), after, **kw)
    with pytest.raises(at.DataError, match="not numeric"):
        mechanism_shift(before.assign(K="x"), after, **kw)
    with pytest.raises(at.DataError, match="missing"):
        mechanism_shift(
            before.assign(K=np.where(before.index == 0, np.nan, before["K"])), after, **kw
        )
    with pytest.raises(at.DesignError, match="unobserved"):
        mechanism_shift(before, after, **{**kw, "graph": GRAPH.unobserved("activity")})
    with pytest.raises(at.DesignError, match="no causes"):
        mechanism_shift(before, after, **{**kw, "target": "activity"})
    with pytest.raises(at.DesignError, match="not in the causal graph"):
        mechanism_shift(before, after, **{**kw, "target": "other"})
    with pytest.raises(at.OptionError, match="n_boot"):
        mechanism_shift(before, after, **{**kw, "n_boot": 1})
    with pytest.raises(at.OptionError, match="graph"):
        mechanism_shift(before, after, **{**kw, "graph": {"R": "K"}})


@pytest.mark.slow
def test_interval_covers_the_known_origin_over_seeds():
    """Over 12 simulated launches the R interval covers the true 0.5 and excludes zero in most."""
    covered = named = 0
    for s in range(12):
        res = mechanism_shift(
            pipeline(600, seed=100 + s),
            pipeline(600, retrieval_shift=1.0, seed=200 + s),
            graph=GRAPH,
            target="engagement",
            n_boot=20,
            num_samples=500,
            seed=s,
        )
        r = res.tidy().set_index("component").loc["R"]
        covered += r["conf_low"] <= 0.5 <= r["conf_high"]
        named += r["conf_low"] > 0
    assert covered >= 9 and named == 12
