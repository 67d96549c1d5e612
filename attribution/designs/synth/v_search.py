"""The nested search over ADH's predictor weights V (Abadie, Diamond & Hainmueller 2010).

For predictor weights v (diagonal V, Σv = 1) the donor weights W(v) minimise the V-weighted distance
between the treated unit's standardised predictors and the donors' (an exact simplex least-squares
problem, solved by `solvers.min_norm_point_gram`); the outer problem picks the v whose W(v)
reproduces the treated unit's pre-period outcome path best (pre-period MSPE). The outer loss is
piecewise smooth in v with many flat pieces, so it is searched by a compiled Nelder–Mead from the
equal, regression-based (as R Synth) and lagged-outcome starting values and one start leaning on each
predictor, with restarts, stopping early when a v attains the unrestricted lower bound.

Everything here is compiled (numba) and works on arrays only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from attribution.designs.synth.solvers import min_norm_point_gram

__all__ = [
    "fit_unit",
    "mspe",
    "mspe_lower_bound",
    "standardise",
    "theta_to_v",
    "weights_for_v",
    "weights_given_v",
]


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
def weights_for_v(
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
    w, s = min_norm_point_gram(_gram_for_v(D, v, Gt), S, state[0])
    state[0] = s
    return w


@njit(cache=True)
def mspe(Zd: np.ndarray, w: np.ndarray) -> float:
    """Mean squared prediction error; Zd is T × J of (donor − treated) outcomes, so Zd w = −gap."""
    r = Zd @ w
    return (r @ r) / r.shape[0]


@njit(cache=True)
def theta_to_v(theta: np.ndarray, floor: float) -> np.ndarray:
    """The search variable θ → predictor weights: v = floor + (1 − k·floor)·|θ| / Σ|θ|.

    Every v_i ≥ `floor` and Σv = 1 (floor = 0: the plain normalisation of R Synth).
    """
    a = np.abs(theta)
    k = a.shape[0]
    return floor + (1.0 - k * floor) * (a / a.sum())


@njit(cache=True)
def _v_loss(
    theta: np.ndarray,
    D: np.ndarray,
    Zd: np.ndarray,
    Gt: np.ndarray,
    S: np.ndarray,
    state: np.ndarray,
    floor: float,
) -> float:
    if not np.abs(theta).sum() > 0.0:
        return np.inf
    return mspe(Zd, weights_for_v(D, theta_to_v(theta, floor), Gt, S, state))


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
    floor: float,
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
        fs[i] = _v_loss(sim[i], D, Zd, Gt, S, state, floor)
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
        fr = _v_loss(xr, D, Zd, Gt, S, state, floor)
        nfev += 1
        if fr < fs[0]:
            xe = 3.0 * xbar - 2.0 * sim[n]
            fe = _v_loss(xe, D, Zd, Gt, S, state, floor)
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
                fc = _v_loss(xc, D, Zd, Gt, S, state, floor)
                nfev += 1
                ok = fc <= fr
            else:
                xc = 0.5 * xbar + 0.5 * sim[n]
                fc = _v_loss(xc, D, Zd, Gt, S, state, floor)
                nfev += 1
                ok = fc < fs[n]
            if ok:
                sim[n] = xc
                fs[n] = fc
            else:
                for i in range(1, n + 1):
                    sim[i] = sim[0] + 0.5 * (sim[i] - sim[0])
                    fs[i] = _v_loss(sim[i], D, Zd, Gt, S, state, floor)
                nfev += n
    best = int(np.argmin(fs))
    return sim[best].copy(), fs[best], nfev


@njit(cache=True)
def standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
def _unit_arrays(
    X: np.ndarray, Z: np.ndarray, treated: int, pool: np.ndarray, tie_break: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Xs, sd, D, Zd, Gz, Gt, idx): standardised predictors of [treated, pool], their gaps, the
    outcome gaps over the window, their Gram matrix and its tie-break multiple."""
    k = X.shape[0]
    J = pool.shape[0]
    idx = np.empty(J + 1, dtype=np.int64)
    idx[0] = treated
    idx[1:] = pool
    Xs, sd = standardise(X[:, idx])
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
    zs = (Zd * Zd).sum() / Zd.size if Zd.size else 1.0
    Gt = Gz * (tie_break**2 / (T0 * max(zs, 1e-300)))
    return Xs, sd, D, Zd, Gz, Gt, idx


@njit(cache=True)
def weights_given_v(
    X: np.ndarray, Z: np.ndarray, treated: int, pool: np.ndarray, v: np.ndarray, tie_break: float
) -> tuple[np.ndarray, float]:
    """(W over pool, window MSPE) for fixed predictor weights v (R Synth's ``custom.v``)."""
    _, _, D, Zd, _, Gt, _ = _unit_arrays(X, Z, treated, pool, tie_break)
    S = np.empty(pool.shape[0] + 1, dtype=np.int64)
    state = np.zeros(1, dtype=np.int64)
    w = weights_for_v(D, v / v.sum(), Gt, S, state)
    return w, mspe(Zd, w)


@njit(cache=True)
def mspe_lower_bound(Z: np.ndarray, treated: int, pool: np.ndarray) -> float:
    """The best window MSPE any W can achieve (outcome-only simplex least squares)."""
    J = pool.shape[0]
    Zd = np.empty((Z.shape[0], J))
    for t in range(Z.shape[0]):
        for j in range(J):
            Zd[t, j] = Z[t, pool[j]] - Z[t, treated]
    S = np.empty(J + 1, dtype=np.int64)
    w, _ = min_norm_point_gram(Zd.T @ Zd, S, 0)
    return mspe(Zd, w)


@njit(cache=True)
def fit_unit(
    X: np.ndarray,
    Z: np.ndarray,
    treated: int,
    pool: np.ndarray,
    lag_rows: np.ndarray,
    optimize_v: bool,
    maxfev: int,
    tie_break: float,
    floor: float = 0.0,
    n_local: int = 3,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Fit ADH for unit `treated` against donors `pool`.

    X: k × N raw predictors; Z: T0 × N outcomes over the MSPE window; lag_rows: True for predictors
    that are single-period outcome lags in the window; floor: a lower bound on every predictor
    weight (0 ≤ floor < 1/k). Returns (v, w over pool, window MSPE, lower bound of the window MSPE
    over all W).
    """
    k = X.shape[0]
    J = pool.shape[0]
    Xs, sd, D, Zd, Gz, Gt, idx = _unit_arrays(X, Z, treated, pool, tie_break)
    S = np.empty(J + 1, dtype=np.int64)
    state = np.zeros(1, dtype=np.int64)
    # the best pre-period fit any W can achieve (no V restricts it further): a lower bound
    w_low, _ = min_norm_point_gram(Gz, S, 0)
    lower = mspe(Zd, w_low)
    v_eq = np.full(k, 1.0 / k)
    if not optimize_v or k == 1:
        w = weights_for_v(D, v_eq, Gt, S, state)
        return v_eq, w, mspe(Zd, w), lower
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
        f_start[s] = _v_loss(starts[s], D, Zd, Gt, S, state, floor)
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
        x, f, _ = _nelder_mead(starts[s0], D, Zd, Gt, S, state, maxfev, 1e-9, floor)
        if f < best_f:
            best_f = f
            best_v = x
    for _restart in range(3):  # restart at the best point until it stops improving
        if best_f <= lower * (1.0 + 1e-9) + 1e-14:
            break
        x, f, _ = _nelder_mead(best_v, D, Zd, Gt, S, state, maxfev, 1e-9, floor)
        improved = f < best_f * (1.0 - 1e-7)
        if f < best_f:
            best_f = f
            best_v = x
        if not improved:
            break
    v = theta_to_v(best_v, floor)
    state[0] = 0
    w = weights_for_v(D, v, Gt, S, state)
    return v, w, mspe(Zd, w), lower
