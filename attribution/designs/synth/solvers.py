"""Solvers for weights on the simplex: Frank–Wolfe (SDID, SC) and Wolfe's min-norm point (ADH).

Two problems share the constraint x ≥ 0, Σx = 1:

**Ridge least squares by Frank–Wolfe**, as in the R synthdid package (Arkhangelsky et al. 2021,
eqs. 2–4; synthdid's ``sc.weight.fw``)::

    min_x  ||A x - b||² + η ||x||²   subject to  x ≥ 0, Σ x = 1,      η = n_rows · ζ²

solved by Frank–Wolfe with exact line search. The solver works in Gram form — it only needs
``G = AᵀA``, ``Aᵀb`` and ``bᵀb`` — and keeps the gradient up to date with one row of G per step,
so an iteration costs O(n) whatever the number of rows of A. Placebo and bootstrap replications index
sub-blocks of one precomputed Gram matrix instead of rebuilding the least-squares problem.
Stopping rule and schedule follow synthdid: iterate while the objective
``val = ζ²||x||² + ||Ax − b||² / n_rows`` decreases by more than ``min_decrease²`` (at least two
iterations), at most ``max_iter_pre`` iterations; sparsify (zero weights ≤ max/4, renormalise); then
iterate again from there, at most ``max_iter`` iterations. Frank–Wolfe stops short of the optimum
by design (synthdid's tolerance), which is what the SDID reference numbers need.

**Exact least squares by Wolfe's (1976) nearest-point algorithm** (ADH synthetic control and the
conformal refits): ``min ||A x − b||²`` on the simplex is the point of the convex hull of the
columns of A − b nearest the origin; Wolfe's active-set method finds it exactly in finitely many
steps. It runs in one form, on the Gram matrix of the points (why: the comment above
`min_norm_point_gram`, measured by ``benchmarks/bench_wolfe_forms.py``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

from attribution.errors import DesignError, OptionError

__all__ = [
    "fw_simplex",
    "min_norm_point",
    "min_norm_point_gram",
    "row_gram",
    "simplex_least_squares",
    "simplex_weights",
    "sparsify",
]


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


# ----------------------------------------------------------------------------------------------
# Wolfe's min-norm-point algorithm (exact least squares on the simplex)
#
# One solver, in Gram form. Until issue 7 the package had two: this one for the ADH V search and a
# point form (affine steps by least squares on the d × s points themselves) for the conformal
# refits and simplex_least_squares. benchmarks/bench_wolfe_forms.py measured both on Prop 99
# (2 shared cores, load ≈ 5; times vary ±2× with the load, the ratios much less):
# - V search (fit + 38 in-space placebos, 11,700 inner solves along random walks of v around each
#   fitted v): Gram form warm-started from the previous corral 0.07–0.17 s, from scratch 0.10–0.27 s,
#   point form 0.57–1.75 s (8–10× slower: it rebuilds the (k + T0) × J point matrix and cannot
#   warm-start). Both stop within Wolfe's tolerance: objective excess over the better of the two
#   ≤ 2.7e-13 (Gram) and ≤ 2.4e-13 (point) of the largest squared column norm. (The inner problem is
#   nearly flat — the tie-break term weighs 1e-8 — so in ~8% of these solves the two forms, and
#   equally the warm and cold Gram starts, stop at W's whose pre-period MSPE differ by more than
#   1e-6; that is the problem, not the form.)
# - conformal refits (California vs 38 donors, 81-point θ grids: 1,053 problems of 20 × 38 and
#   31 × 38): Gram form (Gram matrix by loops, cold start) 0.01–0.04 s, point form 0.03–0.13 s;
#   objective excess ≤ 1.2e-15 (Gram) and ≤ 1.3e-15 (point) relative, weights within 4.2e-13,
#   all 1,053 moving-block p-values identical. End to end, conformal_arrays on Prop 99 went from
#   0.089 s to 0.038 s CPU.
# - ill-conditioning (treated unit 1e2…1e6 × the donors' spread outside their affine span, the
#   Gram form's worst case as it squares the condition number): both lose accuracy at the same
#   rate, the point form ≈ 2–3× less error (e.g. 4e-8 vs 1e-7 in the weights at 1e5×).
# Switching moved Prop 99's conformal interval ends by ≤ 1.4e-13 and conformal gap estimates from a
# table by ≤ 3.7e-13 (rounding; every p-value identical), and no reference number.
# ----------------------------------------------------------------------------------------------

# Tolerances of Wolfe's algorithm (his Z1, Z3): optimality relative to the largest squared norm,
# and the positivity threshold for barycentric coordinates.
_TOL_OPT = 1e-12
_TOL_POS = 1e-10


@njit(cache=True)
def _chol_solve(M: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve M c = r for symmetric positive (semi)definite M; least squares if not definite."""
    n = M.shape[0]
    L = np.zeros((n, n))
    ok = True
    for i in range(n):
        for j in range(i + 1):
            acc = M[i, j]
            for k in range(j):
                acc -= L[i, k] * L[j, k]
            if i == j:
                if acc <= 1e-14 * max(M[i, i], 1e-300):
                    ok = False
                    break
                L[i, i] = math.sqrt(acc)
            else:
                L[i, j] = acc / L[j, j]
        if not ok:
            break
    if not ok:
        return np.linalg.lstsq(M, r)[0]
    z = np.empty(n)
    for i in range(n):
        acc = r[i]
        for k in range(i):
            acc -= L[i, k] * z[k]
        z[i] = acc / L[i, i]
    c = np.empty(n)
    for i in range(n - 1, -1, -1):
        acc = z[i]
        for k in range(i + 1, n):
            acc -= L[k, i] * c[k]
        c[i] = acc / L[i, i]
    return c


@njit(cache=True)
def _affine_min_gram(G: np.ndarray, S: np.ndarray, s: int) -> np.ndarray:
    """`_affine_min` from the Gram matrix G = P'P of the points."""
    out = np.empty(s)
    if s == 1:
        out[0] = 1.0
        return out
    a0 = S[0]
    M = np.empty((s - 1, s - 1))
    r = np.empty(s - 1)
    for a in range(1, s):
        ia = S[a]
        r[a - 1] = -(G[ia, a0] - G[a0, a0])
        for b in range(1, s):
            ib = S[b]
            M[a - 1, b - 1] = G[ia, ib] - G[ia, a0] - G[a0, ib] + G[a0, a0]
    c = _chol_solve(M, r)
    out[0] = 1.0 - c.sum()
    out[1:] = c
    return out


@njit(cache=True)
def min_norm_point_gram(G: np.ndarray, S: np.ndarray, s0: int) -> tuple[np.ndarray, int]:
    """Wolfe's algorithm on the Gram matrix G (J × J), warm-started from the corral S[:s0].

    Returns the weights (J,) and the size of the final corral, left in S[:size] for the next call
    (the Nelder–Mead search over V evaluates nearby problems whose corrals rarely change).
    """
    J = G.shape[0]
    scale = 1e-300
    for j in range(J):
        scale = max(scale, G[j, j])
    lam = np.empty(J + 1)
    s = s0
    if s == 0:
        j0 = 0
        for j in range(1, J):
            if G[j, j] < G[j0, j0]:
                j0 = j
        S[0] = j0
        lam[0] = 1.0
        s = 1
    else:
        for i in range(s):
            lam[i] = 1.0 / s
    g = np.empty(J)
    first = s > 1
    for _major in range(50 * J + 100):
        if not first:
            for j in range(J):
                acc = 0.0
                for i in range(s):
                    acc += G[j, S[i]] * lam[i]
                g[j] = acc
            xx = 0.0
            for i in range(s):
                xx += lam[i] * g[S[i]]
            j = int(np.argmin(g))
            if xx - g[j] <= _TOL_OPT * scale:
                break
            present = False
            for i in range(s):
                if S[i] == j:
                    present = True
            if present or s > J - 1:
                break
            S[s] = j
            lam[s] = 0.0
            s += 1
        first = False
        for _minor in range(s + 2):
            alpha = _affine_min_gram(G, S, s)
            if alpha.min() > _TOL_POS:
                lam[:s] = alpha
                break
            theta = 1.0
            for i in range(s):
                if alpha[i] <= _TOL_POS:
                    den = lam[i] - alpha[i]
                    if den > 0.0:
                        t = lam[i] / den
                        if t < theta:
                            theta = t
            for i in range(s):
                lam[i] = (1.0 - theta) * lam[i] + theta * alpha[i]
            imin = 0
            for i in range(s):
                if lam[i] < lam[imin]:
                    imin = i
            k = 0
            for i in range(s):
                if lam[i] > _TOL_POS and i != imin:
                    S[k] = S[i]
                    lam[k] = lam[i]
                    k += 1
            if k == 0:
                S[0] = S[int(np.argmax(lam[:s]))]
                lam[0] = 1.0
                k = 1
            s = k
            tot = lam[:s].sum()
            lam[:s] /= tot
    w = np.zeros(J)
    for i in range(s):
        w[S[i]] = lam[i]
    return w / w.sum(), s


@njit(cache=True)
def min_norm_point(P: np.ndarray) -> np.ndarray:
    """Weights λ on the simplex minimising ||P λ||² (P is d × J, one column per point).

    The Gram matrix PᵀP is built by plain loops (a J × J product of a small matrix, where a BLAS
    call costs more in thread start-up than in arithmetic) and solved by `min_norm_point_gram`.
    """
    d, J = P.shape
    G = np.empty((J, J))
    for a in range(J):
        for b in range(a, J):
            acc = 0.0
            for i in range(d):
                acc += P[i, a] * P[i, b]
            G[a, b] = acc
            G[b, a] = acc
    S = np.empty(J + 1, dtype=np.int64)
    w, _ = min_norm_point_gram(G, S, 0)
    return w


def simplex_least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin_w ||A w − b||² subject to w ≥ 0 and Σ w = 1, solved exactly (Wolfe 1976).

    A is m × J (one column per donor), b has length m. The constraint Σw = 1 turns the problem into
    the nearest point to the origin in the convex hull of the columns of A − b.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise OptionError(f"A must be m × J and b of length m; got {A.shape} and {b.shape}")
    if A.shape[1] == 0:
        raise DesignError("no columns (donors) to combine")
    return min_norm_point(np.ascontiguousarray(A - b[:, None]))
