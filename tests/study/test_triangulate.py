"""Triangulation: estimates of a component across designs, Cochran's Q, pairwise z, forest plot."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from scipy import stats

import attribution as at
from attribution.errors import DesignError
from attribution.results import Check
from attribution.study.diagnostics import classify_check
from attribution.study.runs import DesignRun
from attribution.study.triangulate import component_estimates, disagreement_test, triangulate
from tests.study.hand import hand_result, run

matplotlib.use("Agg")


def _k_runs(values, *, bases=(50.0, 40.0, 80.0), data=("a", "b", "c")):
    """One run per (estimate, SE) of component K, each on its own baseline and data."""
    return [
        run(f"d{i}", hand_result([("ATT", x, s, None)], base=b, data=d), estimates=["K"])
        for i, ((x, s), b, d) in enumerate(zip(values, bases, data, strict=False))
    ]


def _direct_q(x, se):
    x, se = np.asarray(x, float), np.asarray(se, float)
    w = 1 / se**2
    pooled = (w * x).sum() / w.sum()
    q = (w * (x - pooled) ** 2).sum()
    return q, stats.chi2.sf(q, len(x) - 1), max(0.0, (q - (len(x) - 1)) / q)


def test_component_estimates_reads_contribution_rows_or_the_single_headline():
    fact = hand_result(
        [("total", 3.0, 0.5, None), ("contribution(E)", 1.0, 0.2, "E"), ("c(K)", 2.0, 0.3, "K")]
    )
    ests = component_estimates(run("f", fact, estimates=["E", "R", "K"]))
    assert set(ests) == {"E", "K"}  # R is named but not reported
    assert ests["E"].estimate == 1.0 and ests["E"].std_error == 0.2
    assert ests["K"].term == "c(K)"
    single = hand_result([("ATT", 1.5, 0.4, None)])
    assert component_estimates(run("d", single, estimates=["K"]))["K"].estimate == 1.5
    # a design that used another name for the component (its data column)
    renamed = hand_result([("total", 1.0, 0.1, None), ("contribution(k_on)", 0.7, 0.1, "k_on")])
    got = component_estimates(run("r", renamed, estimates=["K"]), columns={"K": "k_on"})
    assert got["K"].estimate == 0.7
    # a regression whose coefficients are named for the components' columns
    coefs = hand_result([("E", 0.4, 0.1, None), ("K", 0.9, 0.2, None)])
    got = component_estimates(run("twfe", coefs, estimates=["E", "K"]))
    assert (got["E"].estimate, got["K"].estimate) == (0.4, 0.9)
    # a run carrying its own component -> column map (study-core's DesignRun.columns)
    dml = hand_result([("exposure_E", 0.3, 0.1, None), ("exposure_K", 0.5, 0.1, None)])
    r = DesignRun(
        id="dml",
        design="dml",
        metric="engagement",
        estimates=("E", "K"),
        result=dml,
        key_assumption="no unobserved confounding",
        columns={"E": "exposure_E", "K": "exposure_K"},
    )
    assert component_estimates(r)["K"].estimate == 0.5


def test_runs_are_read_by_their_fields():
    res = hand_result([("ATT", 1.0, 0.2, None)], base=50.0)
    fields = dict(id="x", design="did.twfe", metric="engagement", estimates=("K",), result=res)
    duck = SimpleNamespace(**fields, key_assumption="parallel trends")
    assert triangulate([duck], metric="engagement", alpha=0.05).table["pct"].iloc[0] == 2.0
    for bad in (
        duck,
        [SimpleNamespace(**fields)],
        [SimpleNamespace(**{**fields, "result": 1.0, "key_assumption": ""})],
        "runs",
    ):
        with pytest.raises(DesignError, match="sequence of DesignRun"):
            triangulate(bad, metric="engagement", alpha=0.05)


def test_q_p_and_i2_match_a_direct_computation_on_the_relative_scale():
    vals = [(1.0, 0.2), (1.6, 0.25), (4.0, 0.6)]  # 2%, 4%, 5% of baselines 50, 40, 80
    tri = triangulate(_k_runs(vals), metric="engagement", alpha=0.05)
    assert tri.scale == "relative"
    pct = np.array([100 * x / b for (x, _), b in zip(vals, (50, 40, 80), strict=True)])
    pse = np.array([100 * s / b for (_, s), b in zip(vals, (50, 40, 80), strict=True)])
    np.testing.assert_allclose(tri.table["pct"], pct)
    np.testing.assert_allclose(tri.table["pct_se"], pse)
    q, p, i2 = _direct_q(pct, pse)
    row = tri.disagreement.iloc[0]
    assert row["n_designs"] == 3 and row["df"] == 2
    np.testing.assert_allclose([row["q"], row["p_value"], row["i2"]], [q, p, i2], rtol=1e-12)
    assert row["flag"] == (p < 0.05)


def test_a_clear_disagreement_flags_and_an_agreement_does_not():
    far = triangulate(_k_runs([(1.0, 0.1), (3.2, 0.1)]), metric="engagement", alpha=0.05)
    assert far.flagged("K") and "disagree" in far.disagreement["text"].iloc[0]
    near = triangulate(_k_runs([(1.0, 0.2), (0.85, 0.2)]), metric="engagement", alpha=0.05)
    assert not near.flagged("K") and "agree" in near.disagreement["text"].iloc[0]
    # the flag follows alpha: the same numbers flag at a looser level only
    _, p, _ = _direct_q([2.0, 2.125], [0.4, 0.5])
    assert p > 0.05  # the 'near' case does not reject at 5%
    assert triangulate(_k_runs([(1.0, 0.2), (0.85, 0.2)]), metric="engagement", alpha=0.9).flagged(
        "K"
    ) == (p < 0.9)


def test_two_designs_pairwise_z_equals_q():
    tri = triangulate(_k_runs([(1.0, 0.2), (1.6, 0.25)]), metric="engagement", alpha=0.05)
    pair = tri.pairs.iloc[0]
    d = 2.0 - 4.0
    se = np.hypot(0.4, 0.625)
    assert pair["design_a"] == "d0" and pair["design_b"] == "d1"
    np.testing.assert_allclose([pair["difference"], pair["std_error"]], [d, se])
    np.testing.assert_allclose(pair["p_value"], 2 * stats.norm.sf(abs(d / se)), rtol=1e-12)
    np.testing.assert_allclose(pair["z"] ** 2, tri.disagreement["q"].iloc[0], rtol=1e-12)
    np.testing.assert_allclose(pair["p_value"], tri.disagreement["p_value"].iloc[0], rtol=1e-10)


def test_absolute_scale_when_a_baseline_is_unknown():
    runs = _k_runs([(1.0, 0.2), (1.6, 0.25)], bases=(50.0, None))
    tri = triangulate(runs, metric="engagement", alpha=0.05)
    assert tri.scale == "absolute"
    assert any("absolute scale: d1 does not know its baseline" in n for n in tri.notes)
    q, _, _ = _direct_q([1.0, 1.6], [0.2, 0.25])
    np.testing.assert_allclose(tri.disagreement["q"].iloc[0], q)
    assert np.isnan(tri.table["pct"].iloc[1]) and tri.table["pct"].iloc[0] == 2.0


def test_same_data_is_noted_as_conservative_and_missing_se_is_not_tested():
    runs = _k_runs([(1.0, 0.2), (1.6, 0.25)], data=("same", "same"))
    tri = triangulate(runs, metric="engagement", alpha=0.05)
    assert bool(tri.disagreement["shared_data"].iloc[0])
    assert "conservative" in tri.disagreement["text"].iloc[0]
    no_se = run("sc", hand_result([("ATT", 1.2, None, None)], base=40.0, data="x"), estimates=["K"])
    tri = triangulate([*runs, no_se], metric="engagement", alpha=0.05)
    assert tri.disagreement["n_designs"].iloc[0] == 2
    assert any("sc gave no standard error for K" in n for n in tri.notes)


def test_diagnostics_verdict_and_classification():
    checks = (
        Check("pre-trend test", False, "p = 0.001"),
        Check("SRM E", True, "ok"),
        Check("effective donors", False, "one donor"),
    )
    r = run("d", hand_result([("ATT", 1.0, 0.2, None)], checks=checks), estimates=["K"])
    tri = triangulate([r], metric="engagement", alpha=0.05)
    assert tri.table["diagnostics"].iloc[0] == "failed: pre_trends, other"
    ok = run("o", hand_result([("ATT", 1.0, 0.2, None)], checks=checks[1:2]), estimates=["K"])
    assert triangulate([ok], metric="engagement", alpha=0.05).table["diagnostics"].iloc[0] == (
        "passed"
    )
    expected = {
        "data contract factorial_experiment v1.1.0": "contract",
        "SRM joint cells": "srm",
        "SRM E": "srm",
        "pre-trend test": "pre_trends",
        "pre-period fit": "pre_trends",
        "in-space placebo": "placebo",
        "conformal sharp null": "placebo",
        "refuter: placebo treatment": "refuters",
        "refuter: unobserved confounder": "refuters",
        "breakdown value": "other",
        "propensity overlap": "other",
        "rollout overlap": "other",
    }
    assert {n: classify_check(n) for n in expected} == expected


def test_real_factorial_contributions_on_the_relative_scale():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = at.simulate.factorial_experiment(4_000, seed=1).table()
        res = at.factorial(df, outcome="engagement", factors=["E", "R", "K"])
    r = run("factorial", res, estimates=["E", "R", "K"], design="factorial")
    tri = triangulate([r], metric="engagement", alpha=0.05)
    tab = res.tidy().set_index("term")
    assert list(tri.table["component"]) == ["E", "R", "K"]
    for c in "ERK":
        row = tri.table[tri.table["component"] == c].iloc[0]
        assert row["estimate"] == tab.loc[f"contribution({c})", "estimate"]
        np.testing.assert_allclose(row["pct"], 100 * row["estimate"] / res.baseline)
    assert tri.table["diagnostics"].iloc[0] == "passed"  # the SRM checks pass


def test_strict_json_plot_and_errors():
    runs = [
        *_k_runs([(1.0, 0.1), (3.2, 0.1)]),
        run("g", hand_result([("ATT", 1.0, 0.1, None)]), estimates=["K"], metric="latency"),
    ]
    tri = triangulate(runs, metric="engagement", alpha=0.05)
    assert len(tri.table) == 2  # the latency run is not on this metric
    text = json.dumps(tri.to_dict(), allow_nan=False)
    assert json.loads(text)["scale"] == "relative"
    cmp = tri.comparison()
    assert list(cmp.tidy()["name"]) == ["K · d0", "K · d1"]
    assert (cmp.tidy()["estimate"] == tri.table["pct"]).all()
    fig = tri.plot()
    ax = fig.axes[0]
    assert len(ax.get_yticks()) == 2 and "disagree on K" in ax.get_title()
    assert ax.get_xlabel() == "% of baseline"
    with pytest.raises(DesignError, match="no design was run on metric 'clicks'"):
        triangulate(runs, metric="clicks", alpha=0.05)
    with pytest.raises(DesignError, match="distinct"):
        triangulate([runs[0], runs[0]], metric="engagement", alpha=0.05)
    with pytest.raises(at.errors.OptionError):
        triangulate(runs, metric="engagement", alpha=1.5)


def test_disagreement_test_single_estimate():
    out = disagreement_test([1.0], [0.1], alpha=0.05)
    assert out["q"] is None and out["flag"] is False and out["pooled"] == 1.0
