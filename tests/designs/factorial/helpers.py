"""Small seeded data generators and the statsmodels reference used by the factorial tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

FACTORS = ("E", "R", "K")


def experiment(
    n: int = 400,
    *,
    seed: int = 0,
    factors: Sequence[str] = FACTORS,
    n_markets: int = 12,
    hetero: bool = True,
) -> pd.DataFrame:
    """Users randomised independently on every factor; heteroskedastic, market-correlated outcome
    with a pre-period covariate (CUPED) — enough structure for every covariance to differ."""
    rng = np.random.default_rng(seed)
    k = len(factors)
    x = rng.integers(0, 2, size=(n, k))
    market = rng.integers(0, n_markets, size=n)
    market_shock = rng.normal(0, 0.5, size=n_markets)[market]
    pre = rng.gamma(2.0, 2.0, size=n)
    cell = (x * (2 ** np.arange(k))).sum(axis=1)
    cell_effect = np.linspace(0.0, 1.5, 2**k)[cell] + 0.3 * x[:, 0] * x[:, -1]
    scale = 1.0 + (0.5 * cell / 2**k if hetero else 0.0)
    y = 5.0 + cell_effect + 0.6 * pre + market_shock + rng.normal(0, 1, size=n) * scale
    out = pd.DataFrame({f: x[:, j].astype("int8") for j, f in enumerate(factors)})
    out.insert(0, "user_id", np.arange(n, dtype="int64"))
    out["market"] = np.array([f"m{m:02d}" for m in market])
    out["pre_engagement"] = pre
    out["engagement"] = y
    return out


def saturated_ols(
    frame: pd.DataFrame,
    *,
    outcome: str,
    factors: Sequence[str],
    covariate: str | None = None,
    cov_type: str = "HC2",
    cluster: str | None = None,
):
    """statsmodels OLS of the outcome on one dummy per present cell (no intercept) [+ covariate].

    Returns (fit, cells): cells are the present cell bitmasks in the column order of the dummies.
    """
    import statsmodels.api as sm

    k = len(factors)
    cell = sum(frame[f].astype("int64").to_numpy() * 2**j for j, f in enumerate(factors))
    cells = np.unique(cell)
    x = (cell[:, None] == cells[None, :]).astype(float)
    if covariate is not None:
        x = np.column_stack([x, frame[covariate].to_numpy(float)])
    model = sm.OLS(frame[outcome].to_numpy(float), x)
    if cov_type == "iid":
        fit = model.fit()
    elif cov_type == "CR1":
        groups = pd.factorize(frame[cluster])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    else:
        fit = model.fit(cov_type=cov_type, use_t=True)
    assert k >= 1
    return fit, cells


def effect_rows(res) -> pd.DataFrame:
    """The effect rows of a factorial result's tidy table (E, R, E:R, ...): no `total` row and no
    contribution rows (those have `component` set)."""
    tab = res.tidy()
    keep = tab["component"].isna() & (tab["term"] != "total")
    return tab[keep].reset_index(drop=True)
