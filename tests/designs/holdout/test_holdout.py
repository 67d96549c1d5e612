"""cumulative_impact and holdout_readout on the launch-train scenario (known truth), and their
typed errors on bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.designs.holdout import (
    CumulativeImpactResult,
    HoldoutReadoutResult,
    cumulative_impact,
    holdout_readout,
)
from attribution.errors import AttributionWarning
from attribution.simulate import launch_train

READOUT = {
    "arm": "arm",
    "unit": "user_id",
    "metric": "engagement",
    "surface": "surface",
    "time": "week",
}


@pytest.fixture(scope="module")
def sim():
    return launch_train(40_000, holdout_share=0.1, n_weeks=6, seed=0)


@pytest.fixture(scope="module")
def readout(sim):
    return holdout_readout(sim.table("launch_train"), **READOUT, covariate="pre_engagement")


@pytest.fixture(scope="module")
def launches(sim):
    return sim.table("launches")


def test_holdout_readout_recovers_the_cumulative_truth(sim, readout):
    """Seed 0: every surface × week interval (and overall) covers the exact holdout effect; the
    last week's overall effect (0.567 true; 0.571 estimated, SE 0.107) is clearly above zero."""
    truth = sim.truth.details["cumulative"].rename(columns={"week": "time"})
    tab = readout.tidy().merge(truth, on=["surface", "time"], validate="one_to_one")
    assert len(tab) == 6 * 4
    covered = (tab["conf_low"] <= tab["effect"]) & (tab["effect"] <= tab["conf_high"])
    assert covered.all()
    h = readout.headline
    assert h.term == "effect(t=6)"
    assert h.conf_low <= sim.truth.total <= h.conf_high
    assert h.conf_low > 0
    assert isinstance(readout, HoldoutReadoutResult)
    assert readout.sample_size == 40_000


def test_cuped_narrows_the_readout(sim, readout):
    plain = holdout_readout(sim.table("launch_train"), **READOUT)
    ratio = readout.tidy()["std_error"] / plain.tidy()["std_error"]
    assert (ratio < 0.8).all()
    # without a covariate the means are the raw arm means
    rows = sim.table("launch_train")
    last = rows[(rows["week"] == 6) & (rows["surface"] == "home")]
    means = last.groupby("arm")["engagement"].mean()
    row = plain.tidy().query("surface == 'home' and time == 6").iloc[0]
    assert row["estimate"] == pytest.approx(means["treatment"] - means["holdout"], rel=1e-10)
    assert row["holdout_mean"] == pytest.approx(means["holdout"], rel=1e-12)


def test_readout_on_an_engine_equals_pandas(sim, readout):
    con = at.connect()
    con.create_table("rows", sim.table("launch_train"))
    got = holdout_readout(con.table("rows"), **READOUT, covariate="pre_engagement")
    np.testing.assert_allclose(
        got.tidy()["estimate"], readout.tidy()["estimate"], rtol=1e-10, atol=1e-12
    )


def test_cumulative_impact_against_the_truth(sim, launches, readout):
    """Seed 0: naive 0.680 overshoots the true 0.567; the corrected sum (0.579) and the holdout
    (0.571) are close to it; the holdout agrees with the corrected sum."""
    res = cumulative_impact(launches, shipped="shipped", surface="surface", holdout=readout)
    assert isinstance(res, CumulativeImpactResult)
    truth = sim.truth.details["shipped_total"]
    naive = res.estimate_of("naive")
    assert naive.estimate == pytest.approx(sim.truth.details["naive_total"], rel=1e-12)
    assert naive.estimate > truth
    head = res.headline
    assert head.term == "winners_curse"
    assert head.conf_low <= truth <= head.conf_high
    assert abs(head.estimate - truth) < abs(naive.estimate - truth)
    shrunk = res.estimate_of("shrinkage")
    assert shrunk.conf_low <= truth <= shrunk.conf_high
    checks = {c.name: c for c in res.checks}
    assert checks["holdout agrees with winners_curse"].passed is True
    assert checks["selection rule"].passed is True
    assert checks["unshipped launches included"].passed is True
    # per-surface rows add up to the overall row
    tab = res.tidy()
    for term in ("naive", "winners_curse", "shrinkage"):
        part = tab[(tab["term"] == term) & (tab["surface"] != "overall")]["estimate"].sum()
        whole = tab[(tab["term"] == term) & (tab["surface"] == "overall")]["estimate"].iloc[0]
        assert part == pytest.approx(whole, rel=1e-12)
    # the readout's last week per surface sits beside the per-surface sums
    held = tab[tab["term"] == "holdout"].set_index("surface")["estimate"]
    last = readout.tidy().query("time == 6").set_index("surface")["estimate"]
    assert set(held.index) == {"overall", "home", "search", "related"}
    for s in held.index:
        assert held[s] == pytest.approx(last[s], rel=1e-12)
    json.dumps(res.to_dict(), allow_nan=False)


def test_sample_ratio_check(sim):
    planned = holdout_readout(sim.table("launch_train"), **READOUT, holdout_share=0.1)
    srm = {c.name: c for c in planned.checks}["SRM"]
    assert srm.passed is True and srm.df == 1
    with pytest.warns(AttributionWarning, match="sample-ratio"):
        wrong = holdout_readout(sim.table("launch_train"), **READOUT, holdout_share=0.2)
    assert {c.name: c for c in wrong.checks}["SRM"].passed is False
    # without a planned share: the counts as information, no test against an equal split
    names = [c.name for c in holdout_readout(sim.table("launch_train"), **READOUT).checks]
    assert "arms" in names and "SRM" not in names


def test_launches_in_an_engine(sim):
    con = at.connect()
    on_engine = launch_train(200, n_weeks=6, holdout_share=0.1, seed=0, con=con)
    a = cumulative_impact(on_engine.table("launches"), shipped="shipped", surface="surface")
    b = cumulative_impact(sim.table("launches"), shipped="shipped", surface="surface")
    pd.testing.assert_frame_equal(a.tidy(), b.tidy())


def test_method_shrinkage_and_rule_default(launches):
    by_rule = cumulative_impact(launches, method="shrinkage")
    given = cumulative_impact(launches, shipped="shipped", method="shrinkage")
    assert by_rule.headline.term == "shrinkage"
    assert by_rule.headline.estimate == pytest.approx(given.headline.estimate, rel=1e-12)
    # one prior for all launches when no surface is given: the shrunk sum differs
    per_surface = cumulative_impact(launches, surface="surface", method="shrinkage")
    assert per_surface.headline.estimate != pytest.approx(by_rule.headline.estimate)


def test_the_correction_by_hand(launches):
    """Corrected = Σ_shipped X − Σ_all σ φ(b − X/σ) with b = z_0.975."""
    from scipy import stats

    x, se = launches["estimate"].to_numpy(), launches["std_error"].to_numpy()
    b = stats.norm.ppf(0.975)
    want = x[x / se > b].sum() - np.sum(se * stats.norm.pdf(b - x / se))
    res = cumulative_impact(launches)
    assert res.headline.estimate == pytest.approx(want, rel=1e-12)
    stricter = cumulative_impact(launches, threshold=3.0)
    assert stricter.threshold == 3.0
    assert stricter.estimate_of("naive").estimate <= res.estimate_of("naive").estimate


def test_a_sequence_of_results(readout):
    """Results enter through their headlines (here: two readouts as if they were launch tests)."""
    res = cumulative_impact([readout, readout], holdout=(0.5, 0.1))
    assert len(res.launches) == 2
    assert res.launches["estimate"].tolist() == [readout.headline.estimate] * 2
    assert res.estimate_of("holdout").estimate == 0.5


def test_only_winners_given_is_flagged(launches):
    winners = launches[launches["shipped"]]
    res = cumulative_impact(winners, shipped="shipped")
    check = {c.name: c for c in res.checks}["unshipped launches included"]
    assert check.passed is False and "every tested launch" in check.detail


def test_a_ship_decision_against_the_rule_is_flagged(launches):
    odd = launches.copy()
    odd.loc[odd.index[0], "shipped"] = not bool(odd["shipped"].iloc[0])
    check = {c.name: c for c in cumulative_impact(odd, shipped="shipped").checks}
    assert check["selection rule"].passed is False


def test_plots(launches, readout):
    from matplotlib.figure import Figure

    res = cumulative_impact(launches, surface="surface", holdout=readout)
    assert isinstance(res.plot(kind="launches"), Figure)
    assert isinstance(readout.plot(), Figure)


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f: f.assign(std_error=-f["std_error"]), "std_error"),
        (lambda f: f.assign(std_error=0.0), "std_error"),
        (lambda f: f.assign(std_error=np.nan), "std_error"),
        (lambda f: f.assign(estimate=np.where(f.index == 2, np.nan, f["estimate"])), "estimate"),
        (lambda f: f.iloc[0:0], "no rows"),
        (lambda f: f.drop(columns="std_error"), "std_error"),
        (lambda f: f.drop(columns="launch"), "launch"),
        (lambda f: f.assign(launch="L1"), "more than once"),
        (lambda f: f.assign(shipped=2), "shipped"),
        (lambda f: f.assign(estimate=f["estimate"].astype(str)), "estimate"),
    ],
)
def test_bad_launch_tables_are_typed_errors(launches, change, match):
    frame = change(launches.copy())
    with pytest.raises(at.DataError, match=match):
        cumulative_impact(frame, shipped="shipped")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"holdout": (1.0, 0.0)}, at.OptionError),
        ({"holdout": (1.0, -1.0)}, at.OptionError),
        ({"holdout": "0.5"}, at.OptionError),
        ({"method": "bayes"}, at.OptionError),
        ({"threshold": "2"}, at.OptionError),
        ({"estimate": "std_error"}, at.OptionError),
        ({"alpha": 1.5}, at.OptionError),
    ],
)
def test_bad_options_are_typed_errors(launches, kwargs, error):
    with pytest.raises(error):
        cumulative_impact(launches, **kwargs)


def test_bad_launch_containers(launches):
    with pytest.raises(at.DataError, match="no launches"):
        cumulative_impact([])
    with pytest.raises(at.DataError):
        cumulative_impact([1.0, 2.0])
    with pytest.raises(at.DataError):
        cumulative_impact(42)


@pytest.fixture(scope="module")
def small():
    return launch_train(400, n_weeks=3, holdout_share=0.3, seed=2).table("launch_train")


def test_readout_bad_input(small):
    two_arms = small.copy()
    two_arms.loc[two_arms.index[1], "arm"] = (
        "holdout" if small["arm"].iloc[1] != "holdout" else "treatment"
    )
    with pytest.raises(at.DesignError, match="more than one arm"):
        holdout_readout(two_arms, **READOUT)
    with pytest.raises(at.DesignError, match="no row"):
        holdout_readout(small, **READOUT, holdout="control")
    three = small.assign(arm=np.where(small["user_id"] % 3 == 0, "other", small["arm"]))
    with pytest.raises(at.DesignError, match="3 value"):
        holdout_readout(three, **READOUT)
    with pytest.raises(at.DataError, match="nope"):
        holdout_readout(small, **{**READOUT, "metric": "nope"})
    with pytest.raises(at.DesignError, match="engagement"):
        holdout_readout(small.assign(engagement=np.nan), **READOUT)
    with pytest.raises(at.EstimationError, match="engagement"):
        holdout_readout(small.assign(engagement=1.0), **READOUT)
    with pytest.raises(at.OptionError):
        holdout_readout(small, **{**READOUT, "time": "arm"})
    only = small[~((small["surface"] == "home") & (small["arm"] == "holdout"))]
    with (
        pytest.warns(AttributionWarning, match="no units in the control arm"),
        pytest.raises(at.DesignError, match="one arm only"),
    ):
        holdout_readout(only, **READOUT)


@pytest.mark.slow
def test_readout_coverage_over_seeds():
    """200 seeds × 16 surface-week cells (10,000 users, 20% held out, 4 weeks, CUPED): the 95%
    intervals cover the exact holdout effect in 94.5% of the 3,200 cells; the z-scores have mean
    0.03 and SD 1.03 (about 6 minutes on a shared machine)."""
    z = []
    for seed in range(200):
        sim = launch_train(10_000, n_weeks=4, holdout_share=0.2, seed=seed)
        truth = sim.truth.details["cumulative"].rename(columns={"week": "time"})
        res = holdout_readout(sim.table("launch_train"), **READOUT, covariate="pre_engagement")
        tab = res.tidy().merge(truth, on=["surface", "time"], validate="one_to_one")
        z += list((tab["estimate"] - tab["effect"]) / tab["std_error"])
    z = np.array(z)
    covered = float(np.mean(np.abs(z) <= 1.959964))
    assert 0.93 <= covered <= 0.97
    assert abs(z.mean()) < 0.1 and 0.9 < z.std() < 1.1
