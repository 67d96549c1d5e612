"""Slow: over many seeds, simulated factorial contrasts are unbiased for the exact truth.

For each of 600 seeds a small experiment (4,000 users) is drawn; each BHH effect is estimated by the
same equal-weight contrast of the 8 sample cell means, with a normal 95% interval from the cell
variances. Pooled coverage over the 7 effects × 600 seeds (4,200 intervals, binomial SD 0.34
points) must lie in 93–97%, and every effect's mean error must be within 4 SE of zero.
"""

from __future__ import annotations

import numpy as np
import pytest

from attribution.simulate import factorial_experiment, single_market_launch, staggered_rollout
from attribution.simulate.factorial import factorial_truth
from attribution.simulate.truth import cells, effect_terms

pytestmark = pytest.mark.slow

TERMS = [":".join(t) for t in effect_terms(("E", "R", "K"))]


def _contrasts() -> np.ndarray:
    signs = 2.0 * np.array(cells(3)) - 1.0
    return np.array(
        [2 / 8 * np.prod(signs[:, ["ERK".index(j) for j in t.split(":")]], axis=1) for t in TERMS]
    )


def test_factorial_cell_mean_contrasts_cover_the_truth():
    truth = factorial_truth().effects[TERMS].to_numpy()
    c = _contrasts()
    errors, covered = [], []
    for seed in range(600):
        df = factorial_experiment(4000, seed=seed).table()
        cell = (df["E"] + 2 * df["R"] + 4 * df["K"]).to_numpy()
        y = df["engagement"].to_numpy()
        n = np.bincount(cell, minlength=8)
        mean = np.bincount(cell, weights=y, minlength=8) / n
        var = (np.bincount(cell, weights=y**2, minlength=8) - n * mean**2) / (n - 1)
        est = c @ mean
        se = np.sqrt((c**2) @ (var / n))
        errors.append(est - truth)
        covered.append(np.abs(est - truth) <= 1.959964 * se)
    errors, covered = np.array(errors), np.array(covered)
    coverage = covered.mean()
    assert 0.93 <= coverage <= 0.97, coverage
    assert (covered.mean(axis=0) >= 0.91).all(), covered.mean(axis=0)
    z = errors.mean(axis=0) / (errors.std(axis=0, ddof=1) / np.sqrt(len(errors)))
    assert (np.abs(z) < 4).all(), z


def test_panel_truths_are_unbiased_over_seeds():
    """The oracle estimate (observed minus the exact untreated mean) centres on the exact ATT."""
    err = []
    for seed in range(500):
        sim = single_market_launch(seed=seed, n_units=12, n_periods=10, start_period=6)
        p, d = sim.table(), sim.truth.details
        obs = p[p["treatment"] == 1]["engagement"].to_numpy()
        err.append(obs.mean() - d["effects"]["y0_mean"].mean() - d["att"])
    err = np.array(err)
    assert abs(err.mean()) < 4 * err.std(ddof=1) / np.sqrt(len(err))
    # staggered: never-treated vs cohort 2x2 DiD at the last period centres on ATT(g, T)
    dd = []
    for seed in range(200):
        sim = staggered_rollout(seed=seed, components=("K",), n_markets=8, n_periods=12)
        p, d = sim.table("surface_panel"), sim.truth.details
        y = p.pivot(index="unit", columns="period", values="engagement")
        first = d["cohort_of_unit"].set_index("unit")["K"].loc[y.index].to_numpy()
        g = int(first.max())
        dy = (y[12] - y[g - 1]).to_numpy()
        est = dy[first == g].mean() - dy[first == 0].mean()
        att = d["att_gt"].query("group == @g and time == 12")["att"].item()
        dd.append(est - att)
    dd = np.array(dd)
    assert abs(dd.mean()) < 4 * dd.std(ddof=1) / np.sqrt(len(dd))
