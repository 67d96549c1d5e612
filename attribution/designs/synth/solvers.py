"""Simplex-constrained ridge least squares by Frank–Wolfe, as in the R synthdid package.

Problem (Arkhangelsky et al. 2021, eqs. 2–4; synthdid's ``sc.weight.fw``)::

    min_x  ||A x - b||² + η ||x||²   subject to  x ≥ 0, Σ x = 1,      η = n_rows · ζ²

solved by Frank–Wolfe with exact line search. The solver works in Gram form — it only needs
``G = AᵀA``, ``Aᵀb`` and ``bᵀb`` — and keeps ``G x`` up to date with one column per step, so an
iteration costs O(n) whatever the number of rows of A. Placebo and bootstrap replications index
sub-blocks of one precomputed Gram matrix instead of rebuilding the least-squares problem.

Stopping rule and schedule follow synthdid: iterate while the objective
``val = ζ²||x||² + ||Ax − b||² / n_rows`` decreases by more than ``min_decrease²`` (at least two
iterations), at most ``max_iter_pre`` iterations; sparsify (zero weights ≤ max/4, renormalise); then
iterate again from there, at most ``max_iter`` iterations.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fw_simplex", "simplex_weights", "sparsify"]


@numba.njit(cache=True)
def fw_simplex(
    G: np.ndarray,
    Ab: np.ndarray,
    bb: float,
    x0: np.ndarray,
    zeta2: float,
    n_rows: float,
    min_decrease2: float,
    max_iter: int,
) -> tuple[np.ndarray, int, float]:
    """Frank–Wolfe iterations from `x0`; returns (x, iterations, final objective value).

    `G` (n×n), `Ab` (n) and `bb` describe ||Ax − b||²; `zeta2` is ζ² and `n_rows` the number of
    rows of A (so η = n_rows·ζ²). The line search is exact for the quadratic objective.
    """
    n = x0.shape[0]
    x = x0.copy()
    eta = n_rows * zeta2
    Gx = G @ x
    xGx = 0.0
    xAb = 0.0
    xx = 0.0
    for k in range(n):
        xGx += x[k] * Gx[k]
        xAb += x[k] * Ab[k]
        xx += x[k] * x[k]
    prev = np.inf
    val = np.inf
    t = 0
    hg = np.empty(n)
    while t < max_iter:
        # half gradient of the objective, and the Frank–Wolfe vertex
        best = 0
        for k in range(n):
            hg[k] = Gx[k] - Ab[k] + eta * x[k]
            if hg[k] < hg[best]:
                best = k
        i = best
        hgx = 0.0
        for k in range(n):
            hgx += hg[k] * x[k]
        if not (x[i] == 1.0 and xx == 1.0):  # direction e_i − x is not zero
            num = hg[i] - hgx
            d_err2 = G[i, i] - 2.0 * Gx[i] + xGx
            d_x2 = 1.0 - 2.0 * x[i] + xx
            den = d_err2 + eta * d_x2
            step = -num / den if den > 0.0 else 0.0
            if step > 1.0:
                step = 1.0
            elif not step > 0.0:
                step = 0.0
            if step > 0.0:
                keep = 1.0 - step
                for k in range(n):
                    x[k] *= keep
                    Gx[k] = keep * Gx[k] + step * G[k, i]
                x[i] += step
                xGx = 0.0
                xAb = 0.0
                xx = 0.0
                for k in range(n):
                    xGx += x[k] * Gx[k]
                    xAb += x[k] * Ab[k]
                    xx += x[k] * x[k]
        t += 1
        val = zeta2 * xx + (xGx - 2.0 * xAb + bb) / n_rows
        if t >= 2 and not (prev - val > min_decrease2):
            break
        prev = val
    return x, t, val


def sparsify(v: np.ndarray) -> np.ndarray:
    """synthdid's sparsify_function: zero the weights ≤ max/4 and renormalise to sum one."""
    out = np.where(v <= v.max() / 4.0, 0.0, v)
    return out / out.sum()


def simplex_weights(
    G: np.ndarray,
    Ab: np.ndarray,
    bb: float,
    *,
    zeta: float,
    n_rows: int,
    min_decrease: float,
    x0: np.ndarray | None = None,
    max_iter: int = 10_000,
    max_iter_pre: int = 100,
    do_sparsify: bool = True,
) -> np.ndarray:
    """synthdid's two-stage schedule: short solve, sparsify, full solve (weights on the simplex)."""
    n = Ab.shape[0]
    x = np.full(n, 1.0 / n) if x0 is None else np.asarray(x0, dtype=float)
    G = np.ascontiguousarray(G, dtype=float)
    Ab = np.ascontiguousarray(Ab, dtype=float)
    z2 = float(zeta) ** 2
    md2 = float(min_decrease) ** 2
    first = max_iter_pre if do_sparsify else max_iter
    x, _, _ = fw_simplex(G, Ab, float(bb), x, z2, float(n_rows), md2, int(first))
    if do_sparsify:
        x, _, _ = fw_simplex(G, Ab, float(bb), sparsify(x), z2, float(n_rows), md2, int(max_iter))
    return x
