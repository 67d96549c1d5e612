"""Wolfe's min-norm point in point form vs Gram form, on the two Prop 99 workloads that use it.

`solvers` keeps only the Gram form; its docstring quotes this bench. The point form lives on here as
the peer it was measured against.

- the ADH V search (the fit and its 38 in-space placebos, LAGS3 specification): for each of the 39
  problems, a 300-step random walk of predictor weights v around the fitted v (multiplicative
  steps of 5%, like Nelder–Mead's nearby evaluations), each step solved (a) in Gram form warm-started
  from the previous corral, as `v_search` does, (b) in Gram form from scratch, (c) in point form on
  P = [diag(√v) D; √c Zd] (PᵀP = the Gram matrix); building G or P is timed with the solve;
- the conformal refits (Chernozhukov, Wüthrich & Zhu 2021): California against 38 donors, every θ
  of an 81-point grid around each post period's gap (20 × 38 per-period problems) and around the
  average gap (31 × 38 joint problems), solved in point form (as `conformal` does) and in Gram form
  (`solvers.min_norm_point`: G = AᵀA by loops, then a cold solve); the moving-block p-value of every θ is computed from both.

Accuracy: objective ||Pw||² of each form's w relative to the better of the two, the largest weight
difference, and for conformal the number of p-values that differ.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

# Wolfe's tolerances, as in attribution.designs.synth.solvers
_TOL_OPT = 1e-12
_TOL_POS = 1e-10


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
def point_form_min_norm_point(P: np.ndarray) -> np.ndarray:
    """Wolfe's algorithm in point form: the affine minimisations solve least-squares problems on the
    points themselves (d × s) instead of the Gram matrix (the package's form until the two were
    measured here)."""
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


def _adh_problems():
    import warnings

    from attribution.designs.synth import synthetic_control
    from attribution.designs.synth.adh import fit_arrays
    from tests.reference.synth.prop99 import load_long

    warnings.simplefilter("ignore")
    lags = [("packs", [y], "mean") for y in (1975, 1980, 1988)]
    r = synthetic_control(
        load_long(),
        outcome="packs",
        unit="state",
        time="year",
        treated_unit="California",
        treatment_start=1989,
        special_predictors=lags,
        placebo=False,
        conformal=False,
    )
    p = r.problem
    cases = [(p.treated, p.pool)] + [(int(u), p.pool[p.pool != u]) for u in p.pool]
    out = []
    for treated, pool in cases:
        fit = fit_arrays(p, treated=treated, pool=pool)
        out.append((p, treated, pool, fit.v))
    return out


def _matrices(p, treated, pool):
    """D (standardised predictor gaps), Zd (outcome gaps) and the tie-break scale c, as v_search."""
    from attribution.designs.synth.v_search import standardise

    idx = np.r_[treated, pool]
    Xs, _ = standardise(np.ascontiguousarray(p.X[:, idx]))
    D = np.ascontiguousarray(Xs[:, 1:] - Xs[:, [0]])
    Z = p.Y[:, p.window].T
    Zd = np.ascontiguousarray(Z[:, pool] - Z[:, [treated]])
    zs = (Zd * Zd).sum() / Zd.size
    c = p.tie_break**2 / (Zd.shape[0] * max(zs, 1e-300))
    return D, Zd, c


def _objective(P: np.ndarray, w: np.ndarray) -> float:
    r = P @ w
    return float(r @ r)


def bench_v_search(steps: int = 300, seed: int = 0) -> dict:
    from attribution.designs.synth.solvers import min_norm_point_gram
    from attribution.designs.synth.v_search import mspe

    rng = np.random.default_rng(seed)
    worst_mspe = worst_warm = 0.0
    t = {"gram_warm": 0.0, "gram_cold": 0.0, "point": 0.0}
    worst_rel = {"gram": 0.0, "point": 0.0}
    max_dw = 0.0
    n = 0
    for p, treated, pool, v0 in _adh_problems():
        D, Zd, c = _matrices(p, treated, pool)
        Gt = (Zd.T @ Zd) * c
        J = len(pool)
        S_warm = np.empty(J + 1, dtype=np.int64)
        s_warm = 0
        v = np.maximum(np.abs(v0), 1e-6)
        v /= v.sum()
        for _ in range(steps):
            v = v * np.exp(0.05 * rng.normal(size=len(v)))
            v /= v.sum()
            t0 = time.perf_counter()
            G = (D.T * v) @ D + Gt
            w_warm, s_warm = min_norm_point_gram(G, S_warm, s_warm)
            t1 = time.perf_counter()
            G = (D.T * v) @ D + Gt
            w_cold, _ = min_norm_point_gram(G, np.empty(J + 1, dtype=np.int64), 0)
            t2 = time.perf_counter()
            P = np.ascontiguousarray(np.vstack([np.sqrt(v)[:, None] * D, np.sqrt(c) * Zd]))
            w_point = point_form_min_norm_point(P)
            t3 = time.perf_counter()
            t["gram_warm"] += t1 - t0
            t["gram_cold"] += t2 - t1
            t["point"] += t3 - t2
            # Wolfe's stopping rule is relative to the largest squared column norm (`scale`): the
            # inner objective is often ~1e-9 of it (treated unit inside the donors' hull), so the
            # excess is reported on that scale; what the search sees is the outer loss (MSPE)
            scale = float(np.max(np.sum(P * P, axis=0)))
            og, op = _objective(P, w_warm), _objective(P, w_point)
            best = min(og, op)
            worst_rel["gram"] = max(worst_rel["gram"], (og - best) / scale)
            worst_rel["point"] = max(worst_rel["point"], (op - best) / scale)
            mg, mp = mspe(Zd, w_warm), mspe(Zd, w_point)
            worst_mspe = max(worst_mspe, abs(mg - mp) / max(min(mg, mp), 1e-300))
            mc = mspe(Zd, w_cold)
            worst_warm = max(worst_warm, abs(mg - mc) / max(min(mg, mc), 1e-300))
            max_dw = max(max_dw, float(np.abs(w_warm - w_point).max()))
            n += 1
    return {
        "solves": n,
        "seconds": t,
        "worst_objective_excess_over_scale": worst_rel,
        "worst_rel_mspe_diff": worst_mspe,
        "worst_rel_mspe_warm_vs_cold": worst_warm,
        "max_weight_diff": max_dw,
    }


def bench_conformal(n_grid: int = 81) -> dict:
    from attribution.designs.synth.solvers import min_norm_point
    from tests.reference.synth.prop99 import load_long

    wide = load_long().pivot(index="state", columns="year", values="packs")
    y1 = wide.loc["California"].to_numpy()
    Y0T = np.ascontiguousarray(wide.drop(index="California").to_numpy().T)  # T × J
    T = Y0T.shape[0]
    n_pre = 19
    w_pre = min_norm_point(np.ascontiguousarray(Y0T[:n_pre] - y1[:n_pre, None]))
    gaps = y1[n_pre:] - Y0T[n_pre:] @ w_pre
    problems = []  # (rows, θ applied to the last n_post rows)
    for k in range(T - n_pre):
        cols = np.r_[np.arange(n_pre), n_pre + k]
        for th in gaps[k] + np.linspace(-60, 60, n_grid):
            problems.append((cols, np.array([th])))
    for th in gaps.mean() + np.linspace(-60, 60, n_grid):
        problems.append((np.arange(T), np.full(T - n_pre, th)))

    def p_value(yy: np.ndarray, Yk: np.ndarray, w: np.ndarray, n_post: int) -> float:
        u = yy - Yk @ w
        m = len(u)
        s0 = np.mean(np.abs(u[m - n_post :]))
        stats = [np.mean(np.abs(np.roll(u, -j)[m - n_post :])) for j in range(m)]
        return float(np.mean(np.asarray(stats) >= s0 * (1 - 1e-12)))

    t = {"point": 0.0, "gram": 0.0}
    worst_rel = {"gram": 0.0, "point": 0.0}
    max_dw = 0.0
    p_diff = 0
    for cols, theta in problems:
        yy = y1[cols].copy()
        yy[len(cols) - len(theta) :] -= theta
        Yk = Y0T[cols]
        A = np.ascontiguousarray(Yk - yy[:, None])
        t0 = time.perf_counter()
        w_point = point_form_min_norm_point(A)
        t1 = time.perf_counter()
        w_gram = min_norm_point(A)  # the package's: Gram matrix by loops, then the Gram form
        t2 = time.perf_counter()
        t["point"] += t1 - t0
        t["gram"] += t2 - t1
        op, og = _objective(A, w_point), _objective(A, w_gram)
        best = min(op, og)
        worst_rel["point"] = max(worst_rel["point"], (op - best) / max(best, 1e-300))
        worst_rel["gram"] = max(worst_rel["gram"], (og - best) / max(best, 1e-300))
        max_dw = max(max_dw, float(np.abs(w_point - w_gram).max()))
        n_post = len(theta)
        p_diff += p_value(yy, Yk, w_point, n_post) != p_value(yy, Yk, w_gram, n_post)
    return {
        "solves": len(problems),
        "seconds": t,
        "worst_rel_objective": worst_rel,
        "max_weight_diff": max_dw,
        "p_values_differing": p_diff,
    }


def _warm() -> None:
    """Compile (or load the numba cache) outside the timed loops."""
    from attribution.designs.synth.solvers import min_norm_point, min_norm_point_gram

    A = np.random.default_rng(0).normal(size=(5, 4))
    min_norm_point(A)
    point_form_min_norm_point(A)
    min_norm_point_gram(A.T @ A, np.empty(5, dtype=np.int64), 0)


def main() -> None:
    _warm()
    v = bench_v_search()
    s = v["seconds"]
    print(
        f"V search, Prop 99 fit + 38 placebos, {v['solves']:,} inner solves: "
        f"Gram warm {s['gram_warm']:.2f} s, Gram cold {s['gram_cold']:.2f} s, "
        f"point {s['point']:.2f} s (point / Gram warm = {s['point'] / s['gram_warm']:.1f}x); "
        "worst objective excess over the better form, relative to the largest squared column "
        f"norm: Gram {v['worst_objective_excess_over_scale']['gram']:.1e}, point "
        f"{v['worst_objective_excess_over_scale']['point']:.1e}; pre-period MSPE of the two "
        f"forms' W differs by at most {v['worst_rel_mspe_diff']:.1e} (relative), warm vs cold "
        f"Gram by {v['worst_rel_mspe_warm_vs_cold']:.1e}; max |Δw| {v['max_weight_diff']:.1e}"
    )
    c = bench_conformal()
    s = c["seconds"]
    print(
        f"conformal refits, Prop 99, {c['solves']:,} solves: point {s['point']:.2f} s, "
        f"Gram {s['gram']:.2f} s (Gram / point = {s['gram'] / s['point']:.2f}x); worst objective "
        f"excess: point {c['worst_rel_objective']['point']:.1e}, Gram "
        f"{c['worst_rel_objective']['gram']:.1e}; max |Δw| {c['max_weight_diff']:.1e}; "
        f"p-values differing {c['p_values_differing']} of {c['solves']}"
    )


if __name__ == "__main__":
    main()
