"""The exact truth algebra: BHH effects and Shapley against published / hand-derived numbers
(tests/reference/simulate/README.md), against statsmodels, and the factorial truth in closed form."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from attribution.simulate import ComponentEffects, factorial_truth
from attribution.simulate.model import SEGMENTS, WINDOW_DAYS
from attribution.simulate.truth import bhh_effects, cell_label, cells, shapley_values

PILOT_Y = [60, 72, 54, 68, 52, 83, 45, 80]  # BHH (2005) ch. 5, Yates order, T fastest
PILOT_EFFECTS = {"T": 23.0, "C": -5.0, "K": 1.5, "T:C": 1.5, "T:K": 10.0, "C:K": 0.0, "T:C:K": 0.5}


def _pilot() -> pd.Series:
    comps = ("T", "C", "K")
    return pd.Series({cell_label(comps, c): y for c, y in zip(cells(3), PILOT_Y, strict=True)})


def test_bhh_effects_reproduce_the_pilot_plant():
    eff = bhh_effects(("T", "C", "K"), _pilot())
    assert list(eff.index) == list(PILOT_EFFECTS)
    for term, value in PILOT_EFFECTS.items():
        assert eff[term] == pytest.approx(value, abs=1e-12)


def test_shapley_of_the_pilot_plant_by_hand_and_by_permutations():
    comps = ("T", "C", "K")
    phi = shapley_values(comps, _pilot())
    assert phi["T"] == pytest.approx(23.0 + 1 / 6, abs=1e-12)
    assert phi.sum() == pytest.approx(80 - 60, abs=1e-12)
    # brute force: average marginal gain over all 3! orderings
    y = _pilot()

    def v(on):
        return y[cell_label(comps, [int(c in on) for c in comps])] - y["T=0,C=0,K=0"]

    for j in comps:
        gains = []
        for order in itertools.permutations(comps):
            before = set(order[: order.index(j)])
            gains.append(v(before | {j}) - v(before))
        assert phi[j] == pytest.approx(np.mean(gains), abs=1e-12)


def test_bhh_effects_equal_twice_the_saturated_ols_coefficients():
    tr = factorial_truth()
    grid = 2.0 * np.array(cells(3)) - 1.0
    cols = {"const": np.ones(8)}
    for order in range(1, 4):
        for term in itertools.combinations(range(3), order):
            cols[":".join("ERK"[i] for i in term)] = np.prod(grid[:, list(term)], axis=1)
    X = pd.DataFrame(cols)
    fit = sm.OLS(tr.cell_means.to_numpy(), X).fit()
    for term in tr.effects.index:
        assert tr.effects[term] == pytest.approx(2 * fit.params[term], abs=1e-12)


@pytest.mark.parametrize(
    ("effects", "window"),
    [
        (ComponentEffects(), WINDOW_DAYS),
        (ComponentEffects(EK=0.02, novelty=2.0, novelty_days=1.5), 7),
        (ComponentEffects(), 1),
    ],
)
def test_factorial_cell_means_in_closed_form(effects, window):
    """Recompute every exact cell mean with geometric sums instead of the day-by-day average."""
    q, D, nu = math.exp(-1 / effects.novelty_days), window, effects.novelty
    s1 = (1 - q**D) / (D * (1 - q))
    s2 = (1 - q ** (2 * D)) / (D * (1 - q**2))
    n1, n2 = 1 + nu * s1, 1 + 2 * nu * s1 + nu**2 * s2
    tr = factorial_truth(effects, window_days=window)
    for cell in cells(3):
        e, r, k = cell
        total = 0.0
        for s in SEGMENTS:
            a = s.theta_E * effects.E * e + s.theta_R * (effects.R * r + effects.ER * e * r)
            b = s.theta_K * effects.K * k + s.theta_EK * effects.EK * e * k
            total += s.share * s.mean_activity * (1 + n1 * (a + b) + n2 * a * b)
        assert tr.cell_means[cell_label("ERK", cell)] == pytest.approx(total, rel=1e-14)
    assert sum(s.share for s in SEGMENTS) == pytest.approx(1.0, abs=1e-15)
