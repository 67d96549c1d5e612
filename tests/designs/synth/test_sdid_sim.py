"""SDID on simulated factor-model panels with known effects: unbiased within noise.

`factor_panel` is the generator for these tests and the slow coverage suite
(test_synth_inference_coverage.py): an interactive fixed-effects model
    Y_it(0) = α_i + β_t + Σ_r u_ir v_tr + ε_it
with AR(1) factors and treated units drawn at random (so units are exchangeable, the setting in
which placebo inference is valid). Cohort k's treated unit-periods get the constant effect τ_k.
The estimand is the treated-unit-period average effect Σ_k N_k T_post,k τ_k / Σ_k N_k T_post,k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from attribution import simulate
from attribution.designs.synth import fit
from attribution.designs.synth.sdid import estimate_att
from attribution.errors import OptionError


@dataclass(frozen=True)
class FactorPanel:
    Y: np.ndarray
    W: np.ndarray
    cohorts: dict[int, np.ndarray]
    controls: np.ndarray
    att: float

    def long(self) -> pd.DataFrame:
        n, t = self.Y.shape
        return pd.DataFrame(
            {
                "unit": np.repeat([f"u{i:03d}" for i in range(n)], t),
                "time": np.tile(np.arange(1, t + 1), n),
                "y": self.Y.ravel(),
                "d": self.W.astype(np.int64).ravel(),
            }
        )


def factor_panel(
    seed: int,
    *,
    n_units: int = 40,
    n_periods: int = 25,
    cohorts: tuple[tuple[int, int, float], ...] = ((18, 1, 2.0),),
    n_factors: int = 2,
    noise: float = 1.0,
) -> FactorPanel:
    """`cohorts` = ((adoption column, number of units, τ), ...)."""
    rng = np.random.default_rng(seed)
    alpha = rng.normal(0.0, 3.0, n_units)
    beta = np.cumsum(rng.normal(0.1, 0.5, n_periods))
    u = rng.normal(0.0, 1.0, (n_units, n_factors))
    v = np.empty((n_periods, n_factors))
    v[0] = rng.normal(size=n_factors)
    for t in range(1, n_periods):
        v[t] = 0.8 * v[t - 1] + 0.6 * rng.normal(size=n_factors)
    Y = alpha[:, None] + beta[None, :] + u @ v.T + noise * rng.normal(size=(n_units, n_periods))
    order = rng.permutation(n_units)
    W = np.zeros((n_units, n_periods), dtype=bool)
    out: dict[int, np.ndarray] = {}
    start = 0
    num = den = 0.0
    for a, k, tau in cohorts:
        rows = np.sort(order[start : start + k])
        start += k
        W[rows, a:] = True
        Y[rows, a:] += tau
        out[a] = rows
        num += k * (n_periods - a) * tau
        den += k * (n_periods - a)
    controls = np.sort(order[start:])
    return FactorPanel(Y=Y, W=W, cohorts=out, controls=controls, att=num / den)


def _errors(method: str, n_seeds: int, **kw) -> np.ndarray:
    out = []
    for s in range(n_seeds):
        p = factor_panel(s, **kw)
        att, _, _ = estimate_att(p.Y, p.cohorts, p.controls, method)
        out.append(att - p.att)
    return np.asarray(out)


def _assert_unbiased(err: np.ndarray) -> None:
    se = err.std(ddof=1) / np.sqrt(len(err))
    assert abs(err.mean()) < 3.5 * se, (err.mean(), se)


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_unbiased_one_treated_unit(method):
    _assert_unbiased(_errors(method, 80, n_units=30, n_periods=20, cohorts=((14, 1, 2.0),)))


def test_unbiased_several_treated_units():
    _assert_unbiased(_errors("sdid", 60, n_units=40, n_periods=20, cohorts=((14, 6, 1.5),)))


def test_unbiased_staggered_adoption():
    cohorts = ((10, 3, 1.0), (14, 3, 3.0), (17, 2, -2.0))
    _assert_unbiased(_errors("sdid", 60, n_units=40, n_periods=20, cohorts=cohorts))


def test_sdid_more_precise_than_did_with_factors():
    """Interactive effects break parallel trends; SDID's weights adapt, DiD's do not."""
    kw = {"n_units": 40, "n_periods": 25, "cohorts": ((18, 3, 2.0),), "n_factors": 3}
    rmse_sdid = np.sqrt(np.mean(_errors("sdid", 40, **kw) ** 2))
    rmse_did = np.sqrt(np.mean(_errors("did", 40, **kw) ** 2))
    assert rmse_sdid < 0.8 * rmse_did


def test_noise_free_constant_effect_is_exact():
    """With α_i + β_t only (no factors, no noise) SDID and DiD recover τ exactly."""
    p = factor_panel(3, n_factors=0, noise=0.0, cohorts=((15, 2, 1.25), (20, 2, -0.5)))
    for method in ("sdid", "did"):  # (SC matches levels, so unit effects bias it)
        att, fits, _ = estimate_att(p.Y, p.cohorts, p.controls, method)
        assert att == pytest.approx(p.att, abs=1e-8)
        assert [f.tau for f in fits] == pytest.approx([1.25, -0.5], abs=1e-8)


def test_staggered_fit_equals_per_cohort_block_fits():
    """The staggered ATT is the treated-unit-period weighted mean of block fits per cohort."""
    p = factor_panel(11, n_units=30, n_periods=16, cohorts=((9, 2, 1.0), (12, 3, 2.0)))
    df = p.long()
    res = fit(df, outcome="y", unit="unit", time="time", treatment="d", se_method=None)
    taus, weights = [], []
    for a, rows in p.cohorts.items():
        keep = np.isin(np.arange(p.Y.shape[0]), np.r_[p.controls, rows])
        sub = df[np.repeat(keep, p.Y.shape[1])]
        block = fit(sub, outcome="y", unit="unit", time="time", treatment="d", se_method=None)
        taus.append(block.estimate)
        weights.append(len(rows) * (p.Y.shape[1] - a))
    assert res.estimate == pytest.approx(np.average(taus, weights=weights), abs=1e-10)
    assert list(res.cohorts["estimate"]) == pytest.approx(taus, abs=1e-10)
    assert list(res.cohorts["weight"]) == pytest.approx(np.array(weights) / sum(weights))
    assert list(res.tidy()["term"]) == ["ATT", "ATT(g=10)", "ATT(g=13)"]
    assert list(res.tidy()["group"]) == [None, 10, 13]
    assert res.time_weights.index[-1] == 12  # pre-periods up to the last cohort's adoption


def test_simulator_single_market_launch():
    """End to end on the project simulator: SDID's placebo interval covers the true ATT."""
    sim = simulate.single_market_launch(n_units=30, n_periods=31, treated=1, seed=4)
    res = fit(
        sim.table(),
        outcome="engagement",
        unit="unit",
        time="period",
        treatment="treatment",
        n_reps=100,
        seed=1,
    )
    truth = sim.truth.details["att"]
    row = res.tidy().iloc[0]
    assert row["conf_low"] < truth < row["conf_high"]
    assert abs(res.estimate - truth) < 3 * res.std_error


def test_staggered_plots_by_cohort():
    p = factor_panel(12, n_units=20, n_periods=14, cohorts=((8, 2, 1.0), (11, 3, 2.0)))
    res = fit(p.long(), outcome="y", unit="unit", time="time", treatment="d", se_method=None)
    tr = res.trajectories(9)
    assert tr["post"].sum() == 14 - 8
    assert (tr["treated"] - tr["synthetic"])[tr["post"]].mean() == pytest.approx(
        res.cohorts.loc[0, "estimate"]
    )
    assert res.plot(cohort=12).axes
    with pytest.raises(OptionError, match="not an adoption time"):
        res.plot(cohort=5)
