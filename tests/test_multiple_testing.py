"""Adjusted p-values and simultaneous max-t intervals against statsmodels, scipy and published tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from attribution.errors import AttributionError, DataError, EstimationError, OptionError
from attribution.inference import holm
from attribution.multiple_testing import adjust_pvalues, max_t_critical, simultaneous_intervals

SM_NAMES = {
    "bonferroni": "bonferroni",
    "holm": "holm",
    "hochberg": "simes-hochberg",
    "sidak": "sidak",
    "bh": "fdr_bh",
    "by": "fdr_by",
}

# Benjamini & Hochberg (1995), J. R. Stat. Soc. B 57(1), 289-300, section 4: the 15 p-values of
# the multiple-endpoint example; at q = 0.05 their procedure rejects the 4 smallest (Bonferroni 3).
BH_1995 = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000,
]  # fmt: skip


def _inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    out = [rng.uniform(size=n) for n in (1, 2, 7, 40)]
    out.append(rng.uniform(size=30) ** 4)  # many small p-values
    out.append(np.array([0.01, 0.01, 0.04, 0.04, 0.04, 0.3, 0.3, 1.0, 0.0]))  # ties, 0 and 1
    out.append(np.round(rng.uniform(size=25), 1))  # heavy ties
    out.append(np.array(BH_1995))
    return out


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels' sidak at p = 1
@pytest.mark.parametrize("method", sorted(SM_NAMES))
@pytest.mark.parametrize("case", range(8))
def test_equal_to_statsmodels(method, case):
    p = _inputs()[case]
    expected = multipletests(p, method=SM_NAMES[method])[1]
    got = adjust_pvalues(p, method)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got.max() <= 1.0
    # input order is kept: a permutation of the input permutes the output the same way
    perm = np.random.default_rng(case).permutation(p.size)
    np.testing.assert_allclose(adjust_pvalues(p[perm], method), got[perm], atol=1e-15)


def test_benjamini_hochberg_1995_example_rejects_four():
    adj = adjust_pvalues(BH_1995, "bh")
    assert (adj <= 0.05).sum() == 4
    assert np.flatnonzero(adj <= 0.05).tolist() == [0, 1, 2, 3]
    assert (adjust_pvalues(BH_1995, "bonferroni") <= 0.05).sum() == 3  # as the paper says


def test_holm_is_one_implementation():
    p = _inputs()[3]
    np.testing.assert_array_equal(adjust_pvalues(p, "holm"), holm(p))


def test_none_nan_series_and_input_untouched():
    p = np.array([0.2, np.nan, 0.01, 0.04])
    before = p.copy()
    adj = adjust_pvalues(p, "holm")
    np.testing.assert_array_equal(p, before)
    assert np.isnan(adj[1])
    # NaN is not counted in the family: the other three are a family of three
    np.testing.assert_allclose(adj[[0, 2, 3]], multipletests([0.2, 0.01, 0.04], method="holm")[1])
    s = pd.Series([0.03, 0.01], index=["ctr", "revenue"], name="p")
    out = adjust_pvalues(s, "bonferroni")
    assert isinstance(out, pd.Series) and list(out.index) == ["ctr", "revenue"]
    assert out["ctr"] == pytest.approx(0.06)
    np.testing.assert_array_equal(adjust_pvalues([0.3, 0.02], "none"), [0.3, 0.02])


@pytest.mark.parametrize(
    ("p", "method", "error"),
    [
        ([0.1, 1.2], "holm", DataError),
        ([-0.01], "bh", DataError),
        ([], "holm", DataError),
        ([[0.1, 0.2]], "holm", DataError),
        (["a"], "holm", DataError),
        ([0.1], "fdr_bh", OptionError),
        ([0.1], None, OptionError),
    ],
)
def test_bad_input(p, method, error):
    with pytest.raises(error):
        adjust_pvalues(p, method)


# ------------------------------------------------------------------------------------------------
# simultaneous max-t intervals
# ------------------------------------------------------------------------------------------------
def _equicorrelated(k: int, rho: float) -> np.ndarray:
    r = np.full((k, k), rho)
    np.fill_diagonal(r, 1.0)
    return r


def test_one_estimate_is_the_usual_interval():
    tab = simultaneous_intervals([0.3], [[0.01]])
    assert tab["critical_value"].iloc[0] == pytest.approx(stats.norm.ppf(0.975), abs=1e-12)
    assert tab["conf_low_uniform"].iloc[0] == pytest.approx(tab["conf_low"].iloc[0], abs=1e-12)
    t = simultaneous_intervals([0.3], [[0.01]], df=12)
    assert t["critical_value"].iloc[0] == pytest.approx(stats.t.ppf(0.975, 12), abs=1e-12)


def test_independent_estimates_give_sidak_and_never_exceed_bonferroni():
    k = 4
    sidak = stats.norm.ppf(1 - (1 - 0.95 ** (1 / k)) / 2)
    bonf = stats.norm.ppf(1 - 0.05 / (2 * k))
    c = max_t_critical(np.eye(k), 0.05)
    assert c == pytest.approx(sidak, abs=1e-8)
    assert c < bonf
    for rho in (0.0, 0.3, 0.6, 0.9, 0.99):
        assert max_t_critical(_equicorrelated(k, rho), 0.05) <= bonf
    # tighter when the estimates correlate, and the 1-D value when they coincide
    cs = [max_t_critical(_equicorrelated(k, rho), 0.05) for rho in (0.0, 0.5, 0.9)]
    assert cs[0] > cs[1] > cs[2] > stats.norm.ppf(0.975)
    assert max_t_critical(np.ones((3, 3)), 0.05) == pytest.approx(stats.norm.ppf(0.975), abs=1e-6)


def test_dunnett_1955_table():
    """Dunnett (1955), JASA 50, Table 2 (two-sided, 95%, df = ∞): comparisons of k treatments with
    one control of equal size have correlation 1/2; critical values 2.21, 2.35, 2.44, 2.51."""
    for k, published in zip((2, 3, 4, 5), (2.21, 2.35, 2.44, 2.51), strict=True):
        assert max_t_critical(_equicorrelated(k, 0.5), 0.05) == pytest.approx(published, abs=5e-3)


def test_equal_to_scipy_dunnett():
    """scipy.stats.dunnett is the single-step max-t test of many-to-one comparisons (its own
    randomised integration: agreement to its error, ~1e-3)."""
    rng = np.random.default_rng(3)
    samples = [rng.normal(0, 1, 20) + d for d in (0.0, 0.3, 0.8, 0.1)]
    ref = stats.dunnett(*samples[1:], control=samples[0], random_state=1)
    n = np.array([len(s) for s in samples])
    means = np.array([s.mean() for s in samples])
    df = int(n.sum() - len(n))
    s2 = sum(((s - s.mean()) ** 2).sum() for s in samples) / df
    cov = s2 / n[0] * np.ones((3, 3)) + np.diag(s2 / n[1:])
    tab = simultaneous_intervals(means[1:] - means[0], cov, df=df)
    np.testing.assert_allclose(tab["p_value_adjusted"], ref.pvalue, atol=1e-3)
    ci = ref.confidence_interval()
    np.testing.assert_allclose(tab["conf_low_uniform"], ci.low, atol=2e-3)
    np.testing.assert_allclose(tab["conf_high_uniform"], ci.high, atol=2e-3)


def test_table_columns_methods_and_reruns():
    cov = 0.01 * _equicorrelated(3, 0.6)
    est = pd.Series([0.05, 0.3, -0.1], index=["ctr", "revenue", "latency"])
    tab = simultaneous_intervals(est, cov)
    assert tab["term"].tolist() == ["ctr", "revenue", "latency"]
    assert (tab["conf_low_uniform"] < tab["conf_low"]).all()
    assert (tab["p_value_adjusted"] >= tab["p_value"]).all()
    again = simultaneous_intervals(est, cov)
    pd.testing.assert_frame_equal(tab, again)  # seeded integration: identical reruns
    bonf = simultaneous_intervals(est, cov, method="bonferroni")
    sid = simultaneous_intervals(est, cov, method="sidak")
    widths = [t["conf_high_uniform"] - t["conf_low_uniform"] for t in (tab, sid, bonf)]
    assert (widths[0] < widths[1]).all() and (widths[1] < widths[2]).all()
    np.testing.assert_allclose(
        bonf["p_value_adjusted"], adjust_pvalues(tab["p_value"].to_numpy(), "bonferroni")
    )


def test_simultaneous_coverage_in_simulation():
    """2,000 draws of 5 correlated estimates: the max-t band covers all five ≈ 95% of the time
    (Monte Carlo SE 0.5 points); Bonferroni's covers more than that."""
    k, rho = 5, 0.7
    corr = _equicorrelated(k, rho)
    se = np.array([1.0, 2.0, 0.5, 1.5, 3.0])
    cov = corr * np.outer(se, se)
    z = np.random.default_rng(5).multivariate_normal(np.zeros(k), cov, size=2000)
    c = simultaneous_intervals(np.zeros(k), cov)["critical_value"].iloc[0]
    c_bonf = stats.norm.ppf(1 - 0.05 / (2 * k))
    cover = (np.abs(z) / se <= c).all(axis=1).mean()
    cover_bonf = (np.abs(z) / se <= c_bonf).all(axis=1).mean()
    assert 0.935 <= cover <= 0.965
    assert cover_bonf > cover


@pytest.mark.parametrize(
    ("est", "cov", "kwargs", "error"),
    [
        ([0.1, 0.2], [[1.0]], {}, DataError),
        ([], [], {}, DataError),
        ([0.1, np.nan], np.eye(2), {}, DataError),
        ([0.1, 0.2], [[1.0, 0.5], [0.4, 1.0]], {}, DataError),
        ([0.1, 0.2], [[1.0, 2.0], [2.0, 1.0]], {}, EstimationError),
        ([0.1, 0.2], [[1.0, 0.0], [0.0, 0.0]], {}, EstimationError),
        ([0.1, 0.2], np.eye(2), {"method": "scheffe"}, OptionError),
        ([0.1, 0.2], np.eye(2), {"alpha": 1.5}, OptionError),
        ([0.1, 0.2], np.eye(2), {"df": 0}, OptionError),
        ([0.1, 0.2], np.eye(2), {"terms": ["a"]}, OptionError),
    ],
)
def test_simultaneous_bad_input(est, cov, kwargs, error):
    with pytest.raises(error) as err:
        simultaneous_intervals(est, cov, **kwargs)
    assert isinstance(err.value, AttributionError)
