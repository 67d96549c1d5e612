"""Small simulated experiments shared by the experiment tests (unit-level truth in numpy)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def users(n: int = 4_000, *, seed: int = 0, lift: float = 0.05, arms: int = 2) -> pd.DataFrame:
    """One row per user: arm, heavy-tailed impressions and clicks, a pre-period covariate,
    sessions and engagement, a 0/1 conversion and a segment."""
    rng = np.random.default_rng(seed)
    names = ["control"] + [f"t{i}" for i in range(1, arms)]
    arm = rng.choice(names, size=n)
    treated = arm != "control"
    activity = rng.lognormal(0.0, 1.0, n)
    impressions = 1 + rng.poisson(5 * activity)
    ctr = np.clip(rng.beta(2, 18, n) * (1 + lift * treated), 0, 1)
    clicks = rng.binomial(impressions, ctr)
    pre = activity * 3 + rng.normal(0, 1, n)
    sessions = 1 + rng.poisson(2 * activity * (1 + lift * treated))
    engagement = sessions * rng.gamma(2.0, 1.0 + 0.5 * lift * treated)
    return pd.DataFrame(
        {
            "user": np.arange(n),
            "arm": arm,
            "impressions": impressions,
            "clicks": clicks,
            "pre_clicks": rng.binomial(impressions, ctr),
            "pre_impressions": impressions,
            "pre": pre,
            "sessions": sessions,
            "engagement": engagement + 0.3 * pre,
            "converted": (rng.random(n) < 0.2 + 0.02 * treated).astype("int64"),
            "segment": rng.choice(["new", "casual", "heavy"], size=n),
            "surface": rng.choice(["home", "search"], size=n),
        }
    )


def ratio_direct(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Σnum/Σden and its delta-method variance, straight from unit-level arrays."""
    r = num.sum() / den.sum()
    lin = (num - r * den) / den.mean()
    return r, lin.var(ddof=1) / len(num)
