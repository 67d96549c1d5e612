"""The seeded staggered panel behind weighted_fe.json (pure numpy / pandas; no pyfixest).

`weighted_panel(seed=7)` is also saved as `weighted_panel_seed7.csv` (full precision) so a change
in numpy's generators cannot silently change the data; the JSON stores column sums as a check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["weighted_panel"]


def weighted_panel(
    *,
    seed: int = 7,
    n_units: int = 60,
    n_periods: int = 8,
    cohorts: tuple[int, ...] = (3, 5, 7),
    never_share: float = 0.25,
) -> pd.DataFrame:
    """Balanced staggered panel with heterogeneous dynamic effects and sampling weights.

    y = a_i + l_t + h_g · (1 + 0.5·e)·1[e ≥ 0] + ε, e = t − g, with cohort scales h = (1.5, 1, 0.5)
    for cohorts (3, 5, 7), so TWFE, the event study and Sun & Abraham differ. Weights: `w_unit`
    (constant within a unit, in (0.5, 3), 0.5 + 2.5·logistic(a_i)·U(0.6, 1): larger for units with
    larger a_i, so weighting moves the estimates) and `w_row` (`w_unit` times a per-row
    U(0.8, 1.25) factor: observation weights that vary over time).
    Columns: unit, period (1..T), g (first treated period, 0 = never), D, rel_time (t − g; −1 for
    never-treated units, i.e. the reference level), y, w_unit, w_row.
    """
    rng = np.random.default_rng(seed)
    n_never = round(never_share * n_units)
    g_units = np.concatenate(
        [np.zeros(n_never, dtype=int), rng.choice(np.array(cohorts), size=n_units - n_never)]
    )
    scale = dict(zip(cohorts, (1.5, 1.0, 0.5), strict=True))
    alpha = rng.normal(0, 1, n_units) + 0.3 * (g_units > 0)
    w_unit = 0.5 + 2.5 / (1.0 + np.exp(-alpha)) * rng.uniform(0.6, 1.0, n_units)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    g = np.repeat(g_units, n_periods)
    lam = 0.2 * np.arange(1, n_periods + 1) + rng.normal(0, 0.3, n_periods)
    e = np.where(g > 0, period - g, -1)
    h = np.array([scale.get(int(c), 0.0) for c in g])
    effect = np.where(e >= 0, h * (1.0 + 0.5 * e), 0.0)
    y = np.repeat(alpha, n_periods) + lam[period - 1] + effect + rng.normal(0, 1, len(unit))
    wu = np.repeat(w_unit, n_periods)
    return pd.DataFrame(
        {
            "unit": unit,
            "period": period,
            "g": g,
            "D": ((g > 0) & (period >= g)).astype(np.int64),
            "rel_time": e.astype(np.int64),
            "y": y,
            "w_unit": wu,
            "w_row": wu * rng.uniform(0.8, 1.25, len(unit)),
        }
    )
