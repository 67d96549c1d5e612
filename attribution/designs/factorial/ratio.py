"""Ratio metrics in a factorial: each cell's sum(numerator) / sum(denominator) over its randomisation
units, with the delta method (Deng, Knoblich & Lu 2018), as the cell statistics of the mean model.

Why this works: write a cell's ratio R_c = ΣN / ΣD over its n_c units and linearise each unit,
L_i = (N_i - R_c D_i) / D̄_c with D̄_c = ΣD / n_c. The delta-method variance of R_c is the variance
of the mean of L, and L sums to zero within the cell. So the pseudo-observations y*_i = R_c + L_i
have cell mean R_c and within-cell sum of squares ΣL², and the saturated cell-means model on y*
(`ols.py`) gives the delta-method covariance for every vcov: HC2 is Σ L² / (n_c (n_c - 1)) per
cell (the delta method with the n - 1 divisor), CR1 the cluster-robust delta method, and a
covariate ratio Q_c = ΣA / ΣB linearised the same way (x*_i = Q_c + (A_i - Q_c B_i) / B̄_c) gives
CUPED on linearised values with the common slope of the mean model. A denominator of 1 in every
unit reproduces the mean factorial exactly.

Everything here comes from the per-cell sums of `stats.ratio_pass` (n, ΣN, ΣD, ΣN², ΣND, ΣD² and,
with a covariate, the sums and cross-products of A and B): nothing unit-level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.designs.factorial.ols import CellStats
from attribution.designs.factorial.stats import CANCELLATION_LIMIT

__all__ = ["RatioCells", "ratio_cells"]


@dataclass(frozen=True)
class RatioCells:
    """The ratio's cell statistics: `stats` for the mean model, the per-cell constants of the
    linearisation (R, iD [, Q, iB]) for second passes, and whether the sums of squares cancel."""

    stats: CellStats
    constants: dict[str, dict[int, float]]
    cancels: bool
    """True when ΣN² - 2RΣND + R²ΣD² loses more than log10(CANCELLATION_LIMIT) digits: the sums of
    squares must then come from a centred pass (`stats.ratio_centred_moments`)."""

    def with_centred(self, centred: pd.DataFrame) -> RatioCells:
        """The same cells with Σ L² [, Σ M², Σ L M] from a centred pass (indexed by cell)."""
        st = self.stats
        got = centred.reindex(st.cells)
        kw = {"ss_y": got["ee"].to_numpy(float)}
        if st.has_covariate:
            kw |= {"ss_x": got["ff"].to_numpy(float), "sp_xy": got["ef"].to_numpy(float)}
        new = CellStats(
            cells=st.cells,
            n=st.n,
            mean_y=st.mean_y,
            ss_y=kw["ss_y"],
            mean_x=st.mean_x,
            ss_x=kw.get("ss_x"),
            sp_xy=kw.get("sp_xy"),
        )
        return RatioCells(stats=new, constants=self.constants, cancels=False)


def ratio_cells(frame: pd.DataFrame, *, has_covariate: bool) -> RatioCells:
    """Cell statistics of the linearised ratio from the per-cell sums (frame sorted by `cell`).

    Needs s_D ≠ 0 in every cell (checked by the caller: `request.check_ratio_cells`).
    """
    cells = frame["cell"].to_numpy("int64")
    n = frame["n"].to_numpy(float)
    s = {c: frame[c].to_numpy(float) for c in frame.columns if c.startswith("s_")}
    r = s["s_N"] / s["s_D"]
    inv_d = n / s["s_D"]  # 1 / D̄_c
    ee = s["s_NN"] - 2.0 * r * s["s_ND"] + r * r * s["s_DD"]  # Σ (N - R D)²
    ss_y = ee * inv_d**2
    ratios = [s["s_NN"] / np.maximum(np.abs(ee), 1e-300)]
    kw: dict[str, np.ndarray] = {}
    constants = {"R": _per_cell(cells, r), "iD": _per_cell(cells, inv_d)}
    if has_covariate:
        q = s["s_A"] / s["s_B"]
        inv_b = n / s["s_B"]
        ff = s["s_AA"] - 2.0 * q * s["s_AB"] + q * q * s["s_BB"]
        ef = s["s_NA"] - q * s["s_NB"] - r * s["s_DA"] + r * q * s["s_DB"]
        kw = {"mean_x": q, "ss_x": ff * inv_b**2, "sp_xy": ef * inv_d * inv_b}
        ratios.append(s["s_AA"] / np.maximum(np.abs(ff), 1e-300))
        constants |= {"Q": _per_cell(cells, q), "iB": _per_cell(cells, inv_b)}
    worst = float(np.nanmax(np.concatenate(ratios), initial=0.0))
    cancels = not np.isfinite(worst) or worst > CANCELLATION_LIMIT
    st = CellStats(cells=cells, n=n, mean_y=r, ss_y=np.clip(ss_y, 0.0, None), **kw)
    return RatioCells(stats=st, constants=constants, cancels=bool(cancels))


def _per_cell(cells: np.ndarray, values: np.ndarray) -> dict[int, float]:
    return {int(c): float(v) for c, v in zip(cells, values, strict=True)}
