"""`factorial(outcome=<metric>)`: a `Mean` is the column-name call, a `Proportion` checks its 0/1
values, and a `Ratio` gives each cell's ratio of sums with delta-method standard errors (checked
against a direct unit-level numpy computation and statsmodels on the linearised values), the exact
Shapley split, and honest coverage on heavy-tailed simulated data with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.errors import AttributionWarning, DataError, DesignError, OptionError
from attribution.metrics import Mean, Proportion, Ratio
from tests.designs.factorial.helpers import (
    FACTORS,
    clicks,
    effect_rows,
    experiment,
    saturated_ols,
)

F = list(FACTORS)


def delta_cells(users: pd.DataFrame, factors, num="clicks", den="impressions") -> pd.DataFrame:
    """Direct unit-level delta method: ratio and SE per cell (sample variance, n - 1)."""
    rows = []
    for levels, g in users.groupby(list(factors)):
        n_ = g[num].to_numpy(float)
        d_ = g[den].to_numpy(float)
        r = n_.sum() / d_.sum()
        lin = (n_ - r * d_) / d_.mean()
        se = np.sqrt(
            (np.var(n_, ddof=1) - 2 * r * np.cov(n_, d_)[0, 1] + r * r * np.var(d_, ddof=1))
            / d_.mean() ** 2
            / len(g)
        )
        assert se == pytest.approx(np.sqrt(lin.var(ddof=1) / len(g)), rel=1e-10)
        cell = sum(int(v) << j for j, v in enumerate(np.atleast_1d(levels)))
        rows.append({"cell": cell, "ratio": r, "se": se, "n": len(g)})
    return pd.DataFrame(rows).set_index("cell").sort_index()


# -- Mean and Proportion ----------------------------------------------------------------------------
@pytest.mark.parametrize("covariate", [None, "pre_engagement"])
@pytest.mark.parametrize("kw", [{}, {"vcov": "HC3"}, {"cluster": "market"}, {"vcov": "iid"}])
def test_mean_metric_is_the_column_name_call(covariate, kw) -> None:
    frame = experiment(300, seed=4)
    ref = at.factorial(frame, outcome="engagement", factors=F, covariate=covariate, **kw)
    by_kw = at.factorial(frame, outcome=Mean("engagement"), factors=F, covariate=covariate, **kw)
    own = at.factorial(frame, outcome=Mean("engagement", covariate=covariate), factors=F, **kw)
    for res in (by_kw, own):
        pd.testing.assert_frame_equal(res.tidy(), ref.tidy(), rtol=1e-12, atol=0)
        pd.testing.assert_frame_equal(res.cell_means, ref.cell_means, rtol=1e-12, atol=0)
        assert res.headline == ref.headline
        assert res.to_dict()["provenance"]["options"] == ref.to_dict()["provenance"]["options"]


def test_named_mean_labels_the_result() -> None:
    res = at.factorial(
        experiment(200, seed=1), outcome=Mean("engagement", name="engaged minutes"), factors=F
    )
    assert (res.tidy()["metric"] == "engaged minutes").all()
    assert "on engaged minutes" in res.headline.label


def test_covariate_given_twice_is_refused() -> None:
    with pytest.raises(OptionError, match="give the covariate once"):
        at.factorial(
            experiment(100),
            outcome=Mean("engagement", covariate="pre_engagement"),
            factors=F,
            covariate="pre_engagement",
        )


@pytest.mark.parametrize("bad", [3, object(), "", Ratio])
def test_outcome_neither_column_nor_metric(bad) -> None:
    with pytest.raises(OptionError):
        at.factorial(experiment(100), outcome=bad, factors=F)


def test_proportion_is_the_mean_of_a_binary_column() -> None:
    frame = experiment(400, seed=3)
    frame["converted"] = (frame["engagement"] > 7).astype("int64")
    ref = at.factorial(frame, outcome="converted", factors=F)
    res = at.factorial(frame, outcome=Proportion("converted"), factors=F)
    pd.testing.assert_frame_equal(res.tidy(), ref.tidy(), rtol=1e-12, atol=0)
    assert res.metric_kind == "proportion"
    # booleans are 0/1 too
    res_b = at.factorial(
        frame.assign(converted=frame["converted"] == 1), outcome=Proportion("converted"), factors=F
    )
    np.testing.assert_allclose(res_b.tidy()["estimate"], ref.tidy()["estimate"], rtol=1e-12)


def test_proportion_refuses_other_values_naming_one() -> None:
    frame = experiment(200, seed=3)
    frame["converted"] = (frame["engagement"] > 7).astype("float64")
    frame.loc[17, "converted"] = 0.5
    with pytest.raises(DataError, match=r"Proportion\('converted'\).*1 row.*e\.g\. 0\.5") as err:
        at.factorial(frame, outcome=Proportion("converted"), factors=F)
    assert err.value.columns == ("converted",)


# -- Ratio: the numbers ----------------------------------------------------------------------------
def test_ratio_cells_equal_a_direct_delta_method() -> None:
    users, _ = clicks(2_000, seed=1, factors=("E", "R", "K"))
    res = at.factorial(users, outcome=Ratio("clicks", "impressions"), factors=F)
    ref = delta_cells(users, F)
    cells = res.cell_means
    np.testing.assert_allclose(cells["mean"], ref["ratio"], rtol=1e-12)
    np.testing.assert_allclose(cells["adjusted_mean"], ref["ratio"], rtol=1e-12)
    np.testing.assert_allclose(cells["std_error"], ref["se"], rtol=1e-9)
    assert list(cells["n"]) == list(ref["n"])
    # the total and its SE: independent cells
    tidy = res.tidy().set_index("term")
    assert tidy.loc["total", "estimate"] == pytest.approx(
        ref["ratio"][7] - ref["ratio"][0], rel=1e-12
    )
    se = np.hypot(ref["se"][7], ref["se"][0])
    assert tidy.loc["total", "std_error"] == pytest.approx(se, rel=1e-9)
    # every effect: a contrast of independent cells
    from attribution.designs.factorial.aliasing import contrast_matrix, standard_terms

    lmat = contrast_matrix(standard_terms(3), list(range(8)))
    eff = effect_rows(res)
    np.testing.assert_allclose(
        eff["estimate"], lmat @ ref["ratio"].to_numpy(), rtol=1e-9, atol=1e-15
    )
    np.testing.assert_allclose(
        eff["std_error"], np.sqrt((lmat**2) @ ref["se"].to_numpy() ** 2), rtol=1e-9
    )
    assert res.metric_kind == "ratio" and res.vcov_type == "HC2"
    assert (res.tidy()["metric"] == "clicks/impressions").all()
    assert res.headline.label == (
        "effect of E, R and K together on clicks/impressions (all on − all off)"
    )
    assert "delta-method" in res.description


def test_ratio_shapley_adds_up_to_the_total() -> None:
    users, _ = clicks(3_000, seed=2, factors=("E", "R", "K"))
    res = at.factorial(users, outcome=Ratio("clicks", "impressions", name="CTR"), factors=F)
    shap = res.shapley
    assert shap["estimate"].sum() == pytest.approx(res.total, abs=1e-15)
    tidy = res.tidy()
    contrib = tidy[tidy["component"].notna()]
    assert contrib["estimate"].sum() == pytest.approx(res.headline.estimate, abs=1e-15)
    assert (tidy["metric"] == "CTR").all()
    # the split is decompose.shapley_split of the cell ratios and their covariance
    from attribution.decompose import shapley_split

    cells = res.cell_means
    split = shapley_split(
        cells["adjusted_mean"].to_numpy(),
        np.diag(cells["std_error"].to_numpy() ** 2),
        components=F,
        df=res.df,
    )
    np.testing.assert_allclose(shap["estimate"], split.table["estimate"], rtol=1e-12)
    np.testing.assert_allclose(shap["std_error"], split.table["std_error"], rtol=1e-9)


def test_ratio_rows_are_summed_per_unit() -> None:
    users, _ = clicks(1_500, seed=3)
    daily, _ = clicks(1_500, seed=3, rows_per_user=4)
    assert len(daily) == 6_000
    ref = at.factorial(users, outcome=Ratio("clicks", "impressions"), factors=["E", "R"])
    res = at.factorial(
        daily, outcome=Ratio("clicks", "impressions"), factors=["E", "R"], unit="user_id"
    )
    pd.testing.assert_frame_equal(res.tidy(), ref.tidy(), rtol=1e-12, atol=1e-15)
    assert res.sample_size == 1_500 and res.provenance.data.n_rows == 6_000
    assert any("summed per unit of 'user_id'" in n for n in res.notes)


def test_ratio_of_a_constant_denominator_is_the_mean() -> None:
    """A denominator of 1 reproduces the mean factorial for every covariance and with CUPED."""
    frame = experiment(300, seed=5).assign(one=1)
    for kw in ({}, {"vcov": "HC0"}, {"vcov": "HC3"}, {"vcov": "iid"}, {"cluster": "market"}):
        for cov in (None, "pre_engagement"):
            ref = at.factorial(frame, outcome="engagement", factors=F, covariate=cov, **kw)
            res = at.factorial(
                frame, outcome=Ratio("engagement", "one", covariate=cov), factors=F, **kw
            )
            cols = ["estimate", "std_error", "conf_low", "conf_high", "p_value"]
            np.testing.assert_allclose(
                res.tidy()[cols], ref.tidy()[cols], rtol=1e-9, atol=1e-12, err_msg=str((kw, cov))
            )
            assert res.df == ref.df


def test_ratio_cluster_robust_equals_a_direct_computation() -> None:
    users, _ = clicks(2_000, seed=4, n_markets=15)
    res = at.factorial(
        users, outcome=Ratio("clicks", "impressions"), factors=["E", "R"], cluster="market"
    )
    assert res.vcov_type == "CR1" and res.n_clusters == 15 and res.df == 14
    cell = users["E"].to_numpy() + 2 * users["R"].to_numpy()
    n_, d_ = users["clicks"].to_numpy(float), users["impressions"].to_numpy(float)
    s_n = np.bincount(cell, n_)
    s_d = np.bincount(cell, d_)
    r = s_n / s_d
    e = n_ - r[cell] * d_
    g = pd.factorize(users["market"])[0]
    u = np.zeros((15, 4))
    np.add.at(u, (g, cell), e)
    n, k, big_g = len(users), 4, 15
    v = big_g / (big_g - 1) * (n - 1) / (n - k) * (u.T @ u) / np.outer(s_d, s_d)
    np.testing.assert_allclose(res.cell_means["std_error"], np.sqrt(np.diag(v)), rtol=1e-9)
    c = np.array([-1.0, 0, 0, 1])
    assert res.headline.std_error == pytest.approx(float(np.sqrt(c @ v @ c)), rel=1e-9)


def test_ratio_cuped_equals_statsmodels_on_linearised_values() -> None:
    """CUPED on linearised values: the mean model (common slope, HC2) on each unit's linearised
    ratio y* = R_c + (N - R_c D)/D̄_c and covariate x* = Q_c + (A - Q_c B)/B̄_c."""
    users, _ = clicks(2_500, seed=6)
    fac = ["E", "R"]
    metric = Ratio("clicks", "impressions", covariate=("pre_clicks", "pre_impressions"))
    res = at.factorial(users, outcome=metric, factors=fac)
    plain = at.factorial(users, outcome=Ratio("clicks", "impressions"), factors=fac)
    cell = users["E"].to_numpy() + 2 * users["R"].to_numpy()

    def linearise(num, den):
        s_n, s_d = np.bincount(cell, num), np.bincount(cell, den)
        cnt = np.bincount(cell)
        r = s_n / s_d
        return r[cell] + (num - r[cell] * den) / (s_d / cnt)[cell]

    lin = users.assign(
        y=linearise(users["clicks"].to_numpy(float), users["impressions"].to_numpy(float)),
        x=linearise(users["pre_clicks"].to_numpy(float), users["pre_impressions"].to_numpy(float)),
    )
    fit, _cells = saturated_ols(lin, outcome="y", factors=fac, covariate="x", cov_type="HC2")
    assert res.slope == pytest.approx(fit.params[-1], rel=1e-9)
    xbar = lin["x"].mean()
    lmat = np.hstack([np.eye(4), np.full((4, 1), xbar)])
    np.testing.assert_allclose(res.cell_means["adjusted_mean"], lmat @ fit.params, rtol=1e-9)
    np.testing.assert_allclose(
        res.cell_means["std_error"], np.sqrt(np.diag(lmat @ fit.cov_params() @ lmat.T)), rtol=1e-7
    )
    # CUPED on a correlated pre-period ratio shrinks the SE of the total
    assert res.headline.std_error < 0.95 * plain.headline.std_error
    assert res.covariate == "pre_clicks/pre_impressions"
    assert "CUPED on 'pre_clicks/pre_impressions'" in res.summary()


# -- Ratio: bad input --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def users() -> pd.DataFrame:
    return clicks(400, seed=9)[0]


def ratio_fit(data, **kw):
    kw.setdefault("outcome", Ratio("clicks", "impressions"))
    kw.setdefault("factors", ["E", "R"])
    return at.factorial(data, **kw)


def test_zero_denominator_cell(users) -> None:
    data = users.copy()
    sel = (data.E == 1) & (data.R == 0)
    data.loc[sel, ["clicks", "impressions"]] = 0
    with pytest.raises(DataError, match=r"1 cell.*zero sum of 'impressions'") as err:
        ratio_fit(data)
    assert err.value.rows[["E", "R"]].to_dict("records") == [{"E": 1, "R": 0}]


def test_clicks_without_impressions_are_refused(users) -> None:
    data = users.copy()
    data.loc[[3, 5], "impressions"] = 0
    data.loc[[3, 5], "clicks"] = [2, 1]
    with pytest.raises(DataError, match=r"2 row.*impressions = 0 but clicks ≠ 0") as err:
        ratio_fit(data)
    assert len(err.value.rows) == 2
    with pytest.raises(DataError, match=r"2 unit.*'user_id'") as err:
        ratio_fit(data, unit="user_id")
    assert set(err.value.rows["user_id"]) == {3, 5}


def test_units_without_impressions_are_refused_by_default(users) -> None:
    """Ratio(zero_denominator="raise"), the default: 0/0 units are a typed error naming the
    column, the count, example rows and both fixes."""
    data = users.copy()
    data.loc[[3, 5, 8], ["clicks", "impressions"]] = 0
    with pytest.raises(DataError, match=r"3 row\(s\) have a zero total of the denominator") as err:
        ratio_fit(data)
    assert err.value.columns == ("impressions",)
    assert err.value.rows["impressions"].tolist() == [0, 0, 0]
    assert "zero_denominator='keep'" in str(err.value) and "filter" in str(err.value)
    with pytest.raises(DataError, match=r"3 unit\(s\) of 'user_id' have a zero total") as err:
        ratio_fit(data, unit="user_id")
    assert set(err.value.rows["user_id"]) == {3, 5, 8}
    # a nonzero numerator over a zero denominator is an error whatever the rule
    data.loc[[5], "clicks"] = 1
    keep = Ratio("clicks", "impressions", zero_denominator="keep")
    with pytest.raises(DataError, match=r"1 row.*impressions = 0 but clicks ≠ 0"):
        ratio_fit(data, outcome=keep)


def test_units_without_impressions_are_kept_and_said(users) -> None:
    data = users.copy()
    data.loc[[3, 5, 8], ["clicks", "impressions"]] = 0
    keep = Ratio("clicks", "impressions", zero_denominator="keep")
    with pytest.warns(AttributionWarning, match="3 row.*impressions = 0.*kept as randomised"):
        res = ratio_fit(data, outcome=keep)
    assert res.provenance.options["zero_denominator"] == "keep"
    assert res.cell_means["n"].sum() == 400  # still counted
    assert any("kept as randomised units" in n for n in res.notes)
    # the ratio itself is unchanged; its variance uses every randomised unit
    ref = delta_cells(data, ["E", "R"])
    np.testing.assert_allclose(res.cell_means["mean"], ref["ratio"], rtol=1e-12)
    np.testing.assert_allclose(res.cell_means["std_error"], ref["se"], rtol=1e-9)


def test_ratio_needs_two_units_per_cell(users) -> None:
    data = pd.concat(
        [users[~((users.E == 1) & (users.R == 1))], users[(users.E == 1) & (users.R == 1)].iloc[:1]]
    )
    with pytest.raises(DesignError, match=r"single row.*at least two per cell"):
        ratio_fit(data)


@pytest.mark.parametrize("column", ["clicks", "impressions"])
def test_missing_ratio_values_are_named(users, column) -> None:
    data = users.copy()
    data[column] = data[column].astype("float64")
    data.loc[[4, 9], column] = np.nan
    with pytest.raises(DataError, match=rf"'{column}': 2 rows") as err:
        ratio_fit(data)
    assert err.value.columns == (column,)
    with pytest.raises(DataError, match=rf"'{column}': 2 rows"):
        ratio_fit(data, unit="user_id")


def test_unit_in_two_clusters(users) -> None:
    data = pd.concat([users.assign(market="a"), users.assign(market="b")], ignore_index=True)
    with pytest.raises(DesignError, match=r"400 unit.*more than one cluster of 'market'"):
        ratio_fit(data, unit="user_id", cluster="market")


@pytest.mark.parametrize(
    ("outcome", "kw", "match"),
    [
        (Ratio("E", "impressions"), {}, "also listed as a factor"),
        (Ratio("clicks", "impressions", covariate="clicks"), {}, "own numerator"),
        (Ratio("clicks", "impressions"), {"unit": "clicks"}, "also the outcome"),
        (
            Ratio("clicks", "impressions", covariate="pre_clicks"),
            {"covariate": "pre_impressions"},
            "give the covariate once",
        ),
    ],
)
def test_ratio_roles_are_checked(users, outcome, kw, match) -> None:
    with pytest.raises(OptionError, match=match):
        ratio_fit(users, outcome=outcome, **kw)


def test_ratio_messages_use_user_names(users) -> None:
    data = users.rename(columns={"clicks": "n", "impressions": "rows"})
    res = ratio_fit(data, outcome=Ratio("n", "rows"))
    ref = ratio_fit(users)
    np.testing.assert_allclose(res.tidy()["estimate"], ref.tidy()["estimate"], rtol=1e-12)
    data.loc[[1], "rows"] = 0
    data.loc[[1], "n"] = 1
    with pytest.raises(DataError) as err:
        ratio_fit(data, outcome=Ratio("n", "rows"))
    assert "__at_" not in str(err.value) and "att_" not in str(err.value)


# -- Ratio: coverage on heavy-tailed data with known truth ------------------------------------------
def _coverage(seeds, covariate=None) -> tuple[float, float, float]:
    """Over seeds: the share of intervals for the total that cover the truth, and the mean and SD
    of the z-scores (estimate − truth) / SE."""
    hits, z = [], []
    metric = Ratio("clicks", "impressions", covariate=covariate)
    for seed in seeds:
        users, truth = clicks(4_000, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AttributionWarning)
            res = at.factorial(users, outcome=metric, factors=["E", "R"])
        h = res.headline
        true_total = truth[3] - truth[0]
        hits.append(h.conf_low <= true_total <= h.conf_high)
        z.append((h.estimate - true_total) / h.std_error)
    return float(np.mean(hits)), float(np.mean(z)), float(np.std(z))


PRE = ("pre_clicks", "pre_impressions")


@pytest.mark.parametrize("covariate", [None, PRE])
def test_ratio_total_covers_on_a_few_seeds(covariate) -> None:
    cover, mean_z, sd_z = _coverage(range(40), covariate)
    assert cover >= 0.85, cover
    assert abs(mean_z) < 0.5, mean_z  # 3 Monte Carlo SEs: no bias
    assert 0.7 < sd_z < 1.3, sd_z


@pytest.mark.slow
@pytest.mark.parametrize("covariate", [None, PRE])
def test_ratio_total_coverage_over_500_seeds(covariate) -> None:
    cover, mean_z, sd_z = _coverage(range(1000, 1500), covariate)
    assert 0.93 <= cover <= 0.97, cover
    assert abs(mean_z) < 0.15, mean_z
    assert 0.9 < sd_z < 1.1, sd_z


# -- engines -----------------------------------------------------------------------------------------
def test_ratio_on_every_engine(engine) -> None:
    """The same numbers from a pandas frame, a DuckDB table and Spark (every pass: the sums, the
    unit aggregation, the CR1 scores on linearised values, CUPED)."""
    daily, _ = clicks(800, seed=13, rows_per_user=2, n_markets=12)
    metric = Ratio("clicks", "impressions", covariate=("pre_clicks", "pre_impressions"))
    kw = {"outcome": metric, "factors": ["E", "R"], "unit": "user_id", "cluster": "market"}
    ref = at.factorial(daily, **kw)
    res = at.factorial(engine(daily), **kw)
    cols = ["estimate", "std_error", "conf_low", "conf_high", "p_value"]
    np.testing.assert_allclose(res.tidy()[cols], ref.tidy()[cols], rtol=1e-9, atol=1e-15)
    assert res.n_clusters == 12


def test_ratio_result_surfaces() -> None:
    """The Result contract on a ratio factorial: strict JSON, text, plots, interaction means."""
    import json

    from matplotlib.figure import Figure

    users, _ = clicks(1_000, seed=14)
    res = at.factorial(
        users, outcome=Ratio("clicks", "impressions", name="CTR"), factors=["E", "R"]
    )
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["metric_kind"] == "ratio" and d["outcome"] == "CTR"
    assert d["provenance"]["options"]["numerator"] == "clicks"
    assert d["provenance"]["options"]["metric"] == "ratio"
    assert "factorial experiment on 'CTR'" in res.summary()
    for kind in ("waterfall", "effects"):
        assert isinstance(res.plot(kind=kind), Figure)
    means = res.interaction_means("E", "R")
    np.testing.assert_allclose(
        np.sort(means["estimate"]), np.sort(res.cell_means["adjusted_mean"]), rtol=1e-12
    )


def test_proportion_with_a_missing_value_names_the_rows() -> None:
    frame = experiment(200, seed=3)
    frame["converted"] = (frame["engagement"] > 7).astype("float64")
    frame.loc[[5, 6], "converted"] = np.nan
    with pytest.raises(DataError, match=r"'converted': 2 rows"):
        at.factorial(frame, outcome=Proportion("converted"), factors=F)
