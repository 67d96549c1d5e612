"""Random-effects (empirical Bayes) shrinkage of launch estimates: DerSimonian–Laird τ² and the
normal–normal posterior of each launch's true effect.

Model: X_i | a_i ~ N(a_i, σ_i²), a_i ~ N(μ, τ²) (one prior per group of comparable launches, e.g.
per surface: effects in absolute units differ by the surface's baseline). DerSimonian & Laird (1986) estimate τ² by moments
from Cochran's Q over *all* tested launches (shipped or not: the prior describes what gets tested);
μ̂ is the precision-weighted mean with w_i = 1 / (σ_i² + τ̂²). The posterior mean of a_i is
μ̂ + B_i (X_i − μ̂) with B_i = τ̂² / (τ̂² + σ_i²), and its variance B_i σ_i².

Why it answers the winner's curse: the posterior mean E[a_i | X_i] does not depend on why a launch
was selected (selection on X is ignorable for a Bayesian: Efron 2011, "Tweedie's formula and
selection bias"), so Σ_{i∈A} E[a_i | X_i] is unbiased for T_A when the prior is right. With a
non-normal distribution of effects (many near zero, a few real wins) the normal prior is only an
approximation, and the shrunk sum may under- or overshoot a little.

The variance of the shrunk total adds the uncertainty of μ̂ (shared by every term):
Var = Σ_{i∈A} B_i σ_i² + (Σ_{i∈A} (1 − B_i))² / Σ_i w_i (Morris 1983), τ̂² taken as known.
Pure numpy, vectorised over a leading axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RandomEffects", "dersimonian_laird", "posterior", "shrunk_total"]


@dataclass(frozen=True)
class RandomEffects:
    """μ̂ (and its variance), τ̂², Cochran's Q and its degrees of freedom (arrays over any leading
    axis)."""

    mu: np.ndarray
    tau2: np.ndarray
    q: np.ndarray
    df: np.ndarray
    mu_variance: np.ndarray


def dersimonian_laird(
    estimate: np.ndarray, std_error: np.ndarray, mask: np.ndarray | None = None
) -> RandomEffects:
    """τ̂² = max(0, (Q − (k − 1)) / (Σw − Σw² / Σw)) with fixed-effect weights w = 1/σ², over the
    launches in `mask` (default all; a leading axis of seeds or groups is allowed)."""
    x = np.asarray(estimate, float)
    v = np.asarray(std_error, float) ** 2
    keep = np.ones(x.shape, bool) if mask is None else np.asarray(mask, bool)
    k = keep.sum(-1)
    w = np.where(keep, 1.0 / v, 0.0)
    sw = w.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_fe = np.where(sw > 0, (w * x).sum(-1) / sw, 0.0)
        q = (w * (x - mu_fe[..., None]) ** 2).sum(-1)
        denom = sw - (w**2).sum(-1) / sw
        tau2 = np.where(denom > 0, np.maximum(0.0, (q - (k - 1)) / denom), 0.0)
        wr = np.where(keep, 1.0 / (v + tau2[..., None]), 0.0)
        mu = np.where(k > 0, (wr * x).sum(-1) / wr.sum(-1), 0.0)
        mu_var = np.where(k > 0, 1.0 / wr.sum(-1), 0.0)
    return RandomEffects(mu=mu, tau2=tau2, q=q, df=np.maximum(k - 1, 0), mu_variance=mu_var)


def posterior(
    estimate: np.ndarray, std_error: np.ndarray, re: RandomEffects
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(posterior means, posterior variances, shrinkage factors B) of each launch's effect."""
    x = np.asarray(estimate, float)
    v = np.asarray(std_error, float) ** 2
    tau2 = np.asarray(re.tau2, float)[..., None]
    b = tau2 / (tau2 + v)
    mu = np.asarray(re.mu, float)[..., None]
    return mu + b * (x - mu), b * v, b


def shrunk_total(
    estimate: np.ndarray,
    std_error: np.ndarray,
    is_selected: np.ndarray,
    re: RandomEffects,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_{i∈A} posterior mean, its variance) over the selected launches in `mask` (the launches
    `re` was fitted on)."""
    mean, var, b = posterior(estimate, std_error, re)
    sel = np.asarray(is_selected, bool)
    if mask is not None:
        sel = sel & np.asarray(mask, bool)
    total = np.where(sel, mean, 0.0).sum(-1)
    pooled = np.where(sel, 1.0 - b, 0.0).sum(-1)
    variance = np.where(sel, var, 0.0).sum(-1) + pooled**2 * np.asarray(re.mu_variance, float)
    return total, variance
