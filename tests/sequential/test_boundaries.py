"""Group-sequential boundaries against published tables and an independent integration.

References
- Jennison & Turnbull (2000), Group Sequential Methods with Applications to Clinical Trials,
  Table 2.3 (O'Brien & Fleming, K = 5, two-sided alpha = 0.05: C_B = 2.040, so
  c_k = 2.040 sqrt(5/k) = 4.562, 3.226, 2.634, 2.281, 2.040) and Table 2.1 (Pocock, K = 5:
  C_P = 2.413).
- DeMets & Lan (1994), Stat. Med. 13, 1341-1352, Table I (reproduced by gsDesign's sfLDOF /
  sfLDPocock with one-sided alpha 0.025): Lan-DeMets O'Brien-Fleming-type, 5 equal looks,
  two-sided 0.05: 4.877, 3.357, 2.680, 2.290, 2.031; Pocock-type: 2.438, 2.427, 2.410, 2.397,
  2.386.
Independent integrations: nested adaptive quadrature (scipy.integrate.quad) over the score
process for 2 and 3 looks (agreement to 1e-10), and scipy's multivariate normal with the
Brownian-motion covariance sqrt(t_i / t_j) for more looks (to its own error, ~1e-5).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import integrate, special, stats

from attribution import sequential as sq
from attribution.errors import AttributionError, OptionError
from attribution.sequential import group_sequential as gs

FIVE = [0.2, 0.4, 0.6, 0.8, 1.0]


def _null_crossing_mvn(t, c) -> float:
    """P(|Z_k| ≥ c_k for some k) by scipy's multivariate normal (Genz; error ~1e-5)."""
    t = np.asarray(t, float)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    c = np.minimum(np.asarray(c, float), 40.0)
    inside = stats.multivariate_normal.cdf(c, mean=np.zeros(t.size), cov=cov, lower_limit=-c)
    return 1.0 - float(inside)


def _null_crossing_quad(t, c) -> float:
    """The same by nested adaptive quadrature over S_k = Z_k sqrt(t_k) (2 or 3 looks)."""
    t = np.asarray(t, float)
    c = np.asarray(c, float)

    def inside(k: int, s_prev: float) -> float:
        d = t[k] - (t[k - 1] if k else 0.0)
        hi = c[k] * np.sqrt(t[k])
        if k == t.size - 1:
            return special.ndtr((hi - s_prev) / np.sqrt(d)) - special.ndtr(
                (-hi - s_prev) / np.sqrt(d)
            )

        def f(s: float) -> float:
            return stats.norm.pdf((s - s_prev) / np.sqrt(d)) / np.sqrt(d) * inside(k + 1, s)

        return integrate.quad(f, -hi, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

    return 1.0 - inside(0, 0.0)


def test_obrien_fleming_jennison_turnbull_table_2_3():
    b = sq.boundaries(FIVE, method="obrien_fleming")
    np.testing.assert_allclose(b.z_efficacy, [4.562, 3.226, 2.634, 2.281, 2.040], atol=5e-4)
    assert b.tidy()["cumulative_alpha"].iloc[-1] == pytest.approx(0.05, abs=1e-10)


def test_pocock_jennison_turnbull_table_2_1():
    b = sq.boundaries(FIVE, method="pocock")
    np.testing.assert_allclose(b.z_efficacy, 2.413, atol=5e-4)
    # two looks: C_P(2, 0.05) = 2.178 (Table 2.1)
    assert sq.boundaries([0.5, 1.0], method="pocock").z_efficacy[0] == pytest.approx(
        2.178, abs=5e-4
    )


# Jennison & Turnbull (2000) Table 2.1 (Pocock C_P) and Table 2.3 (O'Brien-Fleming C_B), K = 2..5
JT_TABLES = {
    ("pocock", 0.05): [2.178, 2.289, 2.361, 2.413],
    ("pocock", 0.01): [2.772, 2.873, 2.939, 2.986],
    ("obrien_fleming", 0.05): [1.977, 2.004, 2.024, 2.040],
    ("obrien_fleming", 0.01): [2.580, 2.595, 2.609, 2.621],
}


@pytest.mark.parametrize(("method", "alpha"), sorted(JT_TABLES))
def test_jennison_turnbull_constants(method, alpha):
    for k, published in zip(range(2, 6), JT_TABLES[(method, alpha)], strict=True):
        b = sq.boundaries(np.arange(1, k + 1) / k, method=method, alpha=alpha)
        assert b.z_efficacy[-1] == pytest.approx(published, abs=5e-4)


def test_lan_demets_published_tables():
    of = sq.boundaries(FIVE, method="lan_demets_obrien_fleming")
    np.testing.assert_allclose(of.z_efficacy, [4.877, 3.357, 2.680, 2.290, 2.031], atol=5e-4)
    po = sq.boundaries(FIVE, method="lan_demets_pocock")
    np.testing.assert_allclose(po.z_efficacy, [2.438, 2.427, 2.410, 2.397, 2.386], atol=5e-4)


@pytest.mark.parametrize(
    ("t", "method"),
    [
        (FIVE, "obrien_fleming"),
        (FIVE, "pocock"),
        (FIVE, "lan_demets_obrien_fleming"),
        ([0.1, 0.15, 0.6, 1.0], "lan_demets_obrien_fleming"),
        ([0.3, 0.35, 0.9], "lan_demets_pocock"),
        ([0.05, 0.5, 0.55, 0.8, 0.95, 1.0], "lan_demets_pocock"),
    ],
)
def test_spent_alpha_equals_independent_integration(t, method):
    """The cumulative crossing probability under the null equals the alpha spent: the recursion
    to 1e-12 of the spending function; nested quadrature (independent) to 1e-10 for the first two
    and three looks; scipy's multivariate normal to its error for all looks."""
    b = sq.boundaries(t, method=method)
    tab = b.tidy()
    if method.startswith("lan_demets"):
        kind = method.removeprefix("lan_demets_")
        spent = gs.two_sided_spending(np.asarray(t), 0.05, kind)
        np.testing.assert_allclose(tab["cumulative_alpha"], spent, atol=1e-12)
    for k in (2, 3):
        got = _null_crossing_quad(t[:k], b.z_efficacy[:k])
        assert got == pytest.approx(tab["cumulative_alpha"].iloc[k - 1], abs=1e-10)
    got = _null_crossing_mvn(t, b.z_efficacy)
    assert got == pytest.approx(tab["cumulative_alpha"].iloc[-1], abs=2e-5)
    np.testing.assert_allclose(tab["nominal_alpha"], 2 * stats.norm.sf(b.z_efficacy))


def test_interim_lan_demets_spends_only_so_far():
    """An interim look short of full information spends alpha(t) and no more."""
    b = sq.boundaries([0.25, 0.5], method="lan_demets_obrien_fleming")
    spent = gs.two_sided_spending(np.array([0.5]), 0.05, "obrien_fleming")[0]
    assert b.tidy()["cumulative_alpha"].iloc[-1] == pytest.approx(spent, abs=1e-12)
    assert spent < 0.01
    # the same first two looks of a longer design give the same boundaries
    longer = sq.boundaries([0.25, 0.5, 0.75, 1.0], method="lan_demets_obrien_fleming")
    np.testing.assert_allclose(longer.z_efficacy[:2], b.z_efficacy, atol=1e-9)


def test_futility_beta_spending():
    """Non-binding futility: efficacy bounds unchanged; under the design drift the futility stops
    spend beta(t) and the power is as asked; checked by simulating Brownian paths."""
    plain = sq.boundaries(FIVE, method="lan_demets_obrien_fleming")
    b = sq.boundaries(FIVE, method="lan_demets_obrien_fleming", futility="beta_spending", power=0.9)
    tab = b.tidy()
    np.testing.assert_allclose(b.z_efficacy, plain.z_efficacy)
    np.testing.assert_allclose(
        tab["cumulative_beta"], gs.spending(np.array(FIVE), 0.1, "obrien_fleming"), atol=1e-9
    )
    assert tab["z_futility"].iloc[-1] == pytest.approx(tab["z_efficacy"].iloc[-1])
    assert (np.diff(tab["z_futility"]) > 0).all()
    assert 1.0 < b.inflation < 1.2
    # Monte Carlo: 200,000 paths under the design drift
    rng = np.random.default_rng(7)
    t = np.array(FIVE)
    inc = rng.standard_normal((200_000, 5)) * np.sqrt(np.diff(t, prepend=0.0))
    s = np.cumsum(inc + b.drift * np.diff(t, prepend=0.0), axis=1)
    z = s / np.sqrt(t)
    eff = z >= b.z_efficacy
    fut = z < tab["z_futility"].to_numpy()
    first = np.argmax(eff | fut | (z <= -b.z_efficacy), axis=1)
    rows = np.arange(z.shape[0])
    power = eff[rows, first].mean()
    assert power == pytest.approx(0.9, abs=0.003)
    # non-binding: under the null, ignoring futility keeps alpha; obeying it only lowers it
    z0 = np.cumsum(rng.standard_normal((200_000, 5)) * np.sqrt(np.diff(t, prepend=0.0)), axis=1)
    z0 /= np.sqrt(t)
    assert (np.abs(z0) >= b.z_efficacy).any(axis=1).mean() == pytest.approx(0.05, abs=0.002)


def test_boundaries_result_views():
    b = sq.boundaries([0.5, 1.0], method="lan_demets_pocock", futility="beta_spending")
    json.dumps(b.to_dict(), allow_nan=False)
    assert "lan_demets_pocock" in b.summary() and "<table" in b._repr_html_()
    assert b.plot() is not None
    tab = b.tidy()
    tab.loc[0, "z_efficacy"] = 99.0
    assert b.z_efficacy[0] != 99.0  # the result cannot be changed through its table


@pytest.mark.parametrize(
    ("fractions", "kwargs"),
    [
        ([1.0], {}),
        ([], {}),
        (0.5, {}),
        ([0.5, 0.5, 1.0], {}),
        ([0.6, 0.4, 1.0], {}),
        ([0.0, 1.0], {}),
        ([0.5, 1.2], {}),
        ([0.5, np.nan], {}),
        (["a", "b"], {}),
        ([0.5, 0.8], {"method": "obrien_fleming"}),
        ([0.5, 0.8], {"method": "lan_demets_pocock", "futility": "beta_spending"}),
        ([0.5, 1.0], {"method": "haybittle_peto"}),
        ([0.5, 1.0], {"futility": "conditional_power"}),
        ([0.5, 1.0], {"alpha": 0.0}),
        ([0.5, 1.0], {"alpha": "0.05"}),
        ([0.5, 1.0], {"power": 1.0}),
    ],
)
def test_bad_input(fractions, kwargs):
    with pytest.raises(OptionError) as err:
        sq.boundaries(fractions, **kwargs)
    assert isinstance(err.value, AttributionError)
