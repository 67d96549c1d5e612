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


def clicks(
    n_users: int = 3_000,
    *,
    seed: int = 0,
    factors: tuple[str, ...] = ("E", "R"),
    rows_per_user: int = 1,
    n_markets: int = 0,
) -> tuple[pd.DataFrame, dict[int, float]]:
    """Users randomised on every factor; heavy-tailed impressions (Pareto tail index 3: finite
    variance, infinite third moment), a per-user click-through rate independent of impressions, so
    the true cell ratio E[clicks] / E[impressions] is the cell's mean CTR exactly; the pre-period
    (pre_clicks, pre_impressions) shares the user's propensity but not the treatment. Returns the rows
    (split over `rows_per_user` days) and the true ratio per cell bitmask."""
    rng = np.random.default_rng(seed)
    k = len(factors)
    x = rng.integers(0, 2, size=(n_users, k))
    cell = (x * (2 ** np.arange(k))).sum(axis=1)
    base = 0.04 + 0.006 * np.arange(2**k) + 0.004 * (np.arange(2**k) == 2**k - 1)
    truth = {c: float(base[c]) for c in range(2**k)}
    imps = np.ceil(20.0 * (rng.pareto(3.0, n_users) + 1.0)).astype("int64")
    # a user's propensity w (mean 1, in [0, 2], overdispersed) scales the cell's CTR; before the
    # experiment every user had the all-off CTR, so the pre-period is untouched by the treatment
    w = 2.0 * rng.beta(0.5, 0.5, n_users)
    clk = rng.binomial(imps, base[cell] * w)
    pre_imps = np.ceil(imps * rng.uniform(0.8, 1.2, n_users)).astype("int64")
    pre_clk = rng.binomial(pre_imps, base[0] * w)
    users = pd.DataFrame({f: x[:, j].astype("int8") for j, f in enumerate(factors)})
    users.insert(0, "user_id", np.arange(n_users, dtype="int64"))
    if n_markets:
        users["market"] = [f"m{m:02d}" for m in rng.integers(0, n_markets, n_users)]
    users["clicks"], users["impressions"] = clk, imps
    users["pre_clicks"], users["pre_impressions"] = pre_clk, pre_imps
    if rows_per_user == 1:
        return users, truth
    # split each user's counts over days: the ratio over units must not change
    parts = []
    left_c, left_i = clk.copy(), imps.copy()
    for day in range(rows_per_user):
        last = day == rows_per_user - 1
        take_i = left_i if last else rng.binomial(left_i, 1.0 / (rows_per_user - day))
        take_c = left_c if last else rng.hypergeometric(left_c, left_i - left_c, take_i)
        parts.append(users.assign(day=day, clicks=take_c, impressions=take_i))
        left_c, left_i = left_c - take_c, left_i - take_i
    return pd.concat(parts, ignore_index=True), truth
