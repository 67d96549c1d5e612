"""Seeded panels with known truth for the TWFE / event-study / stacked tests and reference numbers.

Used by make_reference_pyfixest.py (to cache pyfixest output) and by the tests (to rebuild the same
data). Pure numpy/pandas; no randomness without a seed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ehec_path", "launch_panel", "load_ehec_nonstaggered", "staggered_panel", "tau"]


def tau(e: np.ndarray | float, *, dynamic: bool = True) -> np.ndarray:
    """True effect at event time e >= 0: 1 + 0.5·e (dynamic) or 1 (static); 0 before adoption."""
    e = np.asarray(e, dtype=float)
    eff = 1.0 + 0.5 * e if dynamic else np.ones_like(e)
    return np.where(e >= 0, eff, 0.0)


def staggered_panel(
    *,
    n_units: int = 120,
    n_periods: int = 8,
    cohorts: tuple[int, ...] = (3, 5, 7),
    never_share: float = 0.25,
    seed: int = 0,
    dynamic: bool = True,
    cohort_scale: tuple[float, ...] | None = None,
    n_markets: int = 12,
    unbalanced: bool = False,
    covariate: bool = False,
    sigma: float = 1.0,
) -> pd.DataFrame:
    """Staggered adoption: y = a_i + l_t + h_g·tau(t-g) (+ 0.7 x) + AR-free noise.

    Columns: unit (int), period (1..T), g (first treated period, 0 never), D (0/1 absorbing),
    market (cluster coarser than unit), x (covariate, if asked), y. `cohort_scale` multiplies each
    cohort's effect (heterogeneity across cohorts); default 1 for all.
    """
    rng = np.random.default_rng(seed)
    n_never = round(never_share * n_units)
    g_units = np.concatenate(
        [np.zeros(n_never, dtype=int), rng.choice(np.array(cohorts), size=n_units - n_never)]
    )
    scale = dict(zip(cohorts, cohort_scale or (1.0,) * len(cohorts), strict=True))
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    g = np.repeat(g_units, n_periods)
    a = np.repeat(rng.normal(0, 1, n_units) + 0.3 * (g_units > 0), n_periods)
    lam = 0.2 * np.arange(1, n_periods + 1) + rng.normal(0, 0.3, n_periods)
    h = np.array([scale.get(int(c), 0.0) for c in g])
    e = np.where(g > 0, period - g, -1)
    y = a + lam[period - 1] + h * tau(e, dynamic=dynamic) + rng.normal(0, sigma, len(unit))
    frame = pd.DataFrame(
        {
            "unit": unit,
            "period": period,
            "g": g,
            "D": ((g > 0) & (period >= g)).astype(np.int64),
            "market": unit % n_markets,
        }
    )
    if covariate:
        x = rng.normal(0, 1, len(unit)) + 0.1 * period
        frame["x"] = x
        y = y + 0.7 * x
    frame["y"] = y
    if unbalanced:  # drop 10% of rows, keeping at least 3 rows per unit
        drop = rng.random(len(frame)) < 0.10
        keep_min = frame.groupby("unit").cumcount() < 3
        frame = frame.loc[~drop | keep_min].reset_index(drop=True)
    return frame


def launch_panel(
    *,
    n_markets: int = 12,
    surfaces: tuple[str, ...] = ("home", "search", "watch_next"),
    n_periods: int = 24,
    seed: int = 0,
    effects: dict[str, float] | None = None,
    overlap_units: int = 0,
    sigma: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """A surface panel and a launch log for components E, R, K (tables.md column names).

    Each component reaches each unit with probability 0.7 at an independent uniformly drawn period
    in 5..n_periods-4; the first `overlap_units` units get R launched one period after E (close
    launches that `rollout_overlap` must flag). Effects are constant steps: engagement rises by
    effects[c] from the launch on. Returns (surface_panel, launch_log, effects).
    """
    effects = effects or {"E": 0.5, "R": 1.0, "K": -0.4}
    rng = np.random.default_rng(seed)
    units = [f"m{m:02d}/{s}" for m in range(n_markets) for s in surfaces]
    rows = []
    for i, u in enumerate(units):
        for c in effects:
            if rng.random() < 0.7:
                rows.append((c, u, int(rng.integers(5, n_periods - 3))))
        if i < overlap_units:
            rows = [r for r in rows if not (r[1] == u and r[0] in ("E", "R"))]
            start = int(rng.integers(5, n_periods - 4))
            rows += [("E", u, start), ("R", u, start + 1)]
    log = pd.DataFrame(rows, columns=["component", "unit", "start_period"])
    log["start_date"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(log["start_period"] - 1, "D")
    log["rollout_share"] = 1.0
    log = log.sort_values(["component", "unit"]).reset_index(drop=True)
    n_u = len(units)
    period = np.tile(np.arange(1, n_periods + 1), n_u)
    unit = np.repeat(np.array(units), n_periods)
    a = np.repeat(rng.normal(10, 1, n_u), n_periods)
    lam = 0.05 * np.arange(1, n_periods + 1) + rng.normal(0, 0.2, n_periods)
    y = a + lam[period - 1] + rng.normal(0, sigma, len(period))
    shares = {}
    for c, eff in effects.items():
        start = pd.Series(unit).map(log[log.component == c].set_index("unit")["start_period"])
        on = (start.notna() & (period >= start.fillna(np.inf))).to_numpy()
        y = y + eff * on
        shares[c] = on.astype(float)
    panel = pd.DataFrame(
        {
            "unit": unit,
            "market": [u.split("/")[0] for u in unit],
            "surface": [u.split("/")[1] for u in unit],
            "period": period.astype(np.int64),
            "engagement": y,
            "users": 1000,
        }
        | shares
    )
    return panel, log, dict(effects)


def ehec_path() -> Path:
    """ehec_data (Medicaid expansion, the HonestDiD README example) shipped in the moderndid wheel."""
    spec = importlib.util.find_spec("moderndid")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("moderndid (the data carrier) is not installed; run `make install`")
    return Path(spec.submodule_search_locations[0]) / "core" / "datasets" / "ehec_data.pkl.gz"


def load_ehec_nonstaggered() -> pd.DataFrame:
    """The README's non-staggered sample: years < 2016, the 2015 cohort dropped; g = 2014 or 0.

    Cohorts after 2015 are treated after the sample ends, i.e. never treated within it (as D = 0
    in the README's ``i(year, D, ref = 2013)``).
    """
    df = pd.read_pickle(ehec_path())
    df = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))].copy()
    df["g"] = np.where(df["yexp2"] == 2014, 2014, 0).astype(np.int64)
    df["D"] = (df["g"] == 2014).astype(np.int64)
    return df[["stfips", "year", "dins", "g", "D"]].reset_index(drop=True)
