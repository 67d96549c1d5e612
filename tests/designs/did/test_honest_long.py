"""HonestDiD on a long event study (9 pre / 23 post periods) against moderndid 0.2.0.

honest_long.json (make_reference_honest_long.py) holds a simulated betahat / sigma and, for three
targets θ = l'τ_post, moderndid's relative-magnitudes intervals (C-LF and Conditional, the union
over R HonestDiD's polyhedra), the least-favourable critical values it used, and its FLCIs.
HonestDiD reports the extreme accepted points of a θ grid, so its ends lie inside ours (exact
ends, by bisection) by less than one grid step.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from attribution.designs.did.honest import (
    arp_union_interval,
    honest_arrays,
    rm_bonferroni_ci,
    rm_moment_inequalities,
)
from attribution.designs.did.moment_inequalities import MomentInequalities
from attribution.errors import AttributionWarning

REF = Path(__file__).resolve().parents[2] / "reference" / "did"
TARGETS = ("first", "sixth", "average")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "honest_long.json").read_text())


def _arrays(ref: dict) -> tuple[np.ndarray, np.ndarray, int]:
    return np.array(ref["betahat"]), np.array(ref["sigma"]), ref["n_pre"]


def _inside_by_one_step(ours, theirs, step, slack=1e-7):
    """Grid ends (theirs) inside the exact ends (ours) by at most one grid step."""
    (lo, hi), (glo, ghi) = ours, theirs
    assert lo - slack <= glo <= lo + step + slack, (lo, glo, step)
    assert hi - step - slack <= ghi <= hi + slack, (hi, ghi, step)


@pytest.fixture(scope="module")
def ours(ref) -> dict:
    """Our relative-magnitudes tables for every target and method (no fallback allowed)."""
    beta, sigma, n_pre = _arrays(ref)
    mbars = [row[0] for row in ref["targets"]["first"]["relative_magnitudes"]["C-LF"]]
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttributionWarning)
        for name in TARGETS:
            lv = np.array(ref["targets"][name]["l_vec"])
            for inference in ("C-LF", "Conditional"):
                out[name, inference] = honest_arrays(
                    beta,
                    sigma,
                    n_pre,
                    method="relative_magnitudes",
                    Mbar=mbars,
                    l_vec=lv,
                    inference=inference,
                )
    return out


@pytest.mark.parametrize("name", TARGETS)
def test_conditional_matches_moderndid_to_one_grid_step(ref, ours, name):
    table = ours[name, "Conditional"].table.iloc[1:]
    assert (table["method"] == "Conditional").all()
    for (mbar, lb, ub, step), (_, row) in zip(
        ref["targets"][name]["relative_magnitudes"]["Conditional"], table.iterrows(), strict=True
    ):
        assert row["Mbar"] == mbar
        _inside_by_one_step((row["conf_low"], row["conf_high"]), (lb, ub), step)


@pytest.mark.parametrize("name", TARGETS)
def test_clf_with_moderndids_critical_values_matches_to_one_grid_step(ref, name, monkeypatch):
    """Given the same least-favourable critical values, our hybrid (LP dual, Newton truncation,
    exact ends) and moderndid's (grid, bisection on the dual) agree to its grid."""
    beta, sigma, n_pre = _arrays(ref)
    target = ref["targets"][name]
    lv = np.array(target["l_vec"])
    sd_theta = float(np.sqrt(lv @ sigma[n_pre:, n_pre:] @ lv))
    theirs: dict[int, float] = {}
    monkeypatch.setattr(
        MomentInequalities, "lf_critical_value", lambda self, *a, **k: theirs[id(self)]
    )
    for mbar, lb, ub, step in target["relative_magnitudes"]["C-LF"]:
        pieces = rm_moment_inequalities(sigma, n_pre, lv, mbar)
        cvs = target["lf_critical_values"][f"{mbar:g}"]
        for k, (s, sign, cv) in enumerate(cvs):
            assert (k // 2, 1.0 if k % 2 == 0 else -1.0) == (s, sign)  # same polyhedron
            theirs[id(pieces[k])] = cv
        got = arp_union_interval(pieces, beta, 0.05, inference="C-LF", seed=0, sd_theta=sd_theta)
        _inside_by_one_step(got, (lb, ub), step)


def test_our_critical_value_on_moderndids_draws_is_moderndids(ref):
    """c_LF is the 1-κ quantile of η̂ over the draws: on moderndid's own 1,000 draws (numpy's
    default_rng(0).multivariate_normal, as its compute_least_favorable_cv) our LP quantile,
    which solves only the draws near the quantile, reproduces its value for every polyhedron."""
    if np.__version__ != ref["versions"]["numpy"]:
        pytest.skip("moderndid's draws depend on the numpy version")
    _, sigma, n_pre = _arrays(ref)
    for name in TARGETS:
        target = ref["targets"][name]
        for key in ("0.5", "2"):  # two of the four M̄ values keep the test quick
            cvs = target["lf_critical_values"][key]
            pieces = rm_moment_inequalities(sigma, n_pre, np.array(target["l_vec"]), float(key))
            for piece, (_, _, cv) in zip(pieces, cvs, strict=True):
                xi = np.random.default_rng(0).multivariate_normal(
                    np.zeros(piece.n_moments), piece.sigma_y, size=1000
                )
                assert piece.polytope.quantile(xi / piece.sd, 0.995) == pytest.approx(cv, abs=1e-10)


@pytest.mark.parametrize("name", TARGETS)
def test_clf_matches_moderndid_up_to_monte_carlo(ref, ours, name):
    """End to end the intervals differ only through c_LF: ours from 20,000 seeded draws,
    moderndid's from 1,000 (seed 0), whose values here sit about two simulation standard errors
    above ours in every polyhedron. The ends agree to 1% of the interval's length."""
    table = ours[name, "C-LF"].table.iloc[1:]
    assert (table["method"] == "C-LF").all()
    peer = np.array(ref["targets"][name]["relative_magnitudes"]["C-LF"])
    tol = 0.01 * (peer[:, 2] - peer[:, 1])
    assert np.all(np.abs(table["conf_low"].to_numpy() - peer[:, 1]) <= tol)
    assert np.all(np.abs(table["conf_high"].to_numpy() - peer[:, 2]) <= tol)


def test_clf_is_much_narrower_than_the_old_bonferroni_fallback(ref, ours):
    beta, sigma, n_pre = _arrays(ref)
    table = ours["first", "C-LF"].table.iloc[1:]
    for mbar, lo, hi in table[["Mbar", "conf_low", "conf_high"]].itertuples(index=False):
        if mbar == 0:
            continue
        blo, bhi, _, _ = rm_bonferroni_ci(beta, sigma, n_pre, np.eye(23)[0], mbar, 0.05)
        assert blo < lo < hi < bhi
        assert (bhi - blo) > 1.5 * (hi - lo)


def test_moderndid_public_function_leaves_out_a_polyhedron(ref, monkeypatch):
    """moderndid 0.2.0's create_sensitivity_results_rm loops over s = -(T_pre-1), …, -1 with
    0-based offsets, so the polyhedron where the earliest pre-period change is the largest (our
    s = 0) is missing. Without it (and with moderndid's critical values) we reproduce its output
    to its grid step; here that change is the largest (-0.024), and R's full union, which we
    compute, reaches lower."""
    beta, sigma, n_pre = _arrays(ref)
    lv = np.eye(23)[0]
    sd_theta = float(np.sqrt(lv @ sigma[n_pre:, n_pre:] @ lv))
    maxpre = float(np.abs(np.diff(np.r_[beta[:n_pre], 0.0])).max())
    theirs: dict[int, float] = {}
    monkeypatch.setattr(
        MomentInequalities, "lf_critical_value", lambda self, *a, **k: theirs[id(self)]
    )
    for mbar, lb, ub in ref["moderndid_public_rm_clf_first"]:
        pieces = rm_moment_inequalities(sigma, n_pre, lv, mbar)
        for piece, (_, _, cv) in zip(
            pieces, ref["targets"]["first"]["lf_critical_values"][f"{mbar:g}"], strict=True
        ):
            theirs[id(piece)] = cv
        step = 2 * (mbar * maxpre + 20 * sd_theta) / 999  # moderndid's default grid
        kw = dict(inference="C-LF", seed=0, sd_theta=sd_theta)
        partial = arp_union_interval(pieces[2:], beta, 0.05, **kw)  # s = 1, …, T_pre - 1
        _inside_by_one_step(partial, (lb, ub), step)
        full = arp_union_interval(pieces, beta, 0.05, **kw)
        assert full[0] < lb - step


@pytest.mark.parametrize("name", TARGETS)
def test_smoothness_flci_matches_moderndid(ref, name):
    """FLCI ends to 1e-6 for M > 0 (lengths to 1e-8); at M = 0 our exact minimum-variance
    weights give an interval no longer than moderndid's, ends within 2e-5."""
    beta, sigma, n_pre = _arrays(ref)
    target = ref["targets"][name]
    peer = np.array(target["smoothness_flci"])
    out = honest_arrays(beta, sigma, n_pre, M=peer[:, 0], l_vec=target["l_vec"])
    table = out.table.iloc[1:]
    np.testing.assert_allclose(table["M"], peer[:, 0])
    ends = table[["conf_low", "conf_high"]].to_numpy()
    assert peer[0, 0] == 0
    np.testing.assert_allclose(ends[1:], peer[1:, 1:], atol=1e-6)
    np.testing.assert_allclose(ends[1:, 1] - ends[1:, 0], peer[1:, 2] - peer[1:, 1], atol=1e-8)
    np.testing.assert_allclose(ends[0], peer[0, 1:], atol=2e-5)
    assert ends[0, 1] - ends[0, 0] <= peer[0, 2] - peer[0, 1] + 1e-12
