"""SRM checks, clustering on repeated units, result surfaces (tables, dict, text, HTML) and plots."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

import attribution as at
from attribution.designs.factorial import FactorialResult
from attribution.errors import AttributionWarning
from tests.designs.factorial.helpers import FACTORS, effect_rows, experiment, saturated_ols

F = list(FACTORS)


def _skewed(seed: int = 0, n: int = 4000, p_e: float = 0.6) -> pd.DataFrame:
    frame = experiment(n, seed=seed)
    rng = np.random.default_rng(seed + 100)
    return frame.assign(E=(rng.random(n) < p_e).astype("int8"))


def test_srm_flags_a_broken_allocation() -> None:
    frame = _skewed()
    with pytest.warns(AttributionWarning, match=r"sample-ratio mismatch.*E \(observed 0\.59"):
        res = at.factorial(frame, outcome="engagement", factors=F)
    srm = res.srm.set_index("factor")
    assert list(srm.columns[:4]) == ["expected_share", "observed_share", "n", "chi2"]
    n1 = int(frame.E.sum())
    ref = stats.chisquare([n1, len(frame) - n1], [len(frame) / 2] * 2)
    assert srm.loc["E", "chi2"] == pytest.approx(ref.statistic, rel=1e-12)
    assert srm.loc["E", "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert srm.loc["E", "observed_share"] == pytest.approx(n1 / len(frame))
    assert srm.loc["R", "p_value"] > 0.001
    # joint test of the 8 cells against independent 0.5 / 0.5 / 0.5 assignment
    counts = frame.groupby(F).size().to_numpy()
    joint = stats.chisquare(counts, np.full(8, len(frame) / 8))
    assert srm.loc["joint (cells)", "chi2"] == pytest.approx(joint.statistic, rel=1e-12)
    assert srm.loc["joint (cells)", "df"] == 7
    assert "sample-ratio mismatch" in res.summary()


def test_srm_respects_the_declared_allocation() -> None:
    frame = _skewed()
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttributionWarning)
        res = at.factorial(frame, outcome="engagement", factors=F, allocation={"E": 0.6})
    srm = res.srm.set_index("factor")
    assert srm.loc["E", "expected_share"] == 0.6
    share = np.array([0.4, 0.6])
    cell_share = np.array([share[c & 1] * 0.25 for c in range(8)])
    counts = frame.groupby(["K", "R", "E"]).size().to_numpy()  # bitmask order: E fastest
    joint = stats.chisquare(counts, cell_share * len(frame))
    assert srm.loc["joint (cells)", "chi2"] == pytest.approx(joint.statistic, rel=1e-12)


def test_repeated_units_are_clustered_and_counted_once() -> None:
    users = experiment(120, seed=9)
    rng = np.random.default_rng(1)
    long = pd.concat([users, users.assign(engagement=users.engagement + rng.normal(0, 1, 120))])
    res = at.factorial(long, outcome="engagement", factors=F, unit="user_id")
    assert res.vcov_type == "CR1" and res.cluster == "user_id" and res.n_clusters == 120
    assert any("clustered on 'user_id'" in n for n in res.notes)
    fit, _ = saturated_ols(long, outcome="engagement", factors=F, cov_type="CR1", cluster="user_id")
    from attribution.designs.factorial.aliasing import contrast_matrix, standard_terms

    lmat = contrast_matrix(standard_terms(3), sorted(range(8)))
    np.testing.assert_allclose(
        effect_rows(res)["std_error"], np.ravel(fit.t_test(lmat).sd), rtol=1e-6
    )
    assert res.srm.attrs["counted"] == "units"
    assert res.srm["n"].iloc[0] == 120
    # an explicit cluster wins over the unit
    res2 = at.factorial(long, outcome="engagement", factors=F, unit="user_id", cluster="market")
    assert res2.cluster == "market"


def test_unit_with_one_row_each_keeps_hc2() -> None:
    res = at.factorial(experiment(200, seed=1), outcome="engagement", factors=F, unit="user_id")
    assert res.vcov_type == "HC2" and res.cluster is None


def test_result_surfaces() -> None:
    res = at.factorial(
        experiment(400, seed=2), outcome="engagement", factors=F, covariate="pre_engagement"
    )
    assert isinstance(res, FactorialResult)
    tidy = res.tidy()
    assert list(tidy.columns) == [
        "term",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "p_value",
        "component",
        "metric",
    ]
    assert (tidy["metric"] == "engagement").all()
    assert list(effect_rows(res)["term"]) == ["E", "R", "K", "E:R", "E:K", "R:K", "E:R:K"]
    assert list(res.shapley.columns) == [
        "component",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "p_value",
    ]
    cells = res.cell_means
    assert list(cells.columns) == ["cell", "E", "R", "K", "n", "mean", "adjusted_mean", "std_error"]
    assert cells["cell"].iloc[5] == "E=1,R=0,K=1"
    # copies: changing them does not change the result
    cells.loc[0, "n"] = -1
    tidy.loc[0, "estimate"] = 99.0
    assert res.cell_means.loc[0, "n"] > 0 and res.tidy().loc[0, "estimate"] != 99.0
    d = json.loads(json.dumps(res.to_dict()))
    assert d["design_info"]["kind"] == "full"
    assert d["total"] == pytest.approx(res.total)
    assert len(d["shapley"]) == 3 and len(d["vcov"]) == 7
    assert d["provenance"]["data"]["n_rows"] == 400
    assert d["provenance"]["options"]["covariate"] == "pre_engagement"
    text = res.summary()
    assert "Shapley split" in text and "CUPED on 'pre_engagement'" in text
    assert "<table" in res._repr_html_()
    assert res.design_info.to_text() == "full 2^3 factorial (8 cells)"


def test_cuped_shrinks_standard_errors() -> None:
    frame = experiment(2000, seed=4)
    plain = at.factorial(frame, outcome="engagement", factors=F)
    cuped = at.factorial(frame, outcome="engagement", factors=F, covariate="pre_engagement")
    assert (effect_rows(cuped)["std_error"] < 0.8 * effect_rows(plain)["std_error"]).all()
    raw = cuped.cell_means
    assert not np.allclose(raw["mean"], raw["adjusted_mean"])


def test_plots_return_figures() -> None:
    res = at.factorial(experiment(400, seed=3), outcome="engagement", factors=F)
    fig = res.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["all off", "E", "R", "K", "all on"]
    fig2 = res.plot_interaction("E", "K")
    assert isinstance(fig2, Figure)
    lines = fig2.axes[0].get_lines()
    assert len(lines) >= 2
    means = res.interaction_means("E", "K")
    cells = res.cell_means
    expected = cells[(cells.E == 1) & (cells.K == 0)]["adjusted_mean"].mean()
    assert means.query("E == 1 and K == 0")["estimate"].item() == pytest.approx(expected)
    # the interaction effect is the difference of differences of these means (BHH / 2 convention)
    m = means.set_index(["E", "K"])["estimate"]
    did = (m[(1, 1)] - m[(0, 1)]) - (m[(1, 0)] - m[(0, 0)])
    assert res.tidy().set_index("term").loc["E:K", "estimate"] == pytest.approx(did / 2)


def test_fraction_plot_falls_back_to_coefficients() -> None:
    def frac(rule):
        return pd.DataFrame(
            [
                {"A": a, "B": b, "C": rule(a, b, c), "y": float(a + b + c + r)}
                for a in (0, 1)
                for b in (0, 1)
                for c in (0, 1)
                for r in (0.0, 0.5, 1.3)
            ]
        ).drop_duplicates(["A", "B", "C", "y"])

    res = at.factorial(frac(lambda a, b, c: int(a == b)), outcome="y", factors=["A", "B", "C"])
    assert res.design_info.defining_relation == "I = A:B:C"
    assert isinstance(res.plot(), Figure)
    assert isinstance(res.plot_interaction("A", "B"), Figure)
    # resolution II (I = A:B): A and B never differ, so A × B is aliased with the mean
    half = frac(lambda a, b, c: c)
    half = half[half.A == half.B]
    res2 = at.factorial(half, outcome="y", factors=["A", "B", "C"])
    assert res2.design_info.defining_relation == "I = A:B" and res2.design_info.resolution == 2
    with pytest.raises(at.DesignError, match="aliased with the mean"):
        res2.plot_interaction("A", "B")


def test_units_fractions_and_srm_inside_duckdb(duckdb_backend) -> None:
    """The unit check, unit clustering and fraction detection run in the engine, not in pandas."""
    from tests.conftest import put

    users = experiment(90, seed=12)
    long = pd.concat([users, users.assign(engagement=users.engagement * 1.1)], ignore_index=True)
    table = put(duckdb_backend, long)
    res = at.factorial(table, outcome="engagement", factors=F, unit="user_id")
    ref = at.factorial(long, outcome="engagement", factors=F, unit="user_id")
    pd.testing.assert_frame_equal(res.tidy(), ref.tidy(), check_exact=False, rtol=1e-12)
    assert res.n_clusters == 90 and res.srm["n"].iloc[0] == 90
    mixed = long.copy()
    mixed.loc[0, "K"] = 1 - mixed.loc[0, "K"]
    with pytest.raises(at.DesignError, match="more than one arm"):
        at.factorial(put(duckdb_backend, mixed), outcome="engagement", factors=F, unit="user_id")
    half = long[(long.E + long.R + long.K) % 2 == 1]  # I = E:R:K
    frac = at.factorial(put(duckdb_backend, half), outcome="engagement", factors=F, unit="user_id")
    assert frac.design_info.defining_relation == "I = E:R:K"
    assert list(effect_rows(frac)["aliases"]) == ["E = R:K", "R = E:K", "K = E:R"]


def test_contract_headline_contributions_and_checks() -> None:
    """The Result contract: headline `total`, contribution rows that add up to it, SRM checks."""
    res = at.factorial(
        experiment(400, seed=2), outcome="engagement", factors=F, covariate="pre_engagement"
    )
    h = res.headline
    assert h.term == "total" and h.label == (
        "effect of E, R and K together on engagement (all on − all off)"
    )
    assert h.estimate == pytest.approx(res.total, abs=1e-12)
    assert h.std_error == pytest.approx(res.total_std_error, rel=1e-12)
    shap = res.shapley
    crit = (shap["conf_high"] - shap["estimate"]) / shap["std_error"]  # same t reference
    assert h.conf_high - h.estimate == pytest.approx(crit.iloc[0] * h.std_error, rel=1e-9)
    assert h.estimate - h.conf_low == pytest.approx(crit.iloc[0] * h.std_error, rel=1e-9)
    assert 0.0 <= h.p_value <= 1.0
    tidy = res.tidy()
    contrib = tidy[tidy["component"].notna()]
    assert list(contrib["term"]) == ["contribution(E)", "contribution(R)", "contribution(K)"]
    assert list(contrib["component"]) == F
    cols = ["estimate", "std_error", "conf_low", "conf_high", "p_value"]
    np.testing.assert_array_equal(contrib[cols].to_numpy(), shap[cols].to_numpy())
    assert contrib["estimate"].sum() == pytest.approx(h.estimate, abs=1e-12)
    assert list(tidy["term"]).count("total") == 1
    pd.testing.assert_frame_equal(res.effects, effect_rows(res).drop(columns="component"))
    # baseline, description, sample size
    assert res.baseline == res.cell_means["adjusted_mean"].iloc[0]
    assert "2^3 factorial" in res.description and "Shapley" in res.description
    assert res.sample_size == 400
    # checks: one per factor and the joint cells, the numbers of `srm`
    assert [c.name for c in res.checks] == ["SRM E", "SRM R", "SRM K", "SRM joint cells"]
    srm = res.srm
    for c, row in zip(res.checks, srm.itertuples(), strict=True):
        assert (c.statistic, c.df, c.p_value) == (row.chi2, row.df, row.p_value)
        assert c.passed is (row.p_value >= 0.001)
    with pytest.warns(AttributionWarning):
        skewed = at.factorial(_skewed(), outcome="engagement", factors=F)
    failed = [c for c in skewed.checks if c.passed is False]
    assert failed[0].name == "SRM E" and "sample-ratio mismatch" in failed[0].detail.lower()
    # plot kinds
    assert type(res).PLOT_KINDS == ("waterfall", "effects")
    ticks = [t.get_text() for t in res.plot(kind="effects").axes[0].get_yticklabels()]
    assert ticks == ["E", "R", "K", "E:R", "E:K", "R:K", "E:R:K"]


def test_units_are_the_sample_size() -> None:
    users = experiment(120, seed=9)
    long = pd.concat([users, users], ignore_index=True)
    res = at.factorial(long, outcome="engagement", factors=F, unit="user_id")
    assert res.sample_size == 120 and res.n_obs == 240
    assert "120 units" in res.description


def test_fraction_headline_is_the_sum_of_main_effects() -> None:
    frame = experiment(800, seed=6)
    half = frame[(frame.E + frame.R + frame.K) % 2 == 1]  # I = E:R:K, all-off cell absent
    res = at.factorial(half, outcome="engagement", factors=F)
    h = res.headline
    assert h.term == "total" and "do not interact" in h.label
    eff = effect_rows(res).set_index("term")
    assert h.estimate == pytest.approx(eff.loc[F, "estimate"].sum(), abs=1e-12)
    v = res.vcov.loc[F, F].to_numpy()
    assert h.std_error == pytest.approx(np.sqrt(v.sum()), rel=1e-12)
    assert res.tidy()["component"].isna().all()  # no Shapley split of a fraction
    assert res.baseline is None
    assert "fraction" in res.description
    fig = res.plot()  # waterfall falls back to the coefficient plot
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["E", "R", "K"]
