"""HonestDiD: the README's Medicaid example (R HonestDiD / moderndid), the protocol, coverage, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from attribution.designs.did import event_study, honest_did
from attribution.designs.did.honest import (
    FlciFrontier,
    arp_union_rejects,
    flci,
    folded_normal_quantile,
    rm_bonferroni_ci,
    rm_moment_inequalities,
    rm_piece_constraints,
    split_event_study,
)
from attribution.errors import DesignError, OptionError
from tests.reference.did import mpdta
from tests.reference.did import pyfixest_panels as panels

REF = Path(__file__).resolve().parents[2] / "reference" / "did"


class Protocol:
    """Any object with event_study() — stands in for an AggteResult or a foreign estimate."""

    def __init__(self, times, beta, sigma):
        self._t, self._b, self._s = np.asarray(times), np.asarray(beta), np.asarray(sigma)

    def event_study(self):
        return self._t, self._b, self._s


@pytest.fixture(scope="module")
def ehec_es() -> Protocol:
    ref = json.loads((REF / "pyfixest_ehec.json").read_text())["event_study"]
    return Protocol(ref["event_times"], ref["estimate"], ref["vcov"])


@pytest.fixture(scope="module")
def honest_ref() -> dict:
    return json.loads((REF / "honest_ehec.json").read_text())


def test_our_event_study_reproduces_the_readme_regression(ehec_es):
    es = event_study(
        panels.load_ehec_nonstaggered(), yname="dins", tname="year", idname="stfips", gname="g"
    )
    t, b, v = es.event_study()
    assert t.tolist() == [-6, -5, -4, -3, -2, 0, 1]  # years 2008..2015 around 2014, ref 2013
    np.testing.assert_allclose(b, ehec_es._b, atol=1e-10)
    np.testing.assert_allclose(v, ehec_es._s, atol=1e-12)


def test_smoothness_flci_matches_honestdid(ehec_es, honest_ref):
    res = honest_did(ehec_es, method="smoothness", M=[0, 0.01, 0.02, 0.03, 0.04, 0.05])
    sens = res.sensitivity
    # moderndid's port of HonestDiD on the same betahat / sigma
    peer = np.array(honest_ref["smoothness_flci"])
    np.testing.assert_allclose(sens["M"], peer[:, 0])
    np.testing.assert_allclose(sens["conf_low"], peer[:, 1], atol=1e-5)
    np.testing.assert_allclose(sens["conf_high"], peer[:, 2], atol=1e-5)
    # HonestDiD README (R fixest sigma, printed to 3 significant digits)
    readme = np.array(honest_ref["readme_smoothness_flci"])
    np.testing.assert_allclose(sens["conf_low"], readme[:, 1], atol=1e-4)
    np.testing.assert_allclose(sens["conf_high"], readme[:, 2], atol=1e-3)
    # README: "the breakdown value for a significant effect is M ≈ 0.03" (between grid 0.02, 0.03)
    assert 0.02 < res.breakdown < 0.03
    f = flci(ehec_es._b, ehec_es._s, 5, np.array([1.0, 0.0]), res.breakdown, 0.05)
    assert f.center - f.half_length == pytest.approx(0.0, abs=2e-5)


def test_relative_magnitudes_clf_matches_honestdid(ehec_es, honest_ref):
    res = honest_did(ehec_es, method="relative_magnitudes", Mbar=[0.5, 1, 1.5, 2])
    sens = res.sensitivity
    assert (sens["method"] == "C-LF").all()
    # HonestDiD reports the extreme accepted points of a grid (step ~4e-4 here) and simulates its
    # least-favourable critical value with 1,000 draws; we bisect the ends and use 20,000 draws.
    for ref_key in ("relative_magnitudes_clf", "readme_relative_magnitudes_clf"):
        peer = np.array(honest_ref[ref_key])
        np.testing.assert_allclose(sens["conf_low"], peer[:, 1], atol=6e-4)
        np.testing.assert_allclose(sens["conf_high"], peer[:, 2], atol=6e-4)
    lengths = (sens["conf_high"] - sens["conf_low"]).to_numpy()
    assert np.all(np.diff(lengths) > 0)
    # README: significant up to M̄ = 2 (its interval at 2 just includes 0)
    assert 1.5 < res.breakdown < 2


def test_relative_magnitudes_bonferroni_is_conservative(ehec_es, honest_ref):
    """The fallback for very long event studies contains the C-LF intervals."""
    b, s = ehec_es._b, ehec_es._s
    peer = np.array(honest_ref["relative_magnitudes_clf"])
    for mbar, lb, ub in peer:
        blb, bub, _, _ = rm_bonferroni_ci(b, s, 5, np.array([1.0, 0.0]), mbar, 0.05)
        assert blb <= lb and bub >= ub


def test_rm_piece_constraints_by_hand():
    a = rm_piece_constraints(2, 1, 2.0, 0, 1.0)  # δ = (δ_-2, δ_-1, δ_1), δ_0 = 0, s = first step
    d = np.array([0.0, 0.1, 0.15])  # steps: 0.1, -0.1, 0.15 ; largest pre step 0.1 (s = 0, +)
    assert np.all(a @ d <= 1e-12)  # |0.15| <= 2 * 0.1 and |-0.1| <= 0.1
    assert np.any(a @ np.array([0.0, 0.1, 0.25]) > 0)  # 0.25 > 2 * 0.1
    assert np.any(a @ np.array([0.1, 0.15, 0.0]) > 0)  # pre steps 0.05, -0.15: s=0 not the max


def test_rm_identified_set_width_by_hand():
    beta = np.array([0.1, -0.2, 1.0, 2.0])  # pre: e=-3,-2; post e=0,1
    sigma = np.eye(4) * 1e-12
    lb, ub, m_up, spread = rm_bonferroni_ci(beta, sigma, 2, np.array([0.0, 1.0]), 1.0, 0.05)
    # largest pre change: |(-0.2) - 0.1| = 0.3 vs |0 - (-0.2)| = 0.2; second post period: k = 2
    assert m_up == pytest.approx(0.3, abs=1e-5)
    assert spread == 2
    assert (lb, ub) == pytest.approx((2.0 - 0.6, 2.0 + 0.6), abs=1e-4)


def test_folded_normal_quantile():
    assert folded_normal_quantile(0.0, 0.05) == pytest.approx(1.959964, abs=1e-6)
    c = folded_normal_quantile(1.3, 0.05)
    from scipy import stats

    assert stats.norm.cdf(c - 1.3) - stats.norm.cdf(-c - 1.3) == pytest.approx(0.95, abs=1e-12)


def test_split_event_study_reference_handling():
    # reference reported with zero variance (R did universal base period)
    p = split_event_study([-2, -1, 0, 1], [0.1, 0.0, 1.0, 2.0], np.diag([1.0, 0.0, 1.0, 1.0]))
    assert p.ref == -1 and p.n_pre == 1 and p.n_post == 2
    # reference omitted
    p = split_event_study([-3, -2, 0], [0.1, 0.2, 1.0], np.eye(3))
    assert p.ref == -1 and p.pre_times.tolist() == [-3, -2]
    with pytest.raises(DesignError, match="reference"):
        split_event_study([-2, -1, 0, 1], [0.1, 0.2, 1.0, 2.0], np.eye(4))  # varying base
    with pytest.raises(DesignError, match=r"contiguous|reference"):
        split_event_study([-4, -2, 0, 3], [0.1, 0.2, 1.0, 2.0], np.eye(4))


def test_honest_did_result_views(ehec_es):
    res = honest_did(ehec_es, e=1, M=[0, 0.02])
    t = res.tidy()
    assert t["term"].tolist() == ["original", "M=0", "M=0.02"]
    assert t["estimate"].iloc[0] == pytest.approx(ehec_es._b[-1])
    assert isinstance(res.plot(), Figure)
    json.dumps(res.to_dict())
    default = honest_did(ehec_es, method="relative_magnitudes")  # default grid 0, 0.5, ..., 2
    assert default.sensitivity["Mbar"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.slow
def test_flci_and_rm_coverage_under_violations():
    """500 draws of beta ~ N(tau + delta, Sigma) with delta in ΔSD(M) (a quadratic trend whose
    second difference is exactly M): FLCI covers tau_0 >= 93%; with a linear pre-trend
    (M̄ = 1 holds with equality) the C-LF test accepts the true tau_0 in >= 93% of draws."""
    rng = np.random.default_rng(7)
    n_pre, n_post = 4, 2
    k = n_pre + n_post
    a = rng.normal(size=(k, k))
    sigma = 0.01 * (a @ a.T / k + np.eye(k))
    pos = np.concatenate([np.arange(-n_pre, 0), np.arange(1, n_post + 1)])
    m = 0.05
    delta_sd = 0.5 * m * pos * (pos + 1)  # second differences m, delta_ref = 0
    delta_rm = 0.03 * pos
    tau = np.concatenate([np.zeros(n_pre), [0.2, 0.3]])
    root = np.linalg.cholesky(sigma)
    pieces = rm_moment_inequalities(sigma, n_pre, np.array([1.0, 0.0]), 1.0)
    frontier = FlciFrontier(sigma, n_pre, np.array([1.0, 0.0]))  # the FLCI weights ignore β̂
    hit_sd, hit_rm = [], []
    for _ in range(500):
        eps = root @ rng.normal(size=k)
        f = flci(
            tau + delta_sd + eps, sigma, n_pre, np.array([1.0, 0.0]), m, 0.05, frontier=frontier
        )
        hit_sd.append(abs(f.center - 0.2) <= f.half_length)
        b_rm = tau + delta_rm + eps
        hit_rm.append(not arp_union_rejects(pieces, b_rm, 0.2, 0.05, inference="C-LF", seed=3))
    assert np.mean(hit_sd) >= 0.93, np.mean(hit_sd)
    assert np.mean(hit_rm) >= 0.93, np.mean(hit_rm)


def test_honest_did_bad_input(ehec_es):
    with pytest.raises(OptionError, match="method"):
        honest_did(ehec_es, method="sd")
    with pytest.raises(OptionError, match="e=5"):
        honest_did(ehec_es, e=5)
    with pytest.raises(OptionError, match="e=-3"):
        honest_did(ehec_es, e=-3)
    with pytest.raises(OptionError, match="non-negative"):
        honest_did(ehec_es, M=[-0.1])
    with pytest.raises(OptionError, match="non-negative"):
        honest_did(ehec_es, M="big")
    with pytest.raises(OptionError, match="Mbar"):
        honest_did(ehec_es, method="smoothness", Mbar=1)
    with pytest.raises(OptionError, match="event-study"):
        honest_did(object())
    with pytest.raises(DesignError, match="pre-period"):
        honest_did(Protocol([-1, 0, 1], [0.0, 1.0, 2.0], np.diag([0.0, 1.0, 1.0])))
    with pytest.raises(DesignError, match="non-finite"):
        honest_did(Protocol([-2, 0], [np.nan, 2.0], np.eye(2)))


def test_works_on_callaway_santanna_dynamic_aggregation():
    """The protocol is all honest_did needs: R did's event study with a universal base period
    (the reference -1 is reported with zero variance); a varying base period is refused."""
    from attribution.designs.did import aggte, att_gt, pretrend_test

    mp = mpdta.load_mpdta()
    kw = dict(yname="lemp", tname="year", idname="countyreal", gname="first_treat")
    agg = aggte(att_gt(mp, base_period="universal", **kw), type="dynamic")
    res = honest_did(agg, M=[0.0, 0.01])
    times, est, _ = agg.event_study()
    assert res.tidy()["estimate"].iloc[0] == pytest.approx(est[times == 0][0])
    length = res.sensitivity["conf_high"] - res.sensitivity["conf_low"]
    assert length.is_monotonic_increasing
    assert pretrend_test(agg).df == 3
    with pytest.raises(DesignError, match="universal"):
        honest_did(aggte(att_gt(mp, **kw), type="dynamic"))


def test_relative_magnitudes_single_post_period(ehec_es):
    """One post-period: the ARP test has no nuisance parameter (every moment enters). moderndid
    0.2.0 fails on this case, so we check shape: nested, inside the Bonferroni interval."""
    p = Protocol(ehec_es._t[:6], ehec_es._b[:6], ehec_es._s[:6, :6])
    sens = honest_did(p, method="relative_magnitudes", Mbar=[0.5, 1, 2]).sensitivity
    assert (sens["method"] == "C-LF").all()
    assert sens["conf_low"].is_monotonic_decreasing and sens["conf_high"].is_monotonic_increasing
    for mbar, lb, ub in sens[["Mbar", "conf_low", "conf_high"]].itertuples(index=False):
        blb, bub, _, _ = rm_bonferroni_ci(p._b, p._s, 5, np.array([1.0]), mbar, 0.05)
        assert blb <= lb < ub <= bub
