"""Simplex-constrained ridge least squares by Frank–Wolfe, as in the R synthdid package.

Problem (Arkhangelsky et al. 2021, eqs. 2–4; synthdid's ``sc.weight.fw``)::

    min_x  ||A x - b||² + η ||x||²   subject to  x ≥ 0, Σ x = 1,      η = n_rows · ζ²

solved by Frank–Wolfe with exact line search. The solver works in Gram form — it only needs
``G = AᵀA``, ``Aᵀb`` and ``bᵀb`` — and keeps the gradient up to date with one row of G per step,
so an iteration costs O(n) whatever the number of rows of A. Placebo and bootstrap replications index
sub-blocks of one precomputed Gram matrix instead of rebuilding the least-squares problem.

Stopping rule and schedule follow synthdid: iterate while the objective
``val = ζ²||x||² + ||Ax − b||² / n_rows`` decreases by more than ``min_decrease²`` (at least two
iterations), at most ``max_iter_pre`` iterations; sparsify (zero weights ≤ max/4, renormalise); then
iterate again from there, at most ``max_iter`` iterations.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fw_simplex", "row_gram", "simplex_weights", "sparsify"]


@numba.njit(cache=True, error_model="numpy")
def fw_simplex(
    G: np.ndarray,
    idx: np.ndarray,
    Ab: np.ndarray,
    bb: float,
    x0: np.ndarray,
    zeta2: float,
    n_rows: float,
    min_decrease2: float,
    max_iter: int,
) -> tuple[np.ndarray, int, float]:
    """Frank–Wolfe iterations from `x0`; returns (x, iterations, final objective value).

    ``G[idx][:, idx]`` (n×n, symmetric), `Ab` (n) and `bb` describe ||Ax − b||², so that resampled
    problems index one cached Gram matrix without copying it; `zeta2` is ζ² and `n_rows` the number
    of rows of A (so η = n_rows·ζ²). The line search is exact for the quadratic objective. Each
    step updates x and the gradient in one pass over a row of G (a row equals the column by
    symmetry) and the quadratic forms xᵀGx, xᵀAb, xᵀx in O(1).
    """
    n = x0.shape[0]
    x = x0.copy()
    eta = n_rows * zeta2
    Gx = np.zeros(n)
    for j in range(n):
        if x[j] != 0.0:
            gj = idx[j]
            for k in range(n):
                Gx[k] += G[gj, idx[k]] * x[j]
    hg = np.empty(n)
    xGx = 0.0
    xAb = 0.0
    xx = 0.0
    hgx = 0.0
    i = 0
    for k in range(n):
        xGx += x[k] * Gx[k]
        xAb += x[k] * Ab[k]
        xx += x[k] * x[k]
        hg[k] = Gx[k] - Ab[k] + eta * x[k]
        hgx += hg[k] * x[k]
        if hg[k] < hg[i]:
            i = k
    prev = np.inf
    val = np.inf
    t = 0
    while t < max_iter:
        step = 0.0
        if not (x[i] == 1.0 and xx == 1.0):  # direction e_i − x is not zero
            gi = idx[i]
            gx_i = hg[i] + Ab[i] - eta * x[i]
            num = hg[i] - hgx
            d_err2 = G[gi, gi] - 2.0 * gx_i + xGx
            d_x2 = 1.0 - 2.0 * x[i] + xx
            den = d_err2 + eta * d_x2
            step = -num / den if den > 0.0 else 0.0
            if step > 1.0:
                step = 1.0
            elif not step > 0.0:
                step = 0.0
        if step > 0.0:
            # x ← (1−s)x + s·e_i; the sums follow in O(1), the gradient in one pass
            keep = 1.0 - step
            xi = x[i]
            xGx = keep * keep * xGx + 2.0 * step * keep * gx_i + step * step * G[gi, gi]
            xAb = keep * xAb + step * Ab[i]
            xx = keep * keep * xx + 2.0 * step * keep * xi + step * step
            hgx = xGx - xAb + eta * xx
            nxt = 0
            best = np.inf
            for k in range(n):
                x[k] *= keep
                h = keep * hg[k] + step * (G[gi, idx[k]] - Ab[k])
                hg[k] = h
            x[i] += step
            hg[i] += eta * step
            for k in range(n):
                if hg[k] < best:
                    best = hg[k]
                    nxt = k
            i = nxt
        t += 1
        val = zeta2 * xx + (xGx - 2.0 * xAb + bb) / n_rows
        if t >= 2 and not (prev - val > min_decrease2):
            break
        prev = val
    return x, t, val


@numba.njit(cache=True)
def row_gram(Z: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_r z_r z_rᵀ, Σ_r z_r) over `rows` of Z (repeats allowed), without BLAS.

    Small Gram matrices built inside replication loops are faster here than through a
    multi-threaded BLAS call, whose thread start-up dominates at this size.
    """
    m = Z.shape[1]
    S = np.zeros((m, m))
    s = np.zeros(m)
    for r in rows:
        for a in range(m):
            za = Z[r, a]
            s[a] += za
            for b in range(a, m):
                S[a, b] += za * Z[r, b]
    for a in range(m):
        for b in range(a):
            S[a, b] = S[b, a]
    return S, s


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
    idx: np.ndarray | None = None,
    max_iter: int = 10_000,
    max_iter_pre: int = 100,
    do_sparsify: bool = True,
) -> np.ndarray:
    """synthdid's two-stage schedule: short solve, sparsify, full solve (weights on the simplex).

    The problem's Gram matrix is ``G[idx][:, idx]`` (all of `G` when `idx` is None).
    """
    n = Ab.shape[0]
    x = np.full(n, 1.0 / n) if x0 is None else np.asarray(x0, dtype=float)
    G = np.ascontiguousarray(G, dtype=float)
    idx = np.arange(n, dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)
    Ab = np.ascontiguousarray(Ab, dtype=float)
    z2 = float(zeta) ** 2
    md2 = float(min_decrease) ** 2
    first = max_iter_pre if do_sparsify else max_iter
    x, _, _ = fw_simplex(G, idx, Ab, float(bb), x, z2, float(n_rows), md2, int(first))
    if do_sparsify:
        x, _, _ = fw_simplex(
            G, idx, Ab, float(bb), sparsify(x), z2, float(n_rows), md2, int(max_iter)
        )
    return x
