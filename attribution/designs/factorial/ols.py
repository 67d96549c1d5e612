"""Pure math of the factorial design over per-cell sufficient statistics (no tables here).

Model: the saturated cell-dummy regression y_i = Σ_c α_c D_ic (+ β x_i) + e_i, i.e. one mean per
present cell, plus a common slope on a pre-period covariate for CUPED / regression adjustment
(Deng, Xu, Kohavi & Walker 2013; Lin 2013 with a common slope). Every reported quantity (effects,
Shapley contributions, adjusted cell means) is a linear combination L θ of θ = (α, β), so its
standard error is sqrt(diag(L V L')) for the one coefficient covariance V.

Covariances (White 1980; MacKinnon & White 1985; Liang & Zeger 1986), computed in the basis
(D, x̃) with x̃ = x - x̄_cell, where X'X is diagonal, then mapped back to (α, β):

- HC0/HC1/HC2/HC3: meat Σ w_i e_i² z_i z_i' with w = 1, 1, 1/(1-h), 1/(1-h)²; HC1 scales by
  n/(n-k). Without a covariate h_i = 1/n_c and the meat is Σ_c SS_c (n_c/(n_c-1))^power.
- iid: σ² (X'X)^-1 with σ² = RSS/(n-k).
- CR1: G/(G-1) · (n-1)/(n-k) · bread · Σ_g u_g u_g' · bread (statsmodels' `cluster` default).

Unreplicated designs (one observation per cell) use Lenth's (1989) pseudo standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CellStats",
    "cell_map",
    "closed_form_meat",
    "coefficients",
    "hc_meat_from_pass",
    "iid_vcov",
    "lenth_pse",
    "sandwich_vcov",
]


@dataclass(frozen=True)
class CellStats:
    """Sufficient statistics per present cell (arrays aligned with `cells`, ascending bitmask)."""

    cells: np.ndarray
    n: np.ndarray
    mean_y: np.ndarray
    ss_y: np.ndarray  # Σ (y - ȳ_c)²
    mean_x: np.ndarray | None = None
    ss_x: np.ndarray | None = None  # Σ (x - x̄_c)²
    sp_xy: np.ndarray | None = None  # Σ (x - x̄_c)(y - ȳ_c)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, has_covariate: bool) -> CellStats:
        """From the engine's per-cell frame (cell, n, mean_y, var_y [, mean_x, var_x, cov_xy]),
        whose variances are population variances (NULL for a single row, read as 0)."""
        n = frame["n"].to_numpy(float)
        var_y = frame["var_y"].fillna(0.0).to_numpy(float)
        kw = {}
        if has_covariate:
            kw = {
                "mean_x": frame["mean_x"].to_numpy(float),
                "ss_x": frame["var_x"].fillna(0.0).to_numpy(float) * n,
                "sp_xy": frame["cov_xy"].fillna(0.0).to_numpy(float) * n,
            }
        return cls(
            cells=frame["cell"].to_numpy("int64"),
            n=n,
            mean_y=frame["mean_y"].to_numpy(float),
            ss_y=var_y * n,
            **kw,
        )

    @property
    def p(self) -> int:
        return len(self.cells)

    @property
    def n_total(self) -> int:
        return int(self.n.sum())

    @property
    def has_covariate(self) -> bool:
        return self.mean_x is not None

    @property
    def k_params(self) -> int:
        return self.p + int(self.has_covariate)

    @property
    def within_ss_x(self) -> float:
        """W = Σ_c Σ_i (x_i - x̄_c)²: the covariate's within-cell variation."""
        return float(np.sum(self.ss_x)) if self.ss_x is not None else float("nan")

    @property
    def slope(self) -> float:
        """Pooled within-cell OLS slope β = Σ SP_xy / Σ SS_x (0 without a covariate)."""
        if not self.has_covariate:
            return 0.0
        w = self.within_ss_x
        return float(np.sum(self.sp_xy) / w) if w > 0 else float("nan")

    @property
    def overall_mean_x(self) -> float:
        if not self.has_covariate:
            return 0.0
        return float(np.sum(self.n * self.mean_x) / self.n_total)

    @property
    def rss(self) -> float:
        """Residual sum of squares of the saturated (+ covariate) model."""
        rss = float(np.sum(self.ss_y))
        if self.has_covariate:
            rss -= float(np.sum(self.sp_xy)) ** 2 / self.within_ss_x
        return max(rss, 0.0)


def _to_original(st: CellStats, v_new: np.ndarray) -> np.ndarray:
    """Map a covariance in the (D, x̃) basis to (α, β): α = γ - x̄_c β."""
    if not st.has_covariate:
        return v_new
    a = np.eye(st.p + 1)
    a[: st.p, st.p] = -st.mean_x
    return a @ v_new @ a.T


def _bread(st: CellStats) -> np.ndarray:
    d = 1.0 / st.n
    if st.has_covariate:
        d = np.append(d, 1.0 / st.within_ss_x)
    return d


def iid_vcov(st: CellStats) -> np.ndarray:
    """Classical OLS covariance σ² (X'X)^-1, σ² = RSS / (n - k)."""
    sigma2 = st.rss / (st.n_total - st.k_params)
    return _to_original(st, np.diag(sigma2 * _bread(st)))


def closed_form_meat(st: CellStats, power: int) -> np.ndarray:
    """HC meat without a covariate: diag Σ_c e² / (1 - 1/n_c)^power = SS_c (n_c / (n_c - 1))^power."""
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (st.n / (st.n - 1.0)) ** power if power else np.ones(st.p)
    return np.diag(st.ss_y * factor)


def hc_meat_from_pass(st: CellStats, s0: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """HC meat in the (D, x̃) basis from the leverage pass: Σ w e² z z' per cell."""
    p = st.p
    meat = np.zeros((p + 1, p + 1))
    meat[np.arange(p), np.arange(p)] = s0
    meat[:p, p] = meat[p, :p] = s1
    meat[p, p] = float(np.sum(s2))
    return meat


def sandwich_vcov(st: CellStats, meat: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """bread · meat · bread (bread diagonal in the (D, x̃) basis), scaled, mapped to (α, β)."""
    b = _bread(st)
    v_new = scale * (b[:, None] * meat * b[None, :])
    return _to_original(st, v_new)


def coefficients(st: CellStats) -> np.ndarray:
    """α_c = ȳ_c - β x̄_c (and β) of the saturated model."""
    if not st.has_covariate:
        return st.mean_y.astype(float).copy()
    beta = st.slope
    return np.append(st.mean_y - beta * st.mean_x, beta)


def cell_map(st: CellStats) -> np.ndarray:
    """(cells × len(θ)) matrix whose product with θ is the adjusted cell means: α_c + β x̄ (the
    covariate at its overall mean), or the cell means themselves without a covariate."""
    out = np.eye(st.p)
    if st.has_covariate:
        out = np.hstack([out, np.full((st.p, 1), st.overall_mean_x)])
    return out


def lenth_pse(effects: np.ndarray) -> tuple[float, float]:
    """Lenth's (1989) pseudo standard error of the effects of an unreplicated two-level design,
    and its degrees of freedom m/3.

    s0 = 1.5 · median|c|;  PSE = 1.5 · median{|c_j| : |c_j| < 2.5 s0}.
    """
    a = np.abs(np.asarray(effects, dtype=float))
    s0 = 1.5 * float(np.median(a))
    trimmed = a[a < 2.5 * s0]
    pse = 1.5 * float(np.median(trimmed)) if len(trimmed) else 0.0
    return pse, len(a) / 3.0
