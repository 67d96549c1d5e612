"""Conformal inference for synthetic control (Chernozhukov, Wüthrich & Zhu 2021, JASA 116:1849–1864).

To test H0: the effect path over post periods equals θ, subtract θ from the treated unit's post
outcomes, fit the synthetic control on ALL periods (pre and adjusted post) — under H0 the fit
treats every period alike — and compare the post-period residuals with their permutations over
time. With moving-block permutations (cyclic shifts, their Section 2.2) the p-value is the share
of shifts whose post-window statistic S(u) = (T*^-1 Σ |u_t|^q)^(1/q) is at least the observed one.
Per-period confidence sets come from testing each post period separately against the pre-period
(T* = 1) and inverting over a grid of θ; the constant-effect set inverts the joint test with
θ_t = θ for every post period; the sharp null θ = 0 gives the "no effect" p-value.

The fitted estimator is the simplex-constrained least-squares synthetic control on outcomes
(CWZ's "SC"), solved exactly; it is symmetric in time, which the method needs (the nested-V ADH
fit is not, as V is chosen on the pre-period only).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from attribution import config
from attribution.designs.synth.request import check_conformal_options, replications
from attribution.designs.synth.solvers import min_norm_point
from attribution.errors import AttributionWarning, DesignError, OptionError
from attribution.options import Permutation, check_alpha

__all__ = [
    "ConformalArrays",
    "Permutation",
    "conformal_arrays",
    "conformal_p_value",
    "pre_period_gaps",
]


# ----------------------------------------------------------------------------------------------
# compiled kernels
# ----------------------------------------------------------------------------------------------


@njit(cache=True)
def _stat(u: np.ndarray, q: float) -> float:
    n = u.shape[0]
    if q == np.inf:
        return np.abs(u).max()
    acc = 0.0
    for i in range(n):
        acc += abs(u[i]) ** q
    return (acc / n) ** (1.0 / q)


@njit(cache=True)
def _p_values(
    y: np.ndarray, Y0: np.ndarray, thetas: np.ndarray, perms: np.ndarray, q: float
) -> np.ndarray:
    """p-values of H0: effect = thetas[g] on the last thetas.shape[1] periods, one per row g.

    y: (T,) treated outcomes; Y0: (T, J) donor outcomes; perms: (P, T) index permutations whose
    first row is the identity.
    """
    T, J = Y0.shape
    G, n_post = thetas.shape
    out = np.empty(G)
    A = np.empty((T, J))
    yy = np.empty(T)
    for g in range(G):
        for t in range(T):
            yy[t] = y[t]
        for k in range(n_post):
            yy[T - n_post + k] -= thetas[g, k]
        for t in range(T):
            for j in range(J):
                A[t, j] = Y0[t, j] - yy[t]
        w = min_norm_point(A)
        u = yy - Y0 @ w
        s0 = _stat(u[T - n_post :], q)
        count = 0
        up = np.empty(n_post)
        for p in range(perms.shape[0]):
            for k in range(n_post):
                up[k] = u[perms[p, T - n_post + k]]
            if _stat(up, q) >= s0 * (1.0 - 1e-12):
                count += 1
        out[g] = count / perms.shape[0]
    return out


# ----------------------------------------------------------------------------------------------
# array layer
# ----------------------------------------------------------------------------------------------


def _permutations(T: int, kind: str, n_reps: int | None, seed: int | None) -> np.ndarray:
    """The T cyclic shifts (moving block), or the identity and n_reps − 1 random permutations."""
    if kind == "moving_block":
        base = np.arange(T)
        return np.stack([np.roll(base, -j) for j in range(T)]).astype(np.int64)
    n = n_reps or config.get().n_boot
    rng = np.random.default_rng(config.get().seed if seed is None else seed)
    perms = np.empty((n, T), dtype=np.int64)
    perms[0] = np.arange(T)
    for i in range(1, n):
        perms[i] = rng.permutation(T)
    return perms


def conformal_p_value(
    y1: np.ndarray,
    Y0: np.ndarray,
    n_pre: int,
    theta: np.ndarray | float = 0.0,
    *,
    permutation: Permutation = "moving_block",
    q: float = 1.0,
    n_reps: int | None = None,
    seed: int | None = None,
    n_permutations: int | None = None,
) -> float:
    """p-value of H0: effect_t = theta_t for every post period t ≥ n_pre (CWZ 2021, Algorithm 1).

    y1: (T,) treated outcomes; Y0: (J, T) donor outcomes (one row per donor). `n_reps`: random
    permutations with ``permutation="iid"`` (`n_permutations` is its deprecated name).
    """
    n_reps = replications(n_reps, n_permutations)
    y1 = np.asarray(y1, dtype=float)
    Y0 = np.asarray(Y0, dtype=float)
    T = len(y1)
    theta = np.broadcast_to(np.asarray(theta, dtype=float), (T - n_pre,))
    perms = _permutations(T, permutation, n_reps, seed)
    return float(
        _p_values(y1, np.ascontiguousarray(Y0.T), theta[None, :].copy(), perms, float(q))[0]
    )


@dataclass(frozen=True)
class ConformalArrays:
    """Per-period intervals (low, high) and p-values of θ_t = 0, the constant-effect interval, the
    sharp-null p-value, and the grids' p-value curves (for plots)."""

    low: np.ndarray
    high: np.ndarray
    p_zero: np.ndarray
    average_low: float
    average_high: float
    sharp_null_p_value: float
    curves: list[tuple[np.ndarray, np.ndarray]]


def _invert(
    pfun: Any, centre: float, half: float, alpha: float, n_grid: int, user_grid: np.ndarray | None
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Confidence set {θ: p(θ) > alpha} over a grid: its smallest and largest accepted values.

    The default grid is centred on the estimate and widened (×2, up to 10 times) until the set no
    longer touches its edges; each end is then refined by bisection. A user grid is used as given.
    """
    if user_grid is not None:
        grid = user_grid
        p = pfun(grid)
        acc = p > alpha
        if not acc.any():
            return np.nan, np.nan, grid, p
        lo, hi = grid[acc].min(), grid[acc].max()
        if acc[0] or acc[-1]:
            warnings.warn(
                "the conformal confidence set reaches the end of the supplied grid; widen it",
                AttributionWarning,
                stacklevel=4,
            )
        return float(lo), float(hi), grid, p
    for _ in range(10):
        grid = centre + np.linspace(-half, half, n_grid)
        p = pfun(grid)
        acc = p > alpha
        if not acc.any():
            half /= 4.0  # the set is narrower than one grid step: zoom in
            continue
        if not (acc[0] or acc[-1]):
            break
        half *= 2.0
    else:
        if not acc.any():
            return np.nan, np.nan, grid, p
        return -np.inf, np.inf, grid, p
    ia = np.flatnonzero(acc)
    step = grid[1] - grid[0]

    def refine(inside: float, outside: float) -> float:
        for _ in range(30):
            mid = 0.5 * (inside + outside)
            if pfun(np.array([mid]))[0] > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < 1e-7 * max(step, 1e-300):
                break
        return inside

    lo = refine(grid[ia[0]], grid[ia[0] - 1])
    hi = refine(grid[ia[-1]], grid[ia[-1] + 1])
    return float(lo), float(hi), grid, p


def conformal_arrays(
    y1: np.ndarray,
    Y0: np.ndarray,
    n_pre: int,
    *,
    alpha: float,
    centre: np.ndarray | None = None,
    grid: np.ndarray | None = None,
    permutation: Permutation = "moving_block",
    q: float = 1.0,
    n_reps: int | None = None,
    seed: int | None = None,
    n_grid: int = 81,
    n_permutations: int | None = None,
) -> ConformalArrays:
    """Conformal inference on arrays: y1 (T,), Y0 (J, T), treatment from column `n_pre` on.

    `centre` (one value per post period) centres the default grids; by default the gaps of the
    outcome-only synthetic control fitted on the pre-period. `n_reps`: random permutations with
    ``permutation="iid"`` (`n_permutations` is its deprecated name).
    """
    check_alpha(alpha)
    check_conformal_options(permutation, q)
    n_reps = replications(n_reps, n_permutations)
    y1 = np.asarray(y1, dtype=float)
    Y0 = np.asarray(Y0, dtype=float)
    T = len(y1)
    n_post = T - n_pre
    if n_pre < 1 or n_post < 1:
        raise DesignError("conformal inference needs at least one pre- and one post-period")
    Y0T = np.ascontiguousarray(Y0.T)
    w_pre = min_norm_point(np.ascontiguousarray(Y0T[:n_pre] - y1[:n_pre, None]))
    resid_pre = y1[:n_pre] - Y0T[:n_pre] @ w_pre
    sigma = float(np.sqrt(np.mean(resid_pre**2)))
    scale = float(np.abs(y1).mean()) + 1e-12
    half0 = max(6.0 * sigma, 1e-6 * scale)
    if centre is None:
        centre = y1[n_pre:] - Y0T[n_pre:] @ w_pre
    centre = np.asarray(centre, dtype=float)
    user_grid = None if grid is None else np.sort(np.asarray(grid, dtype=float))
    if user_grid is not None and (user_grid.ndim != 1 or len(user_grid) < 2):
        raise OptionError("grid must be a 1-D array of at least two candidate effects")
    if permutation == "moving_block" and 1.0 / (n_pre + 1) > alpha:
        warnings.warn(
            f"with {n_pre} pre-periods the smallest attainable per-period p-value is "
            f"1/{n_pre + 1} > alpha={alpha}: the per-period intervals are unbounded",
            AttributionWarning,
            stacklevel=3,
        )
    low = np.empty(n_post)
    high = np.empty(n_post)
    p_zero = np.empty(n_post)
    curves = []
    pre_idx = np.arange(n_pre)
    perms1 = _permutations(n_pre + 1, permutation, n_reps, seed)
    for k in range(n_post):
        cols = np.r_[pre_idx, n_pre + k]
        yk = np.ascontiguousarray(y1[cols])
        Yk = np.ascontiguousarray(Y0T[cols])

        def pfun(th: np.ndarray, yk: np.ndarray = yk, Yk: np.ndarray = Yk) -> np.ndarray:
            return _p_values(yk, Yk, np.asarray(th, dtype=float)[:, None].copy(), perms1, float(q))

        lo, hi, g, p = _invert(pfun, float(centre[k]), half0, alpha, n_grid, user_grid)
        low[k], high[k] = lo, hi
        p_zero[k] = pfun(np.array([0.0]))[0]
        curves.append((g, p))
    perms = _permutations(T, permutation, n_reps, seed)

    def pconst(th: np.ndarray) -> np.ndarray:
        thetas = np.repeat(np.asarray(th, dtype=float)[:, None], n_post, axis=1)
        return _p_values(y1, Y0T, thetas, perms, float(q))

    a_lo, a_hi, _, _ = _invert(pconst, float(np.mean(centre)), half0, alpha, n_grid, user_grid)
    sharp = float(_p_values(y1, Y0T, np.zeros((1, n_post)), perms, float(q))[0])
    return ConformalArrays(
        low=low,
        high=high,
        p_zero=p_zero,
        average_low=a_lo,
        average_high=a_hi,
        sharp_null_p_value=sharp,
        curves=curves,
    )


def pre_period_gaps(y1: np.ndarray, Y0: np.ndarray, n_pre: int) -> np.ndarray:
    """Post-period gaps of the outcome-only synthetic control fitted on the pre-period (exact
    simplex least squares): the point estimates beside conformal sets computed from a table."""
    w = min_norm_point(np.ascontiguousarray(Y0.T[:n_pre] - y1[:n_pre, None]))
    return y1[n_pre:] - Y0.T[n_pre:] @ w
