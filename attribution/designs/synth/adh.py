"""Abadie–Diamond–Hainmueller synthetic control with predictor weights V.

Abadie & Gardeazabal (2003, AER) and Abadie, Diamond & Hainmueller (2010, JASA): the synthetic
control is the convex combination W of donor units whose predictors X0 W come closest to the
treated unit's X1 in the V-weighted norm, with V (diagonal, normalised) chosen so that the
resulting W reproduces the treated unit's pre-period outcome path (nested optimisation).

Layers: validate the request → `prepare_panel` pulls the long table out of the engine once and
pivots it to N×T arrays → compiled math on arrays. The inner problem — a least-squares fit on the
simplex — is solved exactly by Wolfe's (1976) nearest-point-in-a-polytope algorithm, an active-set
method that terminates finitely; the outer problem over V runs a compiled Nelder–Mead from the
equal, regression-based (as R Synth) and lagged-outcome starting values, with restarts.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numba import njit

from attribution import config
from attribution.data.engine import Data, as_table, fingerprint
from attribution.designs.synth.panel import SynthPanel, prepare_panel
from attribution.errors import AttributionWarning, DataError, DesignError, OptionError
from attribution.options import PlotKind, check_alpha
from attribution.results import Provenance, Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "SyntheticControlResult",
    "leave_one_out",
    "simplex_least_squares",
    "synthetic_control",
]


# Tolerances of Wolfe's algorithm (his Z1, Z3): optimality relative to the largest squared norm,
# and the positivity threshold for barycentric coordinates.
_TOL_OPT = 1e-12
_TOL_POS = 1e-10


# =============================================================================================
# Compiled kernels
# =============================================================================================


@njit(cache=True)
def _affine_min(P: np.ndarray, S: np.ndarray, s: int) -> np.ndarray:
    """Barycentric coordinates of the point of minimum norm in the affine hull of P[:, S[:s]]."""
    out = np.empty(s)
    if s == 1:
        out[0] = 1.0
        return out
    d = P.shape[0]
    Q = np.empty((d, s - 1))
    p0 = P[:, S[0]]
    for i in range(1, s):
        Q[:, i - 1] = P[:, S[i]] - p0
    c = np.linalg.lstsq(Q, -p0)[0]
    out[0] = 1.0 - c.sum()
    out[1:] = c
    return out


@njit(cache=True)
def _min_norm_point(P: np.ndarray) -> np.ndarray:
    """Weights λ on the simplex minimising ||P λ||² (Wolfe 1976, Math. Programming 11:128–149).

    P is d × J (one column per point). Returns λ (J,), exact up to floating-point tolerance.
    """
    d, J = P.shape
    norms = np.empty(J)
    for j in range(J):
        acc = 0.0
        for i in range(d):
            acc += P[i, j] * P[i, j]
        norms[j] = acc
    scale = max(norms.max(), 1e-300)
    S = np.empty(J + 1, dtype=np.int64)
    lam = np.empty(J + 1)
    j0 = int(np.argmin(norms))
    S[0] = j0
    lam[0] = 1.0
    s = 1
    x = P[:, j0].copy()
    for _major in range(50 * (J + d) + 100):
        g = P.T @ x
        j = int(np.argmin(g))
        xx = x @ x
        if xx - g[j] <= _TOL_OPT * scale:
            break
        present = False
        for i in range(s):
            if S[i] == j:
                present = True
        if present or s > J:
            break  # numerical stall: the best point is already in the corral
        S[s] = j
        lam[s] = 0.0
        s += 1
        for _minor in range(s + 2):
            alpha = _affine_min(P, S, s)
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
            # drop the points whose weight reached zero (at least one does)
            k = 0
            imin = 0
            for i in range(s):
                if lam[i] < lam[imin]:
                    imin = i
            for i in range(s):
                if lam[i] > _TOL_POS and i != imin:
                    S[k] = S[i]
                    lam[k] = lam[i]
                    k += 1
            if k == 0:  # keep the heaviest point rather than an empty corral
                S[0] = S[int(np.argmax(lam[:s]))]
                lam[0] = 1.0
                k = 1
            s = k
            tot = lam[:s].sum()
            lam[:s] /= tot
        x = np.zeros(d)
        for i in range(s):
            x += lam[i] * P[:, S[i]]
    w = np.zeros(J)
    for i in range(s):
        w[S[i]] = lam[i]
    tot = w.sum()
    return w / tot


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
def _min_norm_point_gram(G: np.ndarray, S: np.ndarray, s0: int) -> tuple[np.ndarray, int]:
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
def _gram_for_v(D: np.ndarray, v: np.ndarray, Gt: np.ndarray) -> np.ndarray:
    """G = D' diag(v) D + Gt: the Gram matrix of the V-weighted predictor gaps plus tie-break rows."""
    k, J = D.shape
    G = Gt.copy()
    for i in range(k):
        vi = v[i]
        if vi <= 0.0:
            continue
        for a in range(J):
            da = vi * D[i, a]
            if da == 0.0:
                continue
            for b in range(a, J):
                G[a, b] += da * D[i, b]
    for a in range(J):
        for b in range(a + 1, J):
            G[b, a] = G[a, b]
    return G


@njit(cache=True)
def _weights_for_v(
    D: np.ndarray, v: np.ndarray, Gt: np.ndarray, S: np.ndarray, state: np.ndarray
) -> np.ndarray:
    """Donor weights for predictor weights v.

    D is k × J of (donor − treated) standardised predictor gaps; Gt = Zt'Zt, the Gram matrix of the
    (donor − treated) pre-period outcomes times the small tie-break weight. Minimising
    ||diag(√v) D w||² alone often has a whole face of solutions (the treated unit inside the
    donors' hull on the predictors); the tie-break term picks, among those, the W with the best
    pre-period outcome fit, and moves a unique solution only by O(tie-break²). `S`/`state[0]` carry
    the warm-start corral between calls.
    """
    w, s = _min_norm_point_gram(_gram_for_v(D, v, Gt), S, state[0])
    state[0] = s
    return w


@njit(cache=True)
def _mspe(Zd: np.ndarray, w: np.ndarray) -> float:
    """Mean squared prediction error; Zd is T × J of (donor − treated) outcomes, so Zd w = −gap."""
    r = Zd @ w
    return (r @ r) / r.shape[0]


@njit(cache=True)
def _v_loss(
    theta: np.ndarray,
    D: np.ndarray,
    Zd: np.ndarray,
    Gt: np.ndarray,
    S: np.ndarray,
    state: np.ndarray,
) -> float:
    a = np.abs(theta)
    tot = a.sum()
    if not tot > 0.0:
        return np.inf
    return _mspe(Zd, _weights_for_v(D, a / tot, Gt, S, state))


@njit(cache=True)
def _nelder_mead(
    x0: np.ndarray,
    D: np.ndarray,
    Zd: np.ndarray,
    Gt: np.ndarray,
    S: np.ndarray,
    state: np.ndarray,
    maxfev: int,
    ftol: float,
) -> tuple[np.ndarray, float, int]:
    """Nelder & Mead (1965) simplex search on the V loss (standard coefficients 1, 2, ½, ½).

    Stops when the simplex has collapsed (values within `ftol`, relative, and points within 1e-4
    of the scale), when the loss has not improved for 30 (n + 1) evaluations (flat regions are
    common: the W stays the same over whole ranges of V), or after `maxfev` evaluations.
    """
    n = x0.shape[0]
    sim = np.empty((n + 1, n))
    fs = np.empty(n + 1)
    sim[0] = x0
    for i in range(n):
        y = x0.copy()
        y[i] = y[i] * 1.05 if y[i] != 0.0 else 0.00025
        sim[i + 1] = y
    for i in range(n + 1):
        fs[i] = _v_loss(sim[i], D, Zd, Gt, S, state)
    nfev = n + 1
    best_f = fs.min()
    last_gain = nfev
    while nfev < maxfev:
        order = np.argsort(fs)
        sim = sim[order]
        fs = fs[order]
        if fs[0] < best_f * (1.0 - ftol) - 1e-300:
            best_f = fs[0]
            last_gain = nfev
        elif nfev - last_gain > 30 * (n + 1):
            break
        spread = 0.0
        for i in range(1, n + 1):
            spread = max(spread, abs(fs[i] - fs[0]))
        xs = 0.0
        for i in range(1, n + 1):
            for c in range(n):
                xs = max(xs, abs(sim[i, c] - sim[0, c]))
        if spread <= ftol * (abs(fs[0]) + 1e-300) and xs <= 1e-4 * np.abs(sim[0]).sum():
            break
        xbar = np.zeros(n)
        for i in range(n):
            xbar += sim[i]
        xbar /= n
        xr = 2.0 * xbar - sim[n]
        fr = _v_loss(xr, D, Zd, Gt, S, state)
        nfev += 1
        if fr < fs[0]:
            xe = 3.0 * xbar - 2.0 * sim[n]
            fe = _v_loss(xe, D, Zd, Gt, S, state)
            nfev += 1
            if fe < fr:
                sim[n] = xe
                fs[n] = fe
            else:
                sim[n] = xr
                fs[n] = fr
        elif fr < fs[n - 1]:
            sim[n] = xr
            fs[n] = fr
        else:
            if fr < fs[n]:
                xc = 1.5 * xbar - 0.5 * sim[n]
                fc = _v_loss(xc, D, Zd, Gt, S, state)
                nfev += 1
                ok = fc <= fr
            else:
                xc = 0.5 * xbar + 0.5 * sim[n]
                fc = _v_loss(xc, D, Zd, Gt, S, state)
                nfev += 1
                ok = fc < fs[n]
            if ok:
                sim[n] = xc
                fs[n] = fc
            else:
                for i in range(1, n + 1):
                    sim[i] = sim[0] + 0.5 * (sim[i] - sim[0])
                    fs[i] = _v_loss(sim[i], D, Zd, Gt, S, state)
                nfev += n
    best = int(np.argmin(fs))
    return sim[best].copy(), fs[best], nfev


@njit(cache=True)
def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide each predictor (row) by its standard deviation over the units in X (as R Synth)."""
    k, n = X.shape
    sd = np.empty(k)
    Xs = np.empty((k, n))
    for i in range(k):
        m = X[i].mean()
        ss = 0.0
        for j in range(n):
            ss += (X[i, j] - m) ** 2
        sd[i] = math.sqrt(ss / (n - 1)) if n > 1 else 0.0
        for j in range(n):
            Xs[i, j] = X[i, j] / sd[i] if sd[i] > 0.0 else 0.0
    return Xs, sd


@njit(cache=True)
def _fit_unit(
    X: np.ndarray,
    Z: np.ndarray,
    treated: int,
    pool: np.ndarray,
    lag_rows: np.ndarray,
    optimize_v: bool,
    maxfev: int,
    tie_break: float,
    n_local: int = 3,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Fit ADH for unit `treated` against donors `pool`.

    X: k × N raw predictors; Z: T0 × N outcomes over the MSPE window; lag_rows: True for predictors
    that are single-period outcome lags in the window. Returns (v, w over pool, pre MSPE, lower
    bound of the pre MSPE over all W).
    """
    k = X.shape[0]
    J = pool.shape[0]
    idx = np.empty(J + 1, dtype=np.int64)
    idx[0] = treated
    idx[1:] = pool
    Xs, sd = _standardise(X[:, idx])
    D = np.empty((k, J))
    for i in range(k):
        for j in range(J):
            D[i, j] = Xs[i, j + 1] - Xs[i, 0]
    T0 = Z.shape[0]
    Zd = np.empty((T0, J))
    for t in range(T0):
        for j in range(J):
            Zd[t, j] = Z[t, pool[j]] - Z[t, treated]
    Gz = Zd.T @ Zd
    S = np.empty(J + 1, dtype=np.int64)
    state = np.zeros(1, dtype=np.int64)
    # the best pre-period fit any W can achieve (no V restricts it further): a lower bound
    w_low, _ = _min_norm_point_gram(Gz, S, 0)
    lower = _mspe(Zd, w_low)
    zs = (Zd * Zd).sum() / Zd.size if Zd.size else 1.0
    Gt = Gz * (tie_break**2 / (T0 * max(zs, 1e-300)))
    v_eq = np.full(k, 1.0 / k)
    if not optimize_v or k == 1:
        w = _weights_for_v(D, v_eq, Gt, S, state)
        return v_eq, w, _mspe(Zd, w), lower
    # starting values: equal; regression-based (R Synth); lagged outcomes on their raw scale;
    # then one start leaning on each predictor in turn (the loss is piecewise smooth in V with
    # many flat pieces, so a local search needs several starts)
    has_lag = lag_rows.sum() > 0
    n_starts = 2 + (1 if has_lag else 0) + 2 * k
    starts = np.empty((n_starts, k))
    starts[0] = v_eq
    A = np.ones((J + 1, k + 1))
    for i in range(k):
        A[:, i + 1] = Xs[i]
    B = np.linalg.lstsq(A, Z[:, idx].T.copy())[0]  # (k + 1) × T0
    reg = np.empty(k)
    for i in range(k):
        reg[i] = B[i + 1] @ B[i + 1]
    starts[1] = reg / reg.sum() if reg.sum() > 0.0 else v_eq
    nxt = 2
    if has_lag:
        lag = np.empty(k)
        for i in range(k):
            lag[i] = sd[i] ** 2 if lag_rows[i] else 0.0
        lag /= lag.sum()
        for i in range(k):
            lag[i] = max(lag[i], 1e-6)
        starts[nxt] = lag / lag.sum()
        nxt += 1
    for i in range(k):
        starts[nxt + i] = 0.1 / k
        starts[nxt + i, i] += 0.9
        starts[nxt + k + i] = 0.0
        starts[nxt + k + i, i] = 1.0
    best_v = v_eq
    best_f = np.inf
    f_start = np.empty(n_starts)
    for s in range(n_starts):
        f_start[s] = _v_loss(starts[s], D, Zd, Gt, S, state)
        if f_start[s] < best_f:
            best_f = f_start[s]
            best_v = starts[s].copy()
    # local searches from the equal and regression starts and the best `n_local` others
    rest = np.argsort(f_start[2:]) + 2
    n_run = 2 + min(n_local, n_starts - 2)
    for r in range(n_run):
        if best_f <= lower * (1.0 + 1e-9) + 1e-14:
            break  # a V attaining the lower bound is globally optimal
        s0 = r if r < 2 else rest[r - 2]
        x, f, _ = _nelder_mead(starts[s0], D, Zd, Gt, S, state, maxfev, 1e-9)
        if f < best_f:
            best_f = f
            best_v = x
    for _restart in range(3):  # restart at the best point until it stops improving
        if best_f <= lower * (1.0 + 1e-9) + 1e-14:
            break
        x, f, _ = _nelder_mead(best_v, D, Zd, Gt, S, state, maxfev, 1e-9)
        improved = f < best_f * (1.0 - 1e-7)
        if f < best_f:
            best_f = f
            best_v = x
        if not improved:
            break
    a = np.abs(best_v)
    v = a / a.sum()
    state[0] = 0
    w = _weights_for_v(D, v, Gt, S, state)
    return v, w, _mspe(Zd, w), lower


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
    return _min_norm_point(np.ascontiguousarray(A - b[:, None]))


# =============================================================================================
# The problem on arrays
# =============================================================================================


@dataclass(frozen=True, kw_only=True)
class SCProblem:
    """Everything a fit, a placebo or a leave-one-out refit needs, as arrays (no table).

    Y: N × T outcomes; X: k × N predictors (raw scale); window: column indices of the periods
    whose pre-period MSPE chooses V; lag: predictors that are single-period outcome lags inside
    the window (their raw-scale weights are a natural starting V); n_pre: periods before the
    treatment start; treated: row of the treated unit; pool: rows of the donors.
    """

    Y: np.ndarray
    X: np.ndarray
    predictor_names: tuple[str, ...]
    window: np.ndarray
    lag: np.ndarray
    units: pd.Index
    times: pd.Index
    treated: int
    pool: np.ndarray
    n_pre: int
    optimize_v: bool = True
    maxfev: int = 3000
    tie_break: float = 1e-4
    covariates: dict[str, np.ndarray] = field(default_factory=dict)  # name → N × T


@dataclass(frozen=True)
class SCFit:
    """One ADH fit: predictor weights v, donor weights w (aligned with the pool), the synthetic path."""

    v: np.ndarray
    w: np.ndarray
    synthetic: np.ndarray
    mspe: float
    mspe_lower_bound: float


def fit_arrays(problem: SCProblem, *, treated: int | None = None, pool: Any = None) -> SCFit:
    """ADH fit of `treated` (default the problem's) on donors `pool` (default the problem's)."""
    tr = problem.treated if treated is None else int(treated)
    pl = problem.pool if pool is None else np.asarray(pool, dtype=np.int64)
    if len(pl) == 0:
        raise DesignError("no donors left to build a synthetic control from")
    Z = np.ascontiguousarray(problem.Y[:, problem.window].T)
    v, w, mspe, lower = _fit_unit(
        np.ascontiguousarray(problem.X),
        Z,
        tr,
        np.ascontiguousarray(pl),
        problem.lag,
        problem.optimize_v,
        problem.maxfev,
        problem.tie_break,
    )
    synthetic = w @ problem.Y[pl]
    return SCFit(v=v, w=w, synthetic=synthetic, mspe=float(mspe), mspe_lower_bound=float(lower))


def rmspe(gap: np.ndarray, n_pre: int) -> tuple[float, float]:
    """Root mean squared gap before and after the treatment start (ADH 2010, Section 3)."""
    gap = np.asarray(gap, dtype=float)
    return float(np.sqrt(np.mean(gap[:n_pre] ** 2))), float(np.sqrt(np.mean(gap[n_pre:] ** 2)))


# =============================================================================================
# Result
# =============================================================================================


@dataclass(frozen=True, kw_only=True)
class SyntheticControlResult(Result):
    """ADH synthetic control: the average post-period gap, per-period gaps, weights and inference.

    `table` has one row for the average post-period gap (term ``"average post gap"``) and one per
    period (term ``"gap <period>"``, column `time`), with conformal intervals where computed
    (Chernozhukov, Wüthrich & Zhu 2021) and, on the average row, the in-space placebo p-value.
    """

    estimate: float
    treated_unit: Any
    treatment_start: Any
    outcome: str
    treated_path: pd.Series
    synthetic_path: pd.Series
    unit_weights: pd.Series
    predictor_weights: pd.Series
    balance: pd.DataFrame
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    mspe_lower_bound: float
    placebo: pd.DataFrame | None = None
    p_value: float | None = None
    sharp_null_p_value: float | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    placebo_gaps: pd.DataFrame | None = field(default=None, repr=False, metadata={"internal": True})
    problem: SCProblem = field(repr=False, metadata={"internal": True})

    @property
    def gaps(self) -> pd.Series:
        """Treated minus synthetic outcome, by period."""
        return (self.treated_path - self.synthetic_path).rename("gap")

    def plot(self, *, ax: Axes | None = None, kind: PlotKind = "trajectory") -> Figure:
        """`trajectory` (treated vs synthetic), `gap` (over placebo gaps), `weights`, `leave_one_out`."""
        from attribution.designs.synth import plots

        if kind == "trajectory":
            return plots.trajectory_plot(self, ax=ax)
        if kind == "gap":
            return plots.gap_plot(self, ax=ax)
        if kind == "weights":
            return plots.weights_plot(self.unit_weights, ax=ax)
        if kind == "leave_one_out":
            return plots.leave_one_out_plot(self, ax=ax)
        raise OptionError(
            f"kind={kind!r} is not a valid plot",
            fix="use 'trajectory', 'gap', 'weights' or 'leave_one_out'",
        )


# =============================================================================================
# Public entry point
# =============================================================================================

SpecialPredictor = tuple[str, Any, str]


def synthetic_control(
    data: Data,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    treatment_start: Any,
    predictors: Sequence[str] | None = None,
    special_predictors: Sequence[SpecialPredictor] | None = None,
    pre_period: Sequence[Any] | None = None,
    optimize_v: bool = True,
    alpha: float | None = None,
    placebo: bool = True,
    conformal: bool = True,
    seed: int | None = None,
) -> SyntheticControlResult:
    """Abadie–Diamond–Hainmueller synthetic control for one treated unit.

    - `predictors`: covariate columns, each averaged over `pre_period`.
    - `special_predictors`: ``(column, periods, "mean")`` triples as R Synth's
      ``special.predictors``; `column` may be the outcome (lagged outcomes), `periods` one period or
      a list. With neither given, every pre-period outcome is a predictor.
    - `pre_period`: the periods whose outcome MSPE chooses V (Synth's ``time.optimize.ssr``) and over
      which `predictors` are averaged; default every period before `treatment_start`.
    - `optimize_v=False` uses equal weights on the standardised predictors.
    - `placebo`: in-space placebos (every donor in turn, V re-fitted) → RMSPE-ratio p-value.
    - `conformal`: per-period conformal intervals and the sharp-null p-value (CWZ 2021).
    - `seed`: only used by randomised conformal permutations; the default ones are deterministic.

    Predictors are divided by their standard deviation across units (as Synth). Where the inner
    problem has many solutions (the treated unit inside the donors' hull on the predictors), the
    W with the best pre-period outcome fit is taken.
    """
    alpha = check_alpha(config.get().alpha if alpha is None else alpha)
    for name, flag in (("optimize_v", optimize_v), ("placebo", placebo), ("conformal", conformal)):
        if not isinstance(flag, bool | np.bool_):
            raise OptionError(f"{name} must be True or False, got {flag!r}")
    if seed is not None and not isinstance(seed, int | np.integer):
        raise OptionError(f"seed must be an integer or None, got {seed!r}")
    specials = _normalise_specials(special_predictors)
    preds = _normalise_predictors(predictors)
    covs = list(dict.fromkeys([*preds, *(c for c, _, _ in specials if c != outcome)]))
    table = as_table(data)
    panel = prepare_panel(table, outcome=outcome, unit=unit, time=time, covariates=covs or None)
    problem = build_problem(
        panel,
        treated_unit=treated_unit,
        treatment_start=treatment_start,
        predictors=preds,
        special_predictors=specials,
        pre_period=pre_period,
        optimize_v=bool(optimize_v),
    )
    options = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated_unit": treated_unit,
        "treatment_start": treatment_start,
        "predictors": preds,
        "special_predictors": [(c, _jsonable_periods(p), op) for c, p, op in specials],
        "pre_period": None if pre_period is None else _jsonable_periods(list(pre_period)),
        "optimize_v": bool(optimize_v),
        "placebo": bool(placebo),
        "conformal": bool(conformal),
    }
    prov = Provenance(
        design="synthetic control (ADH)",
        data=fingerprint(table, n_rows=panel.n_rows),
        options=options,
        seed=seed,
    )
    return estimate_problem(
        problem,
        alpha=alpha,
        placebo=bool(placebo),
        conformal=bool(conformal),
        seed=seed,
        provenance=prov,
        outcome=outcome,
        treatment_start=as_time(treatment_start, problem.times),
    )


def estimate_problem(
    problem: SCProblem,
    *,
    alpha: float,
    placebo: bool,
    conformal: bool,
    seed: int | None,
    provenance: Provenance,
    outcome: str,
    treatment_start: Any,
) -> SyntheticControlResult:
    """Fit, diagnose and (optionally) run placebo and conformal inference on a built problem."""
    from attribution.designs.synth import conformal as cf
    from attribution.designs.synth import placebo as pl

    fit = fit_arrays(problem)
    y1 = problem.Y[problem.treated]
    gap = y1 - fit.synthetic
    n_pre = problem.n_pre
    pre, post = rmspe(gap, n_pre)
    ratio = post / pre if pre > 0 else np.inf
    times = problem.times
    donors = problem.units[problem.pool]
    unit_weights = pd.Series(fit.w, index=donors, name="weight")
    predictor_weights = pd.Series(fit.v, index=list(problem.predictor_names), name="v")
    X = problem.X
    balance = pd.DataFrame(
        {
            "predictor": list(problem.predictor_names),
            "treated": X[:, problem.treated],
            "synthetic": X[:, problem.pool] @ fit.w,
            "donor_mean": X[:, problem.pool].mean(axis=1),
            "v": fit.v,
        }
    )
    diagnostics = _diagnose(problem, gap, pre)

    placebo_table = None
    placebo_gaps = None
    p_value = None
    if placebo and len(problem.pool) >= 2:
        placebo_gaps = pl.placebo_gaps(problem)
        placebo_table, p_value = pl.placebo_table(
            placebo_gaps, gap, n_pre, treated_unit=problem.units[problem.treated]
        )
    elif placebo:
        diagnostics["placebo"] = "skipped: in-space placebos need at least two donors"

    post_idx = np.arange(n_pre, len(times))
    est = float(gap[post_idx].mean())
    conf = None
    sharp = None
    if conformal:
        conf = cf.conformal_arrays(
            y1,
            problem.Y[problem.pool],
            n_pre,
            alpha=alpha,
            centre=gap[post_idx],
            seed=seed,
        )
        sharp = conf.sharp_null_p_value

    rows = [
        {
            "term": "average post gap",
            "estimate": est,
            "std_error": np.nan,
            "conf_low": np.nan,  # no interval for an average of heterogeneous period effects;
            "conf_high": np.nan,  # conformal_interval() gives one under a constant effect
            "p_value": p_value if p_value is not None else np.nan,
            "time": None,
            "inference": "in-space placebo (RMSPE ratio)" if p_value is not None else "none",
        }
    ]
    for k, t in enumerate(post_idx):
        rows.append(
            {
                "term": f"gap {times[t]}",
                "estimate": float(gap[t]),
                "std_error": np.nan,
                "conf_low": conf.low[k] if conf is not None else np.nan,
                "conf_high": conf.high[k] if conf is not None else np.nan,
                "p_value": conf.p_zero[k] if conf is not None else np.nan,
                "time": times[t],
                "inference": "conformal" if conf is not None else "none",
            }
        )
    table = pd.DataFrame(rows)
    return SyntheticControlResult(
        design="synthetic control (ADH)",
        table=table,
        alpha=alpha,
        provenance=provenance,
        estimate=est,
        treated_unit=problem.units[problem.treated],
        treatment_start=treatment_start,
        outcome=outcome,
        treated_path=pd.Series(y1, index=times, name="treated"),
        synthetic_path=pd.Series(fit.synthetic, index=times, name="synthetic"),
        unit_weights=unit_weights,
        predictor_weights=predictor_weights,
        balance=balance,
        pre_rmspe=pre,
        post_rmspe=post,
        rmspe_ratio=float(ratio),
        mspe_lower_bound=fit.mspe_lower_bound,
        placebo=placebo_table,
        p_value=p_value,
        sharp_null_p_value=sharp,
        diagnostics=diagnostics,
        placebo_gaps=placebo_gaps,
        problem=problem,
    )


# Poor pre-period fit: RMSPE above this share of the cross-unit standard deviation of the
# pre-period outcome (averaged over pre-periods), i.e. the synthetic control leaves more than
# 1/16 of the cross-sectional variance unexplained.
POOR_FIT_SHARE = 0.25


def _diagnose(problem: SCProblem, gap: np.ndarray, pre_rmspe: float) -> dict[str, Any]:
    """Convex-hull and fit diagnostics; warns (AttributionWarning) when the fit cannot be trusted.

    Rules: (1) a predictor of the treated unit outside the donors' [min, max] means no convex
    combination can reproduce it; (2) a pre-period RMSPE above `POOR_FIT_SHARE` × the cross-unit
    standard deviation of the pre-period outcome means the treated unit is far from the donors'
    hull on the outcome path.
    """
    X = problem.X
    x1 = X[:, problem.treated]
    lo = X[:, problem.pool].min(axis=1)
    hi = X[:, problem.pool].max(axis=1)
    outside = [problem.predictor_names[i] for i in range(len(x1)) if x1[i] < lo[i] or x1[i] > hi[i]]
    spread = float(np.mean(np.std(problem.Y[:, : problem.n_pre], axis=0, ddof=1)))
    share = pre_rmspe / spread if spread > 0 else np.inf
    out: dict[str, Any] = {
        "predictors_outside_donor_range": outside,
        "pre_rmspe_share_of_cross_unit_sd": share,
        "poor_fit_rule": f"pre-period RMSPE > {POOR_FIT_SHARE} × cross-unit SD of pre-period outcome",
    }
    treated = problem.units[problem.treated]
    if outside:
        warnings.warn(
            f"{treated!r} lies outside the donors' convex hull: predictor(s) {outside} are beyond "
            "every donor's value, so no synthetic control can match them",
            AttributionWarning,
            stacklevel=3,
        )
    if share > POOR_FIT_SHARE:
        warnings.warn(
            f"poor pre-period fit for {treated!r}: RMSPE {pre_rmspe:.4g} is {share:.2f} × the "
            f"cross-unit SD of the pre-period outcome (rule: > {POOR_FIT_SHARE}); the treated unit "
            "is probably outside the donors' convex hull and the gaps are not credible",
            AttributionWarning,
            stacklevel=3,
        )
    return out


# =============================================================================================
# Building the problem from a validated panel
# =============================================================================================


def _normalise_predictors(predictors: Sequence[str] | None) -> list[str]:
    if predictors is None:
        return []
    if isinstance(predictors, str):
        predictors = [predictors]
    out = list(predictors)
    if any(not isinstance(c, str) or not c for c in out):
        raise OptionError(f"predictors must be column names, got {predictors!r}")
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise OptionError(f"predictor(s) {dup} listed twice", columns=dup, fix="list each once")
    return out


def _normalise_specials(specials: Sequence[SpecialPredictor] | None) -> list[tuple[str, list, str]]:
    if specials is None:
        return []
    out = []
    for sp in specials:
        if not isinstance(sp, tuple | list) or len(sp) != 3:
            raise OptionError(
                f"special predictor {sp!r} must be a (column, periods, 'mean') triple",
                fix="e.g. special_predictors=[('packs', [1975], 'mean'), ('packs', range(1980, 1989), 'mean')]",
            )
        col, periods, op = sp
        if not isinstance(col, str) or not col:
            raise OptionError(f"special predictor column must be a column name, got {col!r}")
        if op != "mean":
            raise OptionError(
                f"special predictor operation {op!r} for {col!r} is not supported",
                columns=[col],
                fix="use 'mean'",
            )
        if isinstance(periods, str) or not hasattr(periods, "__iter__"):
            periods = [periods]
        periods = list(periods)
        if not periods:
            raise OptionError(f"special predictor for {col!r} lists no periods", columns=[col])
        out.append((col, periods, op))
    return out


def _jsonable_periods(periods: list) -> list:
    return [p.item() if isinstance(p, np.generic) else p for p in periods]


def _period_label(periods: Sequence[Any]) -> str:
    ps = list(periods)
    if len(ps) == 1:
        return str(ps[0])
    return f"{ps[0]}–{ps[-1]}" if len(ps) > 2 else f"{ps[0]}, {ps[1]}"


def _locate_periods(
    times: pd.Index, periods: Sequence[Any], *, n_pre: int, what: str, column: str
) -> np.ndarray:
    """Column indices of `periods`; DesignError naming periods absent or not before treatment."""
    periods = [as_time(p, times) for p in periods]
    try:
        idx = times.get_indexer(pd.Index(periods))
    except (TypeError, ValueError) as exc:  # incomparable types
        raise DesignError(
            f"{what}: periods {list(periods)[:5]} cannot be matched to {times.name!r} values",
            columns=[column],
            fix=f"use values of {times.name!r}, e.g. {list(times[:3])}",
        ) from exc
    missing = [p for p, i in zip(periods, idx, strict=True) if i < 0]
    if missing:
        raise DesignError(
            f"{what}: period(s) {missing[:5]} are not in the panel's {times.name!r} values",
            columns=[column],
            fix=f"use periods between {times[0]!r} and {times[n_pre - 1]!r}",
        )
    late = [p for p, i in zip(periods, idx, strict=True) if i >= n_pre]
    if late:
        raise DesignError(
            f"{what}: period(s) {late[:5]} are not before the treatment start, so they would let "
            "the treatment leak into the predictors",
            columns=[column],
            fix=f"use periods up to {times[n_pre - 1]!r}",
        )
    if len(set(idx.tolist())) != len(idx):
        raise OptionError(f"{what}: a period is listed twice", columns=[column])
    return idx.astype(np.int64)


def build_problem(
    panel: SynthPanel,
    *,
    treated_unit: Any,
    treatment_start: Any,
    predictors: Sequence[str],
    special_predictors: Sequence[tuple[str, list, str]],
    pre_period: Sequence[Any] | None,
    optimize_v: bool,
) -> SCProblem:
    """Turn a validated wide panel and the predictor specification into an `SCProblem`."""
    units, times = panel.units, panel.times
    treatment_start = as_time(treatment_start, times)
    pos = units.get_indexer([treated_unit])[0] if _hashable(treated_unit) else -1
    if pos < 0:
        raise DesignError(
            f"treated_unit {treated_unit!r} is not a value of {panel.unit!r}",
            columns=[panel.unit],
            fix=f"choose one of the {len(units)} units, e.g. {list(units[:5])}",
        )
    try:
        n_pre = int(np.sum(np.asarray(times < treatment_start)))
    except TypeError as exc:
        raise DesignError(
            f"treatment_start {treatment_start!r} cannot be compared with {panel.time!r} values "
            f"({times.dtype})",
            columns=[panel.time],
            fix=f"pass a value of {panel.time!r}, e.g. {times[len(times) // 2]!r}",
        ) from exc
    if n_pre == 0:
        raise DesignError(
            f"treatment_start {treatment_start!r} leaves no pre-treatment period for "
            f"{treated_unit!r} (first period {times[0]!r})",
            columns=[panel.time],
            rows=pd.DataFrame({panel.unit: [treated_unit], "first_period": [times[0]]}),
            fix=f"choose a treatment start after {times[0]!r}",
        )
    if n_pre == len(times):
        raise DesignError(
            f"treatment_start {treatment_start!r} is after the last period {times[-1]!r}: no "
            f"post-treatment period for {treated_unit!r}",
            columns=[panel.time],
            rows=pd.DataFrame({panel.unit: [treated_unit], "last_period": [times[-1]]}),
            fix=f"choose a treatment start between {times[1]!r} and {times[-1]!r}",
        )
    pool = np.array([i for i in range(len(units)) if i != pos], dtype=np.int64)
    if len(pool) == 0:
        raise DesignError(
            f"no donors: {treated_unit!r} is the only unit in the panel",
            columns=[panel.unit],
            fix="add untreated units to serve as the donor pool",
        )
    if pre_period is None:
        window = np.arange(n_pre, dtype=np.int64)
    else:
        if isinstance(pre_period, str) or not hasattr(pre_period, "__iter__"):
            raise OptionError(
                f"pre_period must be a list of periods, got {pre_period!r}",
                fix="e.g. pre_period=range(1970, 1989)",
            )
        window = np.sort(
            _locate_periods(
                times, list(pre_period), n_pre=n_pre, what="pre_period", column=panel.time
            )
        )
        if len(window) == 0:
            raise OptionError("pre_period lists no periods", columns=[panel.time])
    rows: list[np.ndarray] = []
    names: list[str] = []
    lag: list[bool] = []
    wlabel = _period_label(times[window])
    for c in predictors:
        rows.append(panel.X[c][:, window].mean(axis=1))
        names.append(f"{c} (mean {wlabel})")
        lag.append(False)
    for col, periods, _op in special_predictors:
        if col != panel.outcome and col not in panel.X:
            raise DataError(f"special predictor column {col!r} is not in the table", columns=[col])
        idx = _locate_periods(
            times, periods, n_pre=n_pre, what=f"special predictor {col!r}", column=col
        )
        src = panel.Y if col == panel.outcome else panel.X[col]
        rows.append(src[:, idx].mean(axis=1))
        names.append(f"{col} ({'mean ' if len(idx) > 1 else ''}{_period_label(times[idx])})")
        lag.append(bool(col == panel.outcome and len(idx) == 1 and idx[0] in set(window.tolist())))
    if not rows:  # default: every pre-period outcome in the window
        for t in window:
            rows.append(panel.Y[:, t])
            names.append(f"{panel.outcome} ({times[t]})")
            lag.append(True)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise OptionError(f"predictor(s) {dup} specified twice", fix="list each predictor once")
    X = np.vstack(rows)
    sd = X.std(axis=1, ddof=1)
    const = [names[i] for i in range(len(names)) if not sd[i] > 0]
    if const:
        raise DesignError(
            f"predictor(s) {const} take the same value for every unit, so they cannot be "
            "standardised or help choose donors",
            columns=[n.split(" (")[0] for n in const],
            fix="drop these predictors",
        )
    return SCProblem(
        Y=panel.Y,
        X=X,
        predictor_names=tuple(names),
        window=window,
        lag=np.asarray(lag, dtype=np.bool_),
        units=units,
        times=times,
        treated=int(pos),
        pool=pool,
        n_pre=n_pre,
        optimize_v=optimize_v,
        covariates=dict(panel.X),
    )


def as_time(value: Any, times: pd.Index) -> Any:
    """`value` in the type of the panel's periods: dates and date strings become Timestamps when
    the periods are datetimes (DuckDB returns DATE columns as datetime64)."""
    if pd.api.types.is_datetime64_any_dtype(times.dtype) and isinstance(
        value, str | _dt.date | np.datetime64
    ):
        try:
            return pd.Timestamp(value)
        except (TypeError, ValueError):
            return value
    return value


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# =============================================================================================
# Leave-one-out donors
# =============================================================================================


def leave_one_out(result: SyntheticControlResult, *, min_weight: float = 1e-3) -> pd.DataFrame:
    """Re-fit dropping, in turn, each donor with weight above `min_weight` (ADH 2015, Section 5).

    Returns a long frame (dropped, time, synthetic, gap): how much the synthetic path depends on
    any single donor.
    """
    problem = result.problem
    w = result.unit_weights
    keep = w[w > min_weight].sort_values(ascending=False)
    frames = []
    for donor in keep.index:
        row = int(problem.units.get_indexer([donor])[0])
        pool = problem.pool[problem.pool != row]
        if len(pool) == 0:
            continue
        fit = fit_arrays(problem, pool=pool)
        frames.append(
            pd.DataFrame(
                {
                    "dropped": donor,
                    "time": problem.times,
                    "synthetic": fit.synthetic,
                    "gap": problem.Y[problem.treated] - fit.synthetic,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["dropped", "time", "synthetic", "gap"])
    return pd.concat(frames, ignore_index=True)
