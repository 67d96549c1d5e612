"""Sensitivity of partially linear DML to unobserved confounding (Chernozhukov, Cinelli, Newey,
Sharma & Syrgkanis 2022, "Long story short: omitted variable bias in causal machine learning").

The bias from an omitted confounder is bounded by |ρ|·sqrt(cf_y·cf_d/(1−cf_d))·sqrt(σ²ν²), with σ² the
residual outcome variance and ν² = E[α²] the second moment of the Riesz representer α (for θ_j in the
partially linear model α_j = e_j'M⁻¹t̃, M = E[t̃t̃']). Confidence bounds add the sampling error of
θ̂ and of σ²ν² through their influence functions. Formulas, one-sided quantile and the robustness
value follow DoubleML (`DoubleMLFramework._calc_sensitivity_analysis`, `gain_statistics`), so the
numbers match its `sensitivity_analysis` on the same residuals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["benchmark", "bound_grid", "bounds", "elements"]


def elements(
    y: np.ndarray,
    y_res: np.ndarray,
    t_res: np.ndarray,
    theta: np.ndarray,
    residual: np.ndarray,
    influence: np.ndarray,
    gram: np.ndarray,
) -> dict[str, Any]:
    """σ², ν² (one per treatment), their influence functions, and θ̂'s influence function."""
    inv = np.linalg.inv(gram)
    sq = residual**2
    sigma2 = float(sq.mean())
    riesz = t_res @ inv.T  # (n, k): α_j
    nu2 = np.diag(inv).copy()
    return {
        "theta": np.asarray(theta, float),
        "sigma2": sigma2,
        "psi_sigma2": sq - sigma2,
        "nu2": nu2,
        "psi_nu2": nu2[None, :] - riesz**2,
        "influence": influence,
        "var_y": float(np.var(y)),
        "y_res": y_res,
        "t_res": t_res,
    }


def _strength(cf_y: Any, cf_d: Any, rho: float) -> Any:
    return np.abs(rho) * np.sqrt(cf_y * cf_d / (1.0 - cf_d))


def _at(el: dict[str, Any], j: int, cf_y: float, cf_d: float, rho: float, level: float):
    """(θ lower, θ upper, ci lower, ci upper, se lower, se upper) for treatment j."""
    n = len(el["y_res"])
    max_bias = np.sqrt(el["sigma2"] * el["nu2"][j])
    psi_mb = (el["sigma2"] * el["psi_nu2"][:, j] + el["nu2"][j] * el["psi_sigma2"]) / (2 * max_bias)
    s = _strength(cf_y, cf_d, rho)
    theta = el["theta"][j]
    psi = -el["influence"][:, j]  # DoubleML's scaled psi (ψ / J with J = −E[t̃²])
    se_lo = np.sqrt(np.mean((psi - s * psi_mb) ** 2) / n)
    se_hi = np.sqrt(np.mean((psi + s * psi_mb) ** 2) / n)
    q = stats.norm.ppf(level)
    lo, hi = theta - s * max_bias, theta + s * max_bias
    return lo, hi, lo - q * se_lo, hi + q * se_hi, se_lo, se_hi


def _robustness(el: dict[str, Any], j: int, *, rho: float, level: float, null: float) -> tuple:
    """Robustness values: equal strengths cf_y = cf_d at which the bound (RV) and the confidence
    bound (RVa) reach `null`; 0 when already there at no confounding, ~1 when never reached."""
    upper = null > el["theta"][j]
    out = []
    for k in (0, 1):  # 0: the bound itself; 1: the confidence bound
        idx = (1 if upper else 0) + 2 * k

        def gap(v: float, idx: int = idx) -> float:
            return float(_at(el, j, v, v, rho, level)[idx] - null)

        a, b = 0.0, 0.9999
        ga, gb = gap(a), gap(b)
        if np.sign(ga) == np.sign(gb):
            out.append(a if abs(ga) < abs(gb) else b)
        else:
            out.append(optimize.brentq(gap, a, b, xtol=1e-12))
    return out[0], out[1]


def bounds(
    el: dict[str, Any], *, cf_y: float, cf_d: float, rho: float, level: float, null: float
) -> pd.DataFrame:
    rows = []
    for j in range(len(el["theta"])):
        lo, hi, ci_lo, ci_hi, se_lo, se_hi = _at(el, j, cf_y, cf_d, rho, level)
        rv, rva = _robustness(el, j, rho=rho, level=level, null=null)
        rows.append(
            {
                "estimate": el["theta"][j],
                "theta_lower": lo,
                "theta_upper": hi,
                "ci_lower": ci_lo,
                "ci_upper": ci_hi,
                "se_lower": se_lo,
                "se_upper": se_hi,
                "rv": rv,
                "rva": rva,
            }
        )
    return pd.DataFrame(rows)


def bound_grid(
    el: dict[str, Any], j: int, cf_y: np.ndarray, cf_d: np.ndarray, *, rho: float, upper: bool
) -> np.ndarray:
    """The bias-only bound over a grid of strengths (the contour plot)."""
    max_bias = np.sqrt(el["sigma2"] * el["nu2"][j])
    s = _strength(cf_y, cf_d, rho) * max_bias
    return el["theta"][j] + s if upper else el["theta"][j] - s


def benchmark(long: dict[str, Any], short: dict[str, Any]) -> pd.DataFrame:
    """DoubleML's gain statistics: the strengths of the confounders the short model leaves out."""
    var_y = long["var_y"]
    r2_long = 1.0 - long["sigma2"] / var_y
    r2_short = 1.0 - short["sigma2"] / var_y
    r2_riesz = short["nu2"] / long["nu2"]
    cf_y = np.clip((r2_long - r2_short) / (1.0 - r2_long), 0, 1) * np.ones_like(r2_riesz)
    cf_d = np.clip((1.0 - r2_riesz) / r2_riesz, 0, 1)
    delta = short["theta"] - long["theta"]
    var_g = short["sigma2"] - long["sigma2"]
    var_riesz = long["nu2"] - short["nu2"]
    ok = (var_g > 0) & (var_riesz > 0)
    denom = np.where(ok, np.sqrt(np.where(ok, var_g * var_riesz, 1.0)), 0.0)
    rho = np.where(denom != 0, np.clip(np.abs(delta) / np.where(denom != 0, denom, 1.0), 0, 1), 1.0)
    return pd.DataFrame(
        {"cf_y": cf_y, "cf_d": cf_d, "rho": rho * np.sign(delta), "delta_theta": delta}
    )
