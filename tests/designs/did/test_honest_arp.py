"""The LP form of the Andrews–Roth–Pakes test (moment_inequalities.py) against brute force, and the
array entry point honest_arrays (fallback warning, agreement with honest_did, bad input)."""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from attribution.designs.did import honest_did
from attribution.designs.did.honest import (
    honest_arrays,
    rm_moment_inequalities,
    rm_piece_constraints,
)
from attribution.designs.did.moment_inequalities import (
    ArpUnavailable,
    MomentInequalities,
    truncated_normal_quantile,
)
from attribution.errors import AttributionWarning, DesignError, OptionError

REF = Path(__file__).resolve().parents[2] / "reference" / "did"


def _random_sigma(k: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(k, k))
    return 0.01 * (a @ a.T / k + np.eye(k))


def _enumerate_vertices(x: np.ndarray) -> np.ndarray:
    """Every vertex of {γ >= 0, 1'γ = 1, X'γ = 0}: basic feasible solutions, by brute force."""
    m, r = x.shape
    eq = np.vstack([np.ones((1, m)), x.T])
    rhs = np.zeros(r + 1)
    rhs[0] = 1.0
    found = []
    for basis in itertools.combinations(range(m), r + 1):
        sub = eq[:, basis]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        g = np.linalg.solve(sub, rhs)
        if np.all(g >= -1e-10):
            full = np.zeros(m)
            full[list(basis)] = np.clip(g, 0.0, None)
            found.append(full)
    return np.unique(np.round(np.array(found), 12), axis=0)


@pytest.fixture(scope="module")
def small_piece() -> tuple[MomentInequalities, np.ndarray, np.ndarray]:
    n_pre, n_post = 3, 4
    sigma = _random_sigma(n_pre + n_post, 11)
    a = rm_piece_constraints(n_pre, n_post, 1.5, 1, 1.0)
    piece = MomentInequalities(a, np.zeros(len(a)), sigma, n_pre, np.eye(n_post)[1])
    return piece, _enumerate_vertices(piece.x), sigma


def test_lp_statistic_equals_the_maximum_over_enumerated_vertices(small_piece):
    piece, verts, _ = small_piece
    rng = np.random.default_rng(5)
    for _ in range(200):
        y = rng.normal(size=piece.n_moments) * 2
        eta, g = piece.polytope.value(y)
        assert eta == pytest.approx((verts @ y).max(), abs=1e-9)
        assert g @ y == pytest.approx(eta, abs=1e-9)
        # the conditioning interval: Newton steps on LPs = the closed form over all vertices
        s2 = g @ piece.corr @ g
        c = piece.corr @ g / s2
        s = y - c * eta
        a, b = verts @ c, verts @ s
        lo = a < 1 - 1e-10
        hi = a > 1 + 1e-10
        v_lo = (b[lo] / (1 - a[lo])).max() if lo.any() else -math.inf
        v_up = (b[hi] / (1 - a[hi])).min() if hi.any() else math.inf
        got_lo, got_up = piece.polytope.truncation(s, c, eta)
        assert got_lo == pytest.approx(v_lo, rel=1e-9, abs=1e-8)
        assert got_up == pytest.approx(v_up, rel=1e-9, abs=1e-8)


def test_least_favourable_quantile_is_exact(small_piece):
    """Only draws near the quantile get an LP, yet the result equals the quantile of the exact
    statistic over every draw."""
    piece, verts, sigma = small_piece
    fresh = MomentInequalities(piece.a, piece.d, sigma, 3, np.eye(4)[1])
    draws = np.random.default_rng(8).normal(size=(5000, piece.n_moments))
    exact = (draws @ verts.T).max(axis=1)
    for q in (0.995, 0.95, 0.5):
        assert fresh.polytope.quantile(draws, q) == pytest.approx(np.quantile(exact, q), abs=1e-10)
    assert fresh.polytope.lp_draws < 500  # most draws decided by bounds alone


def test_truncated_normal_quantile_matches_scipy():
    rng = np.random.default_rng(2)
    for _ in range(500):
        lo = rng.normal() * 6
        hi = lo + abs(rng.normal()) * rng.choice([0.01, 1.0, 10.0, math.inf])
        p = float(rng.choice([0.5, 0.95, 0.955, 0.999]))
        want = stats.truncnorm.ppf(p, lo, hi)
        assert truncated_normal_quantile(p, lo, hi) == pytest.approx(want, rel=1e-10, abs=1e-10)
    assert truncated_normal_quantile(0.95, 40.0, math.inf) == pytest.approx(
        stats.truncnorm.ppf(0.95, 40.0, math.inf), rel=1e-12
    )


def test_zero_variance_moment_falls_back_with_a_warning():
    """Two post periods that always move together give a moment with zero variance at M̄ = 0:
    the ARP test is undefined there, so the (wider, valid) Bonferroni interval is used and said."""
    n_pre, n_post = 3, 3
    sigma = _random_sigma(n_pre + n_post, 4)
    sigma[:, -1] = sigma[:, -2]
    sigma[-1, :] = sigma[-2, :]  # β_post3 ≡ β_post2 in distribution: Var(β_post3 - β_post2) = 0
    beta = np.array([0.01, -0.02, 0.0, 0.3, 0.4, 0.4])
    with pytest.raises(ArpUnavailable, match="zero variance"):
        rm_moment_inequalities(sigma, n_pre, np.eye(n_post)[0], 0.0)
    with pytest.warns(AttributionWarning, match="Bonferroni"):
        out = honest_arrays(beta, sigma, n_pre, method="relative_magnitudes", Mbar=[0.0, 1.0])
    assert (out.table["method"].iloc[1:] == "RM-Bonferroni").all()
    assert out.inference == "RM-Bonferroni"
    with warnings.catch_warnings(record=True) as caught:  # M̄ > 0 alone: no fallback
        warnings.simplefilter("always")
        out = honest_arrays(beta, sigma, n_pre, method="relative_magnitudes", Mbar=[1.0])
    assert out.inference == "C-LF"
    # only the breakdown search may visit M̄ = 0, where Bonferroni decides (and says so)
    assert all("breakdown" in str(w.message) for w in caught)


@pytest.fixture(scope="module")
def ehec() -> tuple[np.ndarray, np.ndarray, object]:
    ref = json.loads((REF / "pyfixest_ehec.json").read_text())["event_study"]

    class Protocol:
        def event_study(self):
            return np.array(ref["event_times"]), np.array(ref["estimate"]), np.array(ref["vcov"])

    return np.array(ref["estimate"]), np.array(ref["vcov"]), Protocol()


def test_honest_arrays_is_what_honest_did_computes(ehec):
    """honest_did(event study) and honest_arrays(betahat, sigma, T_pre) give the same table."""
    beta, sigma, es = ehec
    cols = ["estimate", "std_error", "conf_low", "conf_high"]
    for kw, tol in (
        (dict(method="relative_magnitudes", Mbar=[0.5, 1, 1.5, 2]), 1e-9),
        (dict(method="smoothness", M=[0, 0.01, 0.02]), 1e-7),
    ):
        via_did = honest_did(es, **kw)
        arrays = honest_arrays(beta, sigma, 5, **kw)
        np.testing.assert_allclose(arrays.table[cols], via_did.table[cols], atol=tol)
        assert arrays.table["term"].tolist() == via_did.table["term"].tolist()
        assert arrays.table["method"].tolist() == via_did.table["method"].tolist()
        assert arrays.breakdown == pytest.approx(via_did.breakdown, rel=1e-4)
    e1 = honest_arrays(beta, sigma, 5, method="smoothness", M=[0.01], l_vec=[0, 1])
    assert e1.table["estimate"].iloc[0] == pytest.approx(beta[-1])


def test_conditional_is_an_option_and_close_to_clf(ehec):
    beta, sigma, _ = ehec
    clf = honest_arrays(beta, sigma, 5, method="relative_magnitudes", Mbar=[0.5, 1.0])
    cond = honest_arrays(
        beta, sigma, 5, method="relative_magnitudes", Mbar=[0.5, 1.0], inference="Conditional"
    )
    assert (cond.table["method"].iloc[1:] == "Conditional").all()
    width = (clf.table["conf_high"] - clf.table["conf_low"]).iloc[1:].to_numpy()
    diff = np.abs(cond.table[["conf_low", "conf_high"]] - clf.table[["conf_low", "conf_high"]])
    assert (diff.iloc[1:].max(axis=1).to_numpy() < 0.1 * width).all()


def test_honest_arrays_bad_input(ehec):
    beta, sigma, _ = ehec
    with pytest.raises(DesignError, match="square"):
        honest_arrays(beta, sigma[:3, :3], 5)
    with pytest.raises(DesignError, match="non-finite"):
        honest_arrays(np.r_[beta[:-1], np.nan], sigma, 5)
    with pytest.raises(DesignError, match="symmetric"):
        honest_arrays(beta, sigma + np.triu(np.full_like(sigma, 1e-3), 1), 5)
    with pytest.raises(OptionError, match="num_pre_periods"):
        honest_arrays(beta, sigma, 7)
    with pytest.raises(OptionError, match="num_pre_periods"):
        honest_arrays(beta, sigma, 2.0)
    with pytest.raises(OptionError, match="l_vec"):
        honest_arrays(beta, sigma, 5, l_vec=[1, 0, 0])
    with pytest.raises(OptionError, match="l_vec"):
        honest_arrays(beta, sigma, 5, l_vec=[0, 0])
    with pytest.raises(OptionError, match="inference"):
        honest_arrays(beta, sigma, 5, inference="C-LF")  # smoothness: FLCI only
    with pytest.raises(OptionError, match="inference"):
        honest_arrays(beta, sigma, 5, method="relative_magnitudes", inference="FLCI")
    with pytest.raises(OptionError, match="Mbar"):
        honest_arrays(beta, sigma, 5, Mbar=1)
    with pytest.raises(OptionError, match="non-negative"):
        honest_arrays(beta, sigma, 5, method="relative_magnitudes", Mbar=[-1])
