"""The winner's curse of a sum of shipped launch wins, and its correction (Lee & Shen 2018).

Lee, M. R. & Shen, M. (2018). "Winner's Curse: Bias Estimation for Total Effects of Features in
Online Controlled Experiments", KDD '18. Each launch test i reports X_i ~ N(a_i, σ_i²); launch i
ships when X_i > b σ_i (b = z_{1−α/2}: significantly positive). The shipped set A is random, and the
naive total S_A = Σ_{i∈A} X_i overstates the true total T_A = Σ_{i∈A} a_i by

    β = E[S_A − T_A] = Σ_{i=1}^n E[(X_i − a_i) 1{X_i > b σ_i}] = Σ_{i=1}^n σ_i φ(b − a_i / σ_i),

summed over *every* tested launch, shipped or not (their section 3, the Gaussian case). The bias
is estimated by the plug-in β̂ = Σ_i σ_i φ(b − X_i / σ_i), and the corrected total is S_A − β̂. Its
variance is the variance of S_A − β̂ under X_i* ~ N(X_i, σ_i²) independently — the parametric
bootstrap the paper uses for intervals — computed here by quadrature instead of by resampling, so
it is exact and needs no seed.

Everything here is pure numpy on arrays of launch estimates; it is vectorised over a leading axis so
a many-seed study runs through the same code.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "bias_terms",
    "corrected_terms",
    "corrected_variance_terms",
    "expected_bias",
    "selected",
]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)
_SPAN = 12.0  # the bootstrap integral runs over m ± 12 (the normal mass beyond is below 1e-32)


def selected(estimate: np.ndarray, std_error: np.ndarray, threshold: float) -> np.ndarray:
    """The selection rule the correction assumes: X_i / σ_i > b (a significantly positive test)."""
    return np.asarray(estimate, float) / np.asarray(std_error, float) > threshold


def expected_bias(true_effect: np.ndarray, std_error: np.ndarray, threshold: float) -> np.ndarray:
    """Per-launch terms of β: σ_i φ(b − a_i / σ_i) = E[(X_i − a_i) 1{X_i > b σ_i}] (exact, given a)."""
    a = np.asarray(true_effect, float)
    s = np.asarray(std_error, float)
    return s * stats.norm.pdf(threshold - a / s)


def bias_terms(estimate: np.ndarray, std_error: np.ndarray, threshold: float) -> np.ndarray:
    """Per-launch terms of the plug-in β̂: σ_i φ(b − X_i / σ_i) (every launch, shipped or not)."""
    return expected_bias(estimate, std_error, threshold)


def corrected_terms(
    estimate: np.ndarray, std_error: np.ndarray, is_selected: np.ndarray, threshold: float
) -> np.ndarray:
    """g_i = X_i 1{i ∈ A} − σ_i φ(b − X_i / σ_i): the corrected total is Σ_i g_i."""
    x = np.asarray(estimate, float)
    return np.where(is_selected, x, 0.0) - bias_terms(x, std_error, threshold)


def corrected_variance_terms(
    estimate: np.ndarray, std_error: np.ndarray, threshold: float
) -> np.ndarray:
    """Var g_i(X_i*) with X_i* ~ N(X_i, σ_i²): the parametric-bootstrap variance of each term.

    In standard units t = X*/σ, g/σ = t 1{t > b} − φ(b − t); the moments E[(g/σ)^k] are integrals
    against φ(t − m), m = X/σ, computed by Gauss–Legendre quadrature on each side of the jump at b.
    """
    x = np.asarray(estimate, float)
    s = np.asarray(std_error, float)
    m = x / s
    lo, hi = m - _SPAN, m + _SPAN
    cut = np.clip(threshold, lo, hi)
    moments = np.zeros((2, *m.shape))
    for a, b, above in ((lo, cut, False), (cut, hi, True)):
        half = (b - a) / 2
        t = (a + b)[..., None] / 2 + half[..., None] * _NODES  # (..., nodes)
        g = (t if above else 0.0) - stats.norm.pdf(threshold - t)
        w = half[..., None] * _WEIGHTS * stats.norm.pdf(t - m[..., None])
        moments[0] += np.sum(w * g, axis=-1)
        moments[1] += np.sum(w * g * g, axis=-1)
    return s**2 * np.maximum(moments[1] - moments[0] ** 2, 0.0)
