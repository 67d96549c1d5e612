"""Andrews, Roth & Pakes (2023) tests of linear moment inequalities with a linear nuisance
parameter, solved as linear programs (the polytope's vertices are never enumerated).

Rambachan & Roth (2023, eq. 12-15) test H0(θ̄): ∃ τ_post with l'τ_post = θ̄ and
E[Aβ̂ - d - A_post τ_post] ≤ 0, β̂ ~ N(β, Σ). Writing τ_post = l θ̄/l'l + Q τ (Q spans l⊥) this is
E[Y(θ̄)] - X τ ≤ 0 with Y(θ̄) = Aβ̂ - d - A_post l θ̄/l'l and X = A_post Q. Each moment is divided by
its standard deviation (ỹ, X̂; X̂ replaced by an orthonormal basis of its columns, which leaves the
test unchanged). The statistic is an LP and its dual:

    η̂ = min_τ max_j (ỹ_j - X̂_j τ) = h(ỹ) = max {γ'ỹ : γ ∈ P},   P = {γ ≥ 0, 1'γ = 1, X̂'γ = 0}.

Conditional test: with γ* the maximising vertex, ỹ = c η + s, c = Σ̃γ*/(γ*'Σ̃γ*) (Σ̃ the correlation
of ỹ), s independent of γ*'ỹ; γ* stays optimal exactly for η in [V_lo, V_up] = {v : h(s + c v) = v}.
v ↦ h(s + c v) - v is convex, piecewise linear, >= 0 and zero on that interval, so each end is
reached by Newton steps along vertex lines (one LP per step; ARP's Appendix algorithm does the same
search by bisection). Reject when η̂/σ* > max(0, the 1-α quantile of N(0, 1) truncated to
[V_lo, V_up]/σ*), σ*² = γ*'Σ̃γ*.

Hybrid ("C-LF"): reject when η̂ > c_LF, the 1-κ quantile of h(ξ), ξ ~ N(0, Σ̃) (the least favourable
null); otherwise the conditional test at level (α-κ)/(1-κ) with V_up capped at c_LF. c_LF is simulated
(seeded draws); only the draws that can reach the upper tail need an exact LP: every LP adds a vertex
of P (a lower bound for all draws) and a primal basis whose solution τ(ξ), linear in ξ, gives an upper
bound max_j (ξ_j - X̂_j τ(ξ)); the two meet wherever that basis is optimal.

Vertices and bases found are kept on the polytope (it does not depend on β, θ̄ or the draws), so most
statistics after the first few are certified without an LP.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import optimize, sparse, special, stats

from attribution.errors import EstimationError

__all__ = [
    "ArpUnavailable",
    "DualPolytope",
    "MomentInequalities",
    "RayStore",
    "lowest_accepted",
    "truncated_normal_quantile",
]

_TOL = 1e-9  # standardised units (z-scale)


class ArpUnavailable(EstimationError):
    """The ARP test cannot be computed here (zero-variance moment, LP failure); callers fall back."""


def _linprog(c: np.ndarray, **kw: object) -> optimize.OptimizeResult:
    return optimize.linprog(c, method="highs-ds", **kw)  # dual simplex: returns vertices


class RayStore:
    """Extreme rays of the cone {γ_u >= 0, X'γ_u = 0} and optimal primal row bases met so far.

    Polyhedra whose nuisance block X is the same up to the moments' scales (for ΔRM: every s,
    sign and M̄) share them: a vertex of one standardised polytope is a ray of the common cone,
    rescaled by the other's standard deviations, and a basis is a set of rows.
    """

    def __init__(self) -> None:
        self.rays = np.zeros((0, 0))
        self.bases: list[tuple[int, ...]] = []
        self._base_set: set[tuple[int, ...]] = set()
        self.key: bytes | None = None

    def add_ray(self, ray: np.ndarray) -> None:
        ray = ray / ray.sum()
        if not len(self.rays):
            self.rays = ray[None, :]
        elif np.abs(self.rays - ray).max(axis=1).min() > 1e-10 * max(float(ray.max()), 1e-300):
            self.rays = np.vstack([self.rays, ray])

    def add_basis(self, rows: tuple[int, ...]) -> None:
        if rows not in self._base_set:
            self._base_set.add(rows)
            self.bases.append(rows)


class DualPolytope:
    """P = {γ >= 0, 1'γ = 1, X̂'γ = 0} with the vertices and primal bases met so far.

    X̂ is an orthonormal basis of the columns of X / σ (rows divided by the moments' standard
    deviations). `vertices` give lower bounds on h; `maps` are residual maps y ↦ y - X̂ τ(y) for
    τ(y) linear in y (the least-squares τ = X̂'y, the basic solution of each optimal basis met, and
    one per vertex), so that max_j (map y)_j is an upper bound on h(y), exact where it is optimal.
    """

    def __init__(
        self, x: np.ndarray, sd: np.ndarray | None = None, store: RayStore | None = None
    ) -> None:
        x = np.asarray(x, float)
        self.sd = np.ones(len(x)) if sd is None else np.asarray(sd, float)
        xs = x / self.sd[:, None]
        u, sv, _ = np.linalg.svd(xs, full_matrices=False)
        self.x = u[:, sv > 1e-10 * max(sv.max(initial=0.0), 1.0)]
        self.m, self.r = self.x.shape
        self._eq = np.vstack([np.ones((1, self.m)), self.x.T])
        self._rhs = np.zeros(self.r + 1)
        self._rhs[0] = 1.0
        self._w = np.column_stack([np.ones(self.m), self.x])  # primal rows: η + X̂_j τ
        self._proj = np.eye(self.m) - self.x @ self.x.T
        # no nuisance: the vertices are the unit vectors and h(y) = max_j y_j
        self.vertices = np.eye(self.m) if self.r == 0 else np.zeros((0, self.m))
        self.maps = self._proj[None]
        key = np.ascontiguousarray(x).tobytes() + self.m.to_bytes(4, "little")
        if store is None or (store.key is not None and store.key != key):
            store = RayStore()
        store.key = key
        self.store = store
        self._seen_rays = self._seen_bases = 0
        self.empty = False  # P = ∅: η̂ = -∞ for every y
        self.lp_count = 0  # LP calls (a block of draws counts once)
        self.lp_draws = 0  # right-hand sides solved exactly
        self._sync()

    def _sync(self) -> None:
        """Take in the rays and bases other polytopes sharing the store have found."""
        if self.r == 0:
            return
        st = self.store
        if len(st.rays) > self._seen_rays:
            new = st.rays[self._seen_rays :] * self.sd
            new /= new.sum(axis=1, keepdims=True)
            self._seen_rays = len(st.rays)
            for g in new:
                if not len(self.vertices) or np.abs(self.vertices - g).max(axis=1).min() > 1e-10:
                    self.vertices = np.vstack([self.vertices, g])
                    self._add_vertex_map(g)

    def _take_bases(self) -> bool:
        """Build the maps of the bases found since the last call (built only when needed: most
        values are certified by the vertex maps alone). True if any was added."""
        st = self.store
        if self.r == 0 or len(st.bases) <= self._seen_bases:
            return False
        for rows in st.bases[self._seen_bases :]:
            self._add_basis_map(list(rows))
        self._seen_bases = len(st.bases)
        return True

    # -- support function ------------------------------------------------------------------------
    def value(self, y: np.ndarray) -> tuple[float, np.ndarray | None]:
        """h(y) and a maximising vertex (None when P is empty)."""
        if self.empty:
            return -math.inf, None
        self._sync()
        if len(self.vertices):
            vals = self.vertices @ y
            j = int(np.argmax(vals))
            low = float(vals[j])
            for _ in range(2):
                up = float((self.maps @ y).max(axis=1).min())
                if up - low <= _TOL * (1.0 + abs(low)):
                    return low, self.vertices[j]
                if not self._take_bases():
                    break
        return self.solve(y)

    def solve(self, y: np.ndarray) -> tuple[float, np.ndarray | None]:
        """h(y) by the dual LP; the vertex and the optimal primal basis are remembered."""
        vals, verts = self.solve_many(y[None, :])
        return float(vals[0]), (None if self.empty else verts[0])

    def solve_many(self, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """h at each row of `ys` by one block-diagonal LP (one scipy call for many draws)."""
        k = len(ys)
        if self.empty:
            return np.full(k, -math.inf), np.zeros((k, self.m))
        self.lp_count += 1
        self.lp_draws += k
        a_eq = self._eq if k == 1 else sparse.block_diag([self._eq] * k, format="csr")
        res = _linprog(-np.ravel(ys), A_eq=a_eq, b_eq=np.tile(self._rhs, k), bounds=(0, None))
        if res.status == 2:
            self.empty = True
            return np.full(k, -math.inf), np.zeros((k, self.m))
        if res.status != 0:
            raise ArpUnavailable(f"the ARP linear program failed ({res.message})")
        gs = np.asarray(res.x, float).reshape(k, self.m)
        taus = -np.asarray(res.eqlin.marginals, float).reshape(k, self.r + 1)[:, 1:]
        vals = np.empty(k)
        for i in range(k):
            gs[i] = self._polish(gs[i])
            vals[i] = gs[i] @ ys[i]
            self._remember(gs[i], ys[i], float(vals[i]), taus[i])
        self._sync()
        return vals, gs

    def _polish(self, g: np.ndarray) -> np.ndarray:
        """Solve the equality system on the support exactly (removes the LP's feasibility slack)."""
        g = np.clip(g, 0.0, None)
        sup = np.flatnonzero(g > 1e-12)
        if sup.size:
            sol, *_ = np.linalg.lstsq(self._eq[:, sup], self._rhs, rcond=None)
            if np.all(sol >= -1e-12) and np.allclose(self._eq[:, sup] @ sol, self._rhs, atol=1e-12):
                g = np.zeros(self.m)
                g[sup] = np.clip(sol, 0.0, None)
        return g

    def _remember(self, g: np.ndarray, y: np.ndarray, eta: float, tau: np.ndarray) -> None:
        if self.r == 0:
            return
        self.store.add_ray(g / self.sd)
        resid = y - self.x @ tau
        if abs(resid.max() - eta) > 1e-6 * (1.0 + abs(eta)):
            return  # the solver's primal point is not usable for a basis
        # a basis: the support of γ, completed by other active rows to r + 1 independent rows
        gap = eta - resid
        support = np.flatnonzero(g > 1e-12)
        rest = [j for j in np.argsort(gap) if gap[j] <= 1e-7 * (1 + abs(eta))]
        rows: list[int] = []
        q = np.zeros((0, self.r + 1))
        for j in [*support, *rest]:
            if j in rows:
                continue
            w = self._w[j]
            res = w - q.T @ (q @ w)
            nrm = float(np.linalg.norm(res))
            if nrm > 1e-9 * float(np.linalg.norm(w)):
                q = np.vstack([q, res / nrm])
                rows.append(int(j))
                if len(rows) == self.r + 1:
                    break
        if len(rows) == self.r + 1:
            self.store.add_basis(tuple(sorted(rows)))

    def _add_basis_map(self, rows: list[int]) -> None:
        try:  # an ill-conditioned basis only gives a looser (still valid) bound
            t = np.linalg.solve(self._w[rows], np.eye(self.r + 1))[1:]  # τ(y) = t y_B
        except np.linalg.LinAlgError:
            return
        new = np.eye(self.m)
        new[:, rows] -= self.x @ t
        self.maps = np.concatenate([self.maps, new[None]])

    def _add_vertex_map(self, g: np.ndarray) -> None:
        """τ(y): least squares (min ||y - X̂τ||) with equal residuals on the support of γ.

        Where γ is optimal and the other residuals stay below the common one, this τ is an
        optimal primal point, so the bound is exact; at a degenerate vertex (fewer than r + 1
        support rows) no single basis does as well.
        """
        sup = np.flatnonzero(g > 1e-12)
        if sup.size < 2:
            return
        c = np.zeros((sup.size - 1, self.m))
        c[np.arange(sup.size - 1), sup[:-1]] = 1.0
        c[np.arange(sup.size - 1), sup[1:]] = -1.0
        u = np.linalg.pinv(c @ self.x, rcond=1e-10) @ (c @ self._proj)  # τ - X̂'y = u y
        self.maps = np.concatenate([self.maps, (self._proj - self.x @ u)[None]])

    # -- conditioning interval -------------------------------------------------------------------
    def truncation(self, s: np.ndarray, c: np.ndarray, eta: float) -> tuple[float, float]:
        """[V_lo, V_up]: the values v of γ*'ỹ for which γ* stays optimal given s (module docstring)."""
        return self._end(s, c, eta, upper=False), self._end(s, c, eta, upper=True)

    def _end(self, s: np.ndarray, c: np.ndarray, eta: float, *, upper: bool) -> float:
        for _ in range(500):
            n_before = len(self.vertices)
            a, b = self.vertices @ c, self.vertices @ s
            pick = a > 1 + 1e-10 if upper else a < 1 - 1e-10
            if pick.any():
                roots = b[pick] / (1.0 - a[pick])
                v = max(float(roots.min()), eta) if upper else min(float(roots.max()), eta)
                val, _ = self.value(s + c * v)
                if val <= v + _TOL * (1.0 + abs(v)):
                    return v
            else:  # is there any vertex with γ'c > 1 (upper) or < 1 (lower)?
                val, _ = self.value(c if upper else -c)
                if val <= (1.0 if upper else -1.0) + 1e-10:
                    return math.inf if upper else -math.inf
            if len(self.vertices) == n_before:  # no progress: numerically at the end already
                return v if pick.any() else (math.inf if upper else -math.inf)
        raise ArpUnavailable("the ARP truncation search did not converge")

    # -- least favourable critical value ---------------------------------------------------------
    def quantile(self, draws: np.ndarray, q: float, *, batch: int = 32) -> float:
        """np.quantile(h(draws), q) exactly, with LPs only for draws near that quantile.

        np.quantile interpolates between the order statistics h_(k) and h_(k+1), k = ⌊(n-1)q⌋.
        Known vertices bound h from below and the maps from above, so h_(k) >= L* (the k-th
        smallest lower bound) and h_(k+1) <= U* (the (k+1)-th smallest upper bound). A draw whose
        upper bound is below L* ranks below k, one whose lower bound is above U* ranks above k+1;
        only the others are solved exactly (in blocks), which tightens the bounds of all draws.
        """
        n = len(draws)
        if self.r == 0:
            return float(np.quantile(draws.max(axis=1), q))
        self._sync()
        self._take_bases()
        index = (n - 1) * q
        k = math.floor(index)
        k1 = min(k + 1, n - 1)
        if not len(self.vertices):
            self.solve(draws[int(np.argmax(draws.max(axis=1)))])
            if self.empty:
                return -math.inf
        low = (draws @ self.vertices.T).max(axis=1)
        l_star = np.partition(low, k)[k]
        # upper bounds, cheapest first, each only where the previous ones leave the draw undecided:
        # τ = 0 gives max_j ξ_j; then the maps
        up = draws.max(axis=1)
        for mp in self.maps:
            idx = np.flatnonzero((up >= l_star) & (up - low > _TOL * (1.0 + np.abs(low))))
            if not idx.size:
                break
            up[idx] = np.minimum(up[idx], (draws[idx] @ mp.T).max(axis=1))
        seen_v, seen_m = len(self.vertices), len(self.maps)
        size = 8
        while True:
            up = np.maximum(up, low)  # rounding: a draw's bounds may cross by an ulp
            exact = np.isfinite(low) & (up - low <= _TOL * (1.0 + np.abs(low)))
            l_star = np.partition(low, k)[k]
            u_star = np.partition(up, k1)[k1]
            need = ~exact & (up >= l_star) & (low <= u_star)
            if not need.any():
                break
            idx = np.flatnonzero(need)
            pick = idx[np.argsort(np.abs(up[idx] - u_star))[:size]]
            vals, _ = self.solve_many(draws[pick])
            if self.empty:
                return -math.inf
            low[pick] = up[pick] = vals
            size = min(2 * size, batch)
            if seen_v < len(self.vertices):
                low = np.maximum(low, (draws @ self.vertices[seen_v:].T).max(axis=1))
                seen_v = len(self.vertices)
            self._take_bases()
            if seen_m < len(self.maps):  # tighten the upper bounds of the undecided draws
                idx = np.flatnonzero(~exact & (up >= l_star))
                up[idx] = np.minimum(up[idx], _upper_bounds(self.maps[seen_m:], draws[idx]))
                seen_m = len(self.maps)
        below = up < l_star
        middle = np.sort(low[~below & (low <= u_star)])
        h_k = middle[k - int(below.sum())]
        h_k1 = middle[k1 - int(below.sum())]
        return float(h_k + (index - k) * (h_k1 - h_k))


def truncated_normal_quantile(p: float, lo: float, hi: float) -> float:
    """The p quantile of N(0, 1) truncated to [lo, hi], in log space in the tails (as R
    TruncatedNormal::norminvp; scipy's truncnorm.ppf agrees to 1e-13 but is ~500 times slower)."""
    if lo >= 0:  # upper tail: work with log survival functions
        l_lo, l_hi = special.log_ndtr(-lo), special.log_ndtr(-hi)
        t = l_lo + math.log1p(-p + p * math.exp(l_hi - l_lo))
        return float(-special.ndtri_exp(t))
    if hi <= 0:
        l_lo, l_hi = special.log_ndtr(lo), special.log_ndtr(hi)
        t = l_hi + math.log(p + (1 - p) * math.exp(l_lo - l_hi))
        return float(special.ndtri_exp(t))
    f_lo, f_hi = special.ndtr(lo), special.ndtr(hi)
    c = f_lo + p * (f_hi - f_lo)
    if c > 0.5:
        s_lo, s_hi = special.ndtr(-lo), special.ndtr(-hi)
        return float(-special.ndtri(s_lo - p * (s_lo - s_hi)))
    return float(special.ndtri(c))


def _upper_bounds(maps: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """min over maps of max_j (map ξ)_j for each row ξ of `draws`."""
    out = np.full(len(draws), math.inf)
    for mp in maps:
        np.minimum(out, (draws @ mp.T).max(axis=1), out=out)
    return out


@functools.lru_cache(maxsize=2)
def _standard_normals(seed: int, n: int, m: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal((n, m))
    z.flags.writeable = False
    return z


class MomentInequalities:
    """One polyhedron Δ = {δ : Aδ <= d} ready for ARP tests of θ = l'τ_post (module docstring).

    Only rows of A that involve post-periods enter (HonestDiD's default, postPeriodMomentsOnly).
    Raises ArpUnavailable when a moment has zero variance. Polyhedra built with the same `store`
    share the vertices and bases they find (see RayStore).
    """

    def __init__(
        self,
        a: np.ndarray,
        d: np.ndarray,
        sigma: np.ndarray,
        n_pre: int,
        l_post: np.ndarray,
        *,
        post_rows_only: bool = True,
        store: RayStore | None = None,
    ) -> None:
        a = np.asarray(a, float)
        d = np.asarray(d, float)
        lq = np.asarray(l_post, float)
        n_post = len(lq)
        if post_rows_only:
            keep = np.any(a[:, n_pre:] != 0, axis=1)
            a, d = a[keep], d[keep]
        self.a, self.d = a, d
        sigma_y = a @ sigma @ a.T
        var = np.diag(sigma_y)
        scale = max(float(np.max(np.abs(np.diag(sigma)), initial=0.0)), 1e-300)
        if len(var) == 0 or np.any(var <= 1e-14 * scale):
            raise ArpUnavailable(
                "a moment of the restriction has zero variance under this covariance"
            )
        self.sd = np.sqrt(var)
        self.sigma_y = sigma_y
        self.corr = sigma_y / np.outer(self.sd, self.sd)
        a_post = a[:, n_pre:]
        self.a_theta = (a_post @ lq) / float(lq @ lq) / self.sd
        if n_post > 1:
            q, _ = np.linalg.qr(np.column_stack([lq, np.eye(n_post)]))
            x_u = a_post @ q[:, 1:n_post]
        else:
            x_u = np.zeros((len(d), 0))
        self.polytope = DualPolytope(x_u, self.sd, store)
        self.x = self.polytope.x
        self._cv: dict[tuple[float, int, int], float] = {}

    @property
    def n_moments(self) -> int:
        return len(self.d)

    def moments(self, beta: np.ndarray, theta: float) -> np.ndarray:
        """ỹ(θ̄): standardised Aβ̂ - d at θ̄."""
        return (self.a @ beta - self.d) / self.sd - self.a_theta * theta

    def lf_critical_value(self, kappa: float, seed: int, draws: int = 20_000) -> float:
        """c_LF: the 1-κ quantile of η̂ under ξ ~ N(0, Σ̃), from `draws` seeded draws."""
        key = (float(kappa), int(seed), int(draws))
        if key not in self._cv:
            w, u = np.linalg.eigh(self.sigma_y)
            root = u * np.sqrt(np.clip(w, 0.0, None))
            xi = _standard_normals(int(seed), int(draws), self.n_moments) @ root.T
            self._cv[key] = self.polytope.quantile(xi / self.sd, 1 - kappa)
        return self._cv[key]

    def bonferroni_critical_value(self, kappa: float) -> float:
        """An upper bound on c_LF without simulation: η̂ <= max_j ξ_j (τ = 0) and a union bound."""
        return float(stats.norm.isf(kappa / self.n_moments))

    def accepts(
        self,
        beta: np.ndarray,
        theta: float,
        alpha: float,
        *,
        cv_lf: float | None = None,
        kappa: float = 0.0,
    ) -> bool:
        """ARP conditional test of θ = θ̄ (hybrid with least-favourable first stage if cv_lf)."""
        y = self.moments(beta, theta)
        poly = self.polytope
        eta, g = poly.value(y)
        if g is None:
            return True  # no informative moment: η̂ = -∞
        if cv_lf is not None and eta > cv_lf:
            return False
        s2 = float(g @ self.corr @ g)
        if s2 <= 1e-14:
            return eta <= 0
        c = self.corr @ g / s2
        v_lo, v_up = poly.truncation(y - c * eta, c, eta)
        if cv_lf is not None:
            v_up = min(v_up, cv_lf)
        sd = math.sqrt(s2)
        z, z_lo, z_up = eta / sd, v_lo / sd, v_up / sd
        if not z_lo - 1e-9 <= z <= z_up + 1e-9 or z_up - z_lo <= 1e-12:
            return True  # as HonestDiD: no rejection when η̂ falls outside its own interval
        size = alpha if cv_lf is None else (alpha - kappa) / (1 - kappa)
        cval = max(0.0, truncated_normal_quantile(1 - size, z_lo, z_up))
        return z <= cval

    def theta_range(self, beta: np.ndarray, level: float) -> tuple[float, float] | None:
        """{θ̄ : η̂(θ̄) <= level} (η̂ is convex in θ̄, so an interval); None if empty."""
        y0 = (self.a @ beta - self.d) / self.sd
        a_ub = np.column_stack([-self.a_theta, -self.x])
        b_ub = level - y0
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(1 + self.x.shape[1])
            c[0] = sign
            res = _linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(None, None))
            if res.status == 2:
                return None
            if res.status == 3:
                ends.append(-sign * math.inf)
            elif res.status == 0:
                ends.append(float(res.x[0]))
            else:
                raise ArpUnavailable(f"the ARP range linear program failed ({res.message})")
        return ends[0], ends[1]

    def theta_argmin(self, beta: np.ndarray) -> float | None:
        """argmin over θ̄ of η̂(θ̄) (None if η̂ is unbounded below)."""
        y0 = (self.a @ beta - self.d) / self.sd
        m, r = self.x.shape
        c = np.zeros(2 + r)
        c[0] = 1.0
        a_ub = np.column_stack([-np.ones(m), -self.a_theta, -self.x])
        res = _linprog(c, A_ub=a_ub, b_ub=-y0, bounds=(None, None))
        return float(res.x[1]) if res.status == 0 else None


def lowest_accepted(
    accept: Callable[[float], bool],
    outer: float,
    inner: float,
    *,
    n_scan: int = 12,
    xtol: float,
) -> float | None:
    """The accepted θ nearest to `outer` on the segment outer → inner (either direction).

    Scans `n_scan` + 1 equally spaced points from `outer` (where the test should reject) to
    `inner`, then bisects between the last rejected and first accepted point to `xtol`.
    Returns None when no scanned point is accepted.
    """
    grid = np.linspace(outer, inner, n_scan + 1)
    prev = None
    for t in grid:
        if accept(float(t)):
            if prev is None:
                return float(t)
            out, inside = prev, float(t)
            while abs(inside - out) > xtol:
                mid = 0.5 * (out + inside)
                if accept(mid):
                    inside = mid
                else:
                    out = mid
            return inside
        prev = float(t)
    return None
