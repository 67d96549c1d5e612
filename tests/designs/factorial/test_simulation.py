"""Known truth from the co-launch simulator: estimates near the truth (fast) and 95% interval
coverage of every effect, Shapley contribution and the total over 500 seeds (slow)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution import simulate
from attribution.errors import AttributionWarning
from tests.designs.factorial.helpers import effect_rows

F = ["E", "R", "K"]


def _truth_vector(truth) -> pd.Series:
    return pd.concat(
        [
            truth.effects.rename(lambda t: f"effect {t}"),
            truth.shapley.rename(lambda c: f"shapley {c}"),
            pd.Series({"total": truth.total}),
        ]
    )


def _estimates(res) -> pd.DataFrame:
    eff = effect_rows(res).assign(name=lambda d: "effect " + d["term"])
    shap = res.shapley.assign(name=lambda d: "shapley " + d["component"])
    total = pd.DataFrame(
        {"name": ["total"], "estimate": [res.total], "std_error": [res.total_std_error]}
    )
    crit = (eff["conf_high"].iloc[0] - eff["estimate"].iloc[0]) / eff["std_error"].iloc[0]
    total["conf_low"] = total["estimate"] - crit * total["std_error"]
    total["conf_high"] = total["estimate"] + crit * total["std_error"]
    cols = ["name", "estimate", "std_error", "conf_low", "conf_high"]
    return pd.concat([eff[cols], shap[cols], total[cols]]).set_index("name")


@pytest.mark.parametrize("covariate", [None, "pre_engagement"])
def test_one_seed_within_four_standard_errors(covariate) -> None:
    sim = simulate.factorial_experiment(20_000, seed=3)
    res = at.factorial(sim.table(), outcome="engagement", factors=F, covariate=covariate)
    est = _estimates(res)
    truth = _truth_vector(sim.truth).loc[est.index]
    z = (est["estimate"] - truth) / est["std_error"]
    assert (z.abs() < 4).all(), z
    assert res.shapley["estimate"].sum() == pytest.approx(res.total, abs=1e-12)


def test_aa_experiment_has_no_effects() -> None:
    sim = simulate.factorial_experiment(8_000, seed=5, effects=simulate.ComponentEffects.none())
    res = at.factorial(sim.table(), outcome="engagement", factors=F, covariate="pre_engagement")
    assert (sim.truth.effects == 0).all()
    assert (effect_rows(res)["p_value"] > 0.001).all()


@pytest.mark.slow
def test_coverage_over_1000_seeds() -> None:
    """95% intervals (HC2, plain and CUPED) cover the exact truth 93-97% of the time."""
    n_seeds = 1000
    t0 = time.perf_counter()
    hits: dict[str | None, list[pd.Series]] = {None: [], "pre_engagement": []}
    for seed in range(n_seeds):
        sim = simulate.factorial_experiment(4_000, seed=1000 + seed)
        truth = _truth_vector(sim.truth)
        for cov in hits:
            with warnings.catch_warnings():
                # ~0.1% of seeds trip the SRM check (p < 0.001) by chance, as they should
                warnings.simplefilter("ignore", AttributionWarning)
                res = at.factorial(sim.table(), outcome="engagement", factors=F, covariate=cov)
            est = _estimates(res)
            t = truth.loc[est.index]
            hits[cov].append((est["conf_low"] <= t) & (t <= est["conf_high"]))
    elapsed = time.perf_counter() - t0
    for cov, rows in hits.items():
        coverage = pd.concat(rows, axis=1).mean(axis=1)
        print(f"\ncovariate={cov}: coverage over {n_seeds} seeds ({elapsed:.0f} s)\n{coverage}")
        assert coverage.between(0.93, 0.97).all(), coverage
        assert np.mean(coverage) == pytest.approx(0.95, abs=0.01)
