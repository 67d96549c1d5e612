"""Fixtures for the DiD tests: mpdta, its cached reference numbers, a small staggered simulator."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "did"


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_mpdta = _load_module("_did_reference_mpdta", REFERENCE / "mpdta.py")
load_mpdta = _mpdta.load_mpdta


@pytest.fixture(scope="session")
def mpdta() -> pd.DataFrame:
    """mpdta (500 counties × 2003-2007); columns year, countyreal, lpop, lemp, first_treat, treat."""
    return load_mpdta()


@pytest.fixture(scope="session")
def att_gt_reference() -> dict:
    """moderndid 0.2.0 numbers on mpdta (tests/reference/did/make_reference.py)."""
    return json.loads((REFERENCE / "att_gt_mpdta.json").read_text())


def staggered_panel(
    seed: int,
    *,
    n_units: int = 400,
    n_periods: int = 6,
    cohorts: tuple[int, ...] = (3, 4, 5),
    never_share: float = 0.35,
    slope: float = 0.5,
    noise: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staggered adoption with effects growing with exposure: ATT(g,t) = slope · (t - g + 1).

    y_it = α_i + λ_t + 1{t >= g_i} slope (t - g_i + 1) + ε_it with α_i correlated with the cohort
    (so levels differ between cohorts while trends are parallel). Returns (panel, truth) with
    truth columns group, time, att.
    """
    rng = np.random.default_rng(seed)
    g = np.where(
        rng.random(n_units) < never_share, 0, rng.choice(np.asarray(cohorts), size=n_units)
    )
    alpha = rng.normal(size=n_units) + 0.3 * g
    lam = np.cumsum(rng.normal(0.2, 0.3, size=n_periods))
    t = np.arange(1, n_periods + 1)
    exposure = t[None, :] - g[:, None] + 1
    effect = np.where((g[:, None] > 0) & (exposure >= 1), slope * exposure, 0.0)
    y = alpha[:, None] + lam[None, :] + effect + noise * rng.normal(size=(n_units, n_periods))
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_periods),
            "period": np.tile(t, n_units),
            "cohort": np.repeat(g, n_periods),
            "y": y.ravel(),
        }
    )
    truth = pd.DataFrame(
        [(gg, tt, slope * (tt - gg + 1) if tt >= gg else 0.0) for gg in cohorts for tt in t[1:]],
        columns=["group", "time", "att"],
    )
    return frame, truth


@pytest.fixture(scope="session")
def make_staggered():
    """The `staggered_panel` generator (fixtures are the way to share helpers under importlib)."""
    return staggered_panel
