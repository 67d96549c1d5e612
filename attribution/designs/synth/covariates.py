"""Time-varying covariates in SDID / SC / DiD, partialled out by the "projected" approach.

Kranz (2022) and Clarke, Pailañir, Athey & Imbens (2023): β̂ comes from a two-way fixed-effects
regression of the outcome on the covariates over the untreated unit-periods, and the design then
runs on Y − Xβ̂. Pure numpy over the wide arrays of a `SynthPanel`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.designs.synth.panel import SynthPanel
from attribution.errors import DesignError, EstimationError

__all__ = ["project_covariates"]


def project_covariates(panel: SynthPanel) -> tuple[np.ndarray, pd.Series]:
    """Y − Σ_k β̂_k X_k, with β̂ from a TWFE regression on the untreated unit-periods.

    The two-way within transformation on the (unbalanced) untreated cells is done by alternating
    projections (Guimarães & Portugal 2010); β̂ is then OLS of demeaned Y on demeaned X.
    """
    names = list(panel.X)
    untreated = ~panel.W if panel.W is not None else np.ones_like(panel.Y, dtype=bool)
    y = _demean_twoway(panel.Y, untreated)
    Xd = np.column_stack([_demean_twoway(panel.X[n], untreated) for n in names])
    # a covariate whose within-variation is rounding noise is absorbed by the fixed effects
    raw = np.column_stack([panel.X[n][untreated] for n in names])
    spread = np.sqrt(((raw - raw.mean(axis=0)) ** 2).sum(axis=0))
    within = np.sqrt((Xd**2).sum(axis=0))
    absorbed = [n for n, w, r in zip(names, within, spread, strict=True) if w <= 1e-8 * r or r == 0]
    unit_scaled = Xd / np.where(within > 0, within, 1.0)
    if absorbed or np.linalg.matrix_rank(unit_scaled, tol=1e-8) < len(names):
        raise DesignError(
            "covariates are collinear with the unit and time fixed effects (or with each other) "
            "on the untreated unit-periods" + (f": {absorbed}" if absorbed else ""),
            columns=absorbed or names,
            fix="drop covariates that are constant within units or within periods, or duplicated",
        )
    beta, *_ = np.linalg.lstsq(Xd, y, rcond=None)
    adj = panel.Y - sum(b * panel.X[n] for b, n in zip(beta, names, strict=True))
    return adj, pd.Series(beta, index=pd.Index(names, name="covariate"), name="beta")


def _demean_twoway(
    V: np.ndarray, mask: np.ndarray, tol: float = 1e-12, max_iter: int = 10_000
) -> np.ndarray:
    """Residual of V on unit and time dummies over the cells in `mask` (returned flat, masked)."""
    v = np.where(mask, V, 0.0).astype(float)
    m = mask.astype(float)
    n_i = m.sum(axis=1)
    n_t = m.sum(axis=0)
    scale = max(float(np.abs(v).max()), 1.0)
    for _ in range(max_iter):
        ri = np.divide(v.sum(axis=1), n_i, out=np.zeros_like(n_i), where=n_i > 0)
        v = (v - ri[:, None]) * m
        ct = np.divide(v.sum(axis=0), n_t, out=np.zeros_like(n_t), where=n_t > 0)
        v = (v - ct[None, :]) * m
        if np.abs(ct).max() < tol * scale:
            break
    else:
        raise EstimationError(
            "two-way demeaning of the covariates did not converge",
            fix="check for covariates that are nearly collinear with the fixed effects",
        )
    return v[mask]
