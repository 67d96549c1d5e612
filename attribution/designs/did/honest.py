"""HonestDiD sensitivity analysis (Rambachan & Roth 2023, "A More Credible Approach to Parallel Trends").

Event-study coefficients are β = τ + δ with τ_pre = 0, where δ is the (unknown) difference in trends
normalised to 0 in the reference period. The target is θ = τ_e, the effect at event time `e`.

- ``method="smoothness"``: δ ∈ ΔSD(M) = {δ : |(δ_{t+1} - δ_t) - (δ_t - δ_{t-1})| ≤ M}, i.e. the
  slope of the trend may change by at most M between consecutive periods. Interval: the optimal
  fixed-length CI (FLCI) of Armstrong & Kolesár (2018, 2020) used by Rambachan & Roth (Section 4.1):
  among affine estimators θ̂ = v'β̂ (with the post weights fixed to pick θ), choose v to minimise
  the half-length  sd(v) · cv_α(maxbias(v) / sd(v)),  where cv_α(b) is the 1-α quantile of |N(b, 1)|
  and maxbias(v) = M · ||A⁺'v||₁ over ΔSD(M) (A = the second-difference matrix; v must be orthogonal
  to a linear trend, which ΔSD leaves free). Solved as a 1-D search over the bias budget with a
  convex QP inside (scipy SLSQP).

- ``method="relative_magnitudes"``: δ ∈ ΔRM(M̄) = {δ : |δ_{t+1} - δ_t| ≤ M̄ · max_{s<0} |δ_{s+1} - δ_s|
  for post periods}, the union over s and sign of polyhedra {δ : A_{s,±} δ ≤ 0} (RR footnote 9).
  Interval: RR's default "C-LF" — invert, for each θ̄, the Andrews–Roth–Pakes (2023) conditional
  test with a least-favourable first stage of size κ = α/10, and take the union over polyhedra.
  The test statistic η̂ is the LP value max γ'Y(θ̄) over the dual polytope
  {γ ≥ 0, X̃'γ = 0, σ̃'γ = 1}, whose vertices are enumerated exactly (small for event studies);
  the conditional critical value is a truncated-normal quantile with the truncation points
  [V_lo, V_up] computed over those vertices; the least-favourable critical value is simulated
  (20,000 seeded draws). As in HonestDiD only moments that involve post-periods enter when there
  are several post-periods. The confidence set's ends are found by a grid then bisection (HonestDiD
  reports the extreme accepted grid points, so its intervals are inside ours by < 1 grid step).
  When the polytope is too large to enumerate (> 200,000 candidate bases, ~10+ post-periods) a
  valid but conservative Bonferroni projection is used instead and labelled "RM-Bonferroni":
  with α₂ = α/10, a simultaneous sup-t upper bound m̂ on the largest pre-period change and a
  (1 - α + α₂) interval for β_e, widened by the identified-set half-width M̄·k·m̂.

The result consumes only the ``event_study() -> (event_times, estimates, vcov)`` protocol, so it
works for TWFE / Sun–Abraham event studies and Callaway–Sant'Anna dynamic aggregations (which must
use a universal base period).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from attribution import config
from attribution.errors import DesignError, EstimationError, OptionError
from attribution.inference import uniform_critical_value

__all__ = [
    "EventStudyParts",
    "flci",
    "folded_normal_quantile",
    "rm_bonferroni_ci",
    "sensitivity_table",
    "split_event_study",
]


# ------------------------------------------------------------------------------------------------
# protocol → pre / post blocks
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventStudyParts:
    """Pre- and post-period coefficients around the reference period, contiguous in event time."""

    pre_times: np.ndarray
    post_times: np.ndarray
    beta: np.ndarray  # pre then post
    sigma: np.ndarray
    ref: int

    @property
    def n_pre(self) -> int:
        return len(self.pre_times)

    @property
    def n_post(self) -> int:
        return len(self.post_times)


def split_event_study(
    event_times: Sequence[float], estimates: Sequence[float], vcov: np.ndarray
) -> EventStudyParts:
    """Find the reference period and split into pre / post blocks (DesignError if impossible).

    The reference is an event time reported with zero variance (dropped), or else the single
    integer missing from the otherwise contiguous range of event times.
    """
    times = np.asarray(event_times, dtype=float)
    beta = np.asarray(estimates, dtype=float)
    sigma = np.asarray(vcov, dtype=float)
    if times.ndim != 1 or beta.shape != times.shape or sigma.shape != (len(times),) * 2:
        raise DesignError(
            "event_study() must return event times, estimates and a matching square covariance"
        )
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(sigma))):
        raise DesignError("the event study has non-finite estimates or covariances")
    if not np.allclose(times, np.round(times)):
        raise DesignError("event times must be integers")
    order = np.argsort(times)
    times, beta, sigma = times[order].astype(int), beta[order], sigma[np.ix_(order, order)]
    zero = np.diag(sigma) <= 0
    if zero.sum() > 1:
        raise DesignError(
            f"event times {times[zero].tolist()} have zero variance; only the reference may",
        )
    if zero.any():
        ref = int(times[zero][0])
        keep = ~zero
        times, beta, sigma = times[keep], beta[keep], sigma[np.ix_(keep, keep)]
        full = np.arange(times.min(initial=ref), times.max(initial=ref) + 1)
        gaps = sorted(set(full) - set(times) - {ref})
    else:
        full = np.arange(times.min(), times.max() + 1)
        gaps = sorted(set(full) - set(times))
        if len(gaps) != 1:
            raise DesignError(
                "cannot tell the reference period: the event times "
                f"{times.tolist()} should be contiguous with exactly one omitted (reference) period",
                fix="use a universal base period (e.g. aggte of att_gt with base_period='universal', "
                "or event_study/sun_abraham, which omit ref)",
            )
        ref = int(gaps[0])
        gaps = []
    if gaps:
        raise DesignError(
            f"event times {gaps} are missing; HonestDiD needs contiguous event times",
            fix="estimate every event time between the first lead and the last lag",
        )
    pre, post = times < ref, times > ref
    if not pre.any() or not post.any():
        raise DesignError(
            f"HonestDiD needs at least one pre-period and one post-period coefficient around the "
            f"reference {ref}; got event times {times.tolist()}"
        )
    return EventStudyParts(
        pre_times=times[pre], post_times=times[post], beta=beta, sigma=sigma, ref=ref
    )


# ------------------------------------------------------------------------------------------------
# math
# ------------------------------------------------------------------------------------------------
def folded_normal_quantile(bias: float, alpha: float) -> float:
    """cv_α(b): the 1-α quantile of |N(b, 1)| (Armstrong & Kolesár's critical value)."""
    b = abs(float(bias))
    if b == 0:
        return float(stats.norm.ppf(1 - alpha / 2))

    def f(c: float) -> float:
        return stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha)

    return float(optimize.brentq(f, 0.0, b + 10.0, xtol=1e-14, rtol=1e-14))


def _second_differences(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """A (second differences of the full sequence with δ_ref = 0, on the non-ref entries) and the
    linear trend spanning its null space."""
    n = n_pre + n_post
    full = np.zeros((n - 1, n + 1))
    for r in range(n - 1):
        full[r, r : r + 3] = (1.0, -2.0, 1.0)
    a = np.delete(full, n_pre, axis=1)
    trend = np.delete(np.arange(n + 1, dtype=float) - n_pre, n_pre)
    return a, trend


@dataclass(frozen=True)
class _Flci:
    center: float
    half_length: float
    sd: float
    max_bias: float
    weights: np.ndarray


def flci(
    beta: np.ndarray, sigma: np.ndarray, n_pre: int, l_post: np.ndarray, m: float, alpha: float
) -> _Flci:
    """Optimal fixed-length CI for θ = l'τ_post under ΔSD(m) (module docstring)."""
    n_post = len(l_post)
    a, trend = _second_differences(n_pre, n_post)
    a_pinv = np.linalg.pinv(a)  # maps second differences to δ orthogonal to the trend
    sp, spq = sigma[:n_pre, :n_pre], sigma[:n_pre, n_pre:]
    lq = np.asarray(l_post, float)
    r = -float(trend[n_pre:] @ lq)
    tp = trend[:n_pre]
    const = float(lq @ sigma[n_pre:, n_pre:] @ lq)

    def var(v: np.ndarray) -> float:
        return float(v @ sp @ v + 2 * v @ spq @ lq + const)

    # minimum-variance v subject to v'tp = r (KKT system)
    kkt = np.block([[2 * sp, tp[:, None]], [tp[None, :], np.zeros((1, 1))]])
    rhs = np.concatenate([-2 * spq @ lq, [r]])
    v0 = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:n_pre]

    def bias_of(v: np.ndarray) -> float:
        return m * float(np.abs(a_pinv.T @ np.concatenate([v, lq])).sum())

    def result(v: np.ndarray) -> _Flci:
        sd = np.sqrt(max(var(v), 0.0))
        b = bias_of(v)
        hl = sd * folded_normal_quantile(b / sd, alpha)
        return _Flci(float(np.concatenate([v, lq]) @ beta), hl, sd, b, v)

    if m == 0:
        return result(v0)
    ap, aq = a_pinv.T[:, :n_pre], a_pinv.T[:, n_pre:] @ lq  # A⁺'w = ap v + aq
    k = ap.shape[0]

    # smallest attainable bias: LP min Σu s.t. -u <= ap v + aq <= u, tp'v = r
    c = np.concatenate([np.zeros(n_pre), np.ones(k)])
    a_ub = np.block([[ap, -np.eye(k)], [-ap, -np.eye(k)]])
    b_ub = np.concatenate([-aq, aq])
    lp = optimize.linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.concatenate([tp, np.zeros(k)])[None, :],
        b_eq=[r],
        bounds=[(None, None)] * (n_pre + k),
        method="highs",
    )
    if lp.status != 0:
        raise EstimationError(f"FLCI: the bias linear program failed ({lp.message})")
    u_min, u_max = float(lp.fun), float(np.abs(ap @ v0 + aq).sum())
    v_lp = lp.x[:n_pre]

    def min_var_given_budget(budget: float, start: np.ndarray) -> np.ndarray:
        """min var(v) s.t. Σ|ap v + aq| <= budget, tp'v = r (convex QP via SLSQP)."""
        x0 = np.concatenate([start, np.abs(ap @ start + aq)])
        cons = [
            {
                "type": "ineq",
                "fun": lambda x: np.concatenate(
                    [x[n_pre:] - (ap @ x[:n_pre] + aq), x[n_pre:] + (ap @ x[:n_pre] + aq)]
                ),
                "jac": lambda x: np.block([[-ap, np.eye(k)], [ap, np.eye(k)]]),
            },
            {
                "type": "ineq",
                "fun": lambda x: np.array([budget - x[n_pre:].sum()]),
                "jac": lambda x: np.concatenate([np.zeros(n_pre), -np.ones(k)])[None, :],
            },
            {
                "type": "eq",
                "fun": lambda x: np.array([tp @ x[:n_pre] - r]),
                "jac": lambda x: np.concatenate([tp, np.zeros(k)])[None, :],
            },
        ]

        def obj(x: np.ndarray) -> tuple[float, np.ndarray]:
            v = x[:n_pre]
            g = np.concatenate([2 * sp @ v + 2 * spq @ lq, np.zeros(k)])
            return var(v), g

        sol = optimize.minimize(
            obj,
            x0,
            jac=True,
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-15, "maxiter": 500},
        )
        return sol.x[:n_pre] if sol.success else start

    if u_max - u_min <= 1e-12 * max(u_max, 1.0):
        return result(v0)
    cache: dict[float, _Flci] = {}

    def hl_at(budget: float) -> float:
        start = v_lp if budget < 0.5 * (u_min + u_max) else v0
        v = min_var_given_budget(budget, start)
        res = result(v)
        cache[budget] = res
        return res.half_length

    grid = np.linspace(u_min, u_max, 15)
    vals = [hl_at(b) for b in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    if hi > lo:
        opt = optimize.minimize_scalar(
            hl_at, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10 * (u_max - u_min)}
        )
        hl_at(float(opt.x))
    best = min(cache.values(), key=lambda f: f.half_length)
    return best


def rm_bonferroni_ci(
    beta: np.ndarray, sigma: np.ndarray, n_pre: int, l_post: np.ndarray, mbar: float, alpha: float
) -> tuple[float, float, float, float]:
    """Conservative ΔRM(M̄) interval (module docstring). Returns (lb, ub, m_upper, spread)."""
    lq = np.asarray(l_post, float)
    n = len(beta)
    center = float(lq @ beta[n_pre:])
    se = float(np.sqrt(lq @ sigma[n_pre:, n_pre:] @ lq))
    if mbar == 0:
        z = stats.norm.ppf(1 - alpha / 2)
        return center - z * se, center + z * se, float("nan"), 0.0
    alpha2 = alpha / 10
    z = stats.norm.ppf(1 - (alpha - alpha2) / 2)
    # pre-period first differences including the step into the reference (δ_ref = 0)
    d = np.zeros((n_pre, n))
    for s in range(n_pre):
        d[s, s] = -1.0
        if s + 1 < n_pre:
            d[s, s + 1] = 1.0
    diffs = d @ beta
    vd = d @ sigma @ d.T
    sd = np.sqrt(np.diag(vd))
    crit = uniform_critical_value(vd, alpha2, seed=config.get().seed, draws=200_000)
    m_upper = float(np.max(np.abs(diffs) + crit * sd))
    # θ = l'τ_post; worst case of l'δ_post with |Δδ| <= M̄ m is M̄ m Σ_j |Σ_{k>=j} l_k|
    spread = float(np.abs(np.cumsum(lq[::-1])[::-1]).sum())
    width = mbar * m_upper * spread
    return center - z * se - width, center + z * se + width, m_upper, spread


# ------------------------------------------------------------------------------------------------
# relative magnitudes: Andrews–Roth–Pakes conditional test with a least-favourable first stage
# ------------------------------------------------------------------------------------------------
MAX_VERTICES_SUBSETS = 200_000
"""Above this many candidate bases the dual vertices are not enumerated (Bonferroni fallback)."""


def rm_piece_constraints(n_pre: int, n_post: int, mbar: float, s: int, sign: float) -> np.ndarray:
    """A with ΔRM_{s,sign}(M̄) = {δ : A δ <= 0} (Rambachan & Roth 2023, footnote 9).

    Every first difference of δ (over the full sequence with δ_ref = 0) is bounded in absolute
    value by sign·(δ_{s+1} - δ_s) in the pre-period and by M̄ times it in the post-period; the union
    over s and sign is ΔRM(M̄). The reference column is dropped.
    """
    n = n_pre + n_post
    d = np.zeros((n, n + 1))
    for t in range(n):
        d[t, t], d[t, t + 1] = -1.0, 1.0
    v = sign * d[s]
    bound = np.vstack([np.tile(v, (n_pre, 1)), np.tile(mbar * v, (n_post, 1))])
    a = np.vstack([d - bound, -d - bound])
    a = a[~np.all(np.abs(a) <= 1e-12, axis=1)]
    return np.delete(a, n_pre, axis=1)


def _dual_vertices(x_tilde: np.ndarray, sd: np.ndarray) -> np.ndarray | None:
    """Vertices of {γ >= 0, X̃'γ = 0, σ̃'γ = 1} (rows), or None if there are too many bases."""
    k = len(sd)
    eq = np.vstack([x_tilde.T, sd[None, :]]) if x_tilde.shape[1] else sd[None, :]
    r = eq.shape[0]
    if math.comb(k, r) > MAX_VERTICES_SUBSETS:
        return None
    rhs = np.zeros(r)
    rhs[-1] = 1.0
    found = []
    for basis in itertools.combinations(range(k), r):
        m = eq[:, basis]
        if abs(np.linalg.det(m)) < 1e-12:
            continue
        g = np.linalg.solve(m, rhs)
        if np.all(g >= -1e-10):
            full = np.zeros(k)
            full[list(basis)] = np.clip(g, 0.0, None)
            found.append(full)
    if not found:
        return np.zeros((0, k))
    return np.unique(np.round(np.array(found), 12), axis=0)


@dataclass(frozen=True)
class _ArpPiece:
    """Everything the hybrid test needs for one polyhedron, independent of the tested θ̄."""

    a: np.ndarray  # moment rows used (A restricted to rows_for_arp)
    a1: np.ndarray  # column that multiplies θ̄
    sigma_y: np.ndarray
    verts: np.ndarray
    cv_lf: float


def _arp_piece(
    sigma: np.ndarray, n_pre: int, l_post: np.ndarray, a: np.ndarray, kappa: float, seed: int
) -> _ArpPiece | None:
    n_post = len(l_post)
    a_post = a[:, n_pre:]
    if n_post > 1:  # only the moments that involve post-periods (HonestDiD's default)
        a = a[np.any(a_post != 0, axis=1)]
        a_post = a[:, n_pre:]
    q, _ = np.linalg.qr(np.column_stack([l_post, np.eye(n_post)]))
    x_tilde = a_post @ q[:, 1:n_post]  # nuisance directions orthogonal to l
    sigma_y = a @ sigma @ a.T
    sd = np.sqrt(np.clip(np.diag(sigma_y), 0.0, None))
    if np.any(sd <= 0):
        return None
    verts = _dual_vertices(x_tilde, sd)
    if verts is None:
        return None
    w, u = np.linalg.eigh(sigma_y)
    root = u * np.sqrt(np.clip(w, 0.0, None))
    xi = np.random.default_rng(seed).standard_normal((20_000, len(sd))) @ root.T
    cv_lf = float(np.quantile((xi @ verts.T).max(axis=1), 1 - kappa)) if len(verts) else np.inf
    return _ArpPiece(a, a_post @ l_post / float(l_post @ l_post), sigma_y, verts, cv_lf)


def _arp_accepts(
    piece: _ArpPiece, beta: np.ndarray, theta: float, alpha: float, kappa: float
) -> bool:
    """Conditional-LF hybrid test of θ = θ̄ for one polyhedron (Andrews, Roth & Pakes 2023).

    η̂ = max over dual vertices of γ'Y(θ̄); reject if η̂ exceeds the least-favourable (1-κ) critical
    value, else compare η̂ with the (1-α̃) quantile (α̃ = (α-κ)/(1-κ)) of a N(0, γ*'Σγ*) truncated
    to [V_lo, min(V_up, c_LF)], the values of η̂ for which γ* stays optimal given the rest of Y.
    """
    if len(piece.verts) == 0:
        return True  # no informative moment
    y = piece.a @ beta - piece.a1 * theta
    vals = piece.verts @ y
    j = int(np.argmax(vals))
    eta = float(vals[j])
    if eta > piece.cv_lf:
        return False
    g = piece.verts[j]
    s2 = float(g @ piece.sigma_y @ g)
    if s2 <= 0:
        return eta <= 0
    c = piece.sigma_y @ g / s2
    rest = y - c * eta
    av, bv = piece.verts @ c, piece.verts @ rest
    below, above = av < 1 - 1e-10, av > 1 + 1e-10
    v_lo = float(np.max(bv[below] / (1 - av[below]))) if below.any() else -np.inf
    v_up = float(np.min(bv[above] / (1 - av[above]))) if above.any() else np.inf
    v_up = min(v_up, piece.cv_lf)
    sd = np.sqrt(s2)
    z, z_lo, z_up = eta / sd, v_lo / sd, v_up / sd
    if not z_lo - 1e-9 <= z <= z_up + 1e-9:
        return True
    alpha_t = (alpha - kappa) / (1 - kappa)
    cval = max(0.0, float(stats.truncnorm.ppf(1 - alpha_t, z_lo, z_up)))
    return z <= cval


def rm_arp_pieces(
    sigma: np.ndarray, n_pre: int, l_post: np.ndarray, mbar: float, alpha: float, seed: int
) -> list[_ArpPiece] | None:
    """The 2·T_pre polyhedra of ΔRM(M̄) prepared for testing; None if any is too large."""
    pieces = []
    for s in range(n_pre):
        for sign in (1.0, -1.0):
            a = rm_piece_constraints(n_pre, len(l_post), mbar, s, sign)
            p = _arp_piece(sigma, n_pre, l_post, a, alpha / 10, seed)
            if p is None:
                return None
            pieces.append(p)
    return pieces


def rm_arp_ci(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_post: np.ndarray,
    mbar: float,
    alpha: float,
    *,
    seed: int,
    bracket: tuple[float, float],
    n_grid: int = 401,
) -> tuple[float, float] | None:
    """ΔRM(M̄) confidence set by inverting the C-LF hybrid test (union over polyhedra).

    θ̄ on a grid over `bracket` (widened while the accepted set touches its ends), then each end
    refined by bisection. Returns (lb, ub), (nan, nan) if nothing is accepted, None if the
    polyhedra are too large to enumerate.
    """
    pieces = rm_arp_pieces(sigma, n_pre, l_post, mbar, alpha, seed)
    if pieces is None:
        return None

    def accept(theta: float) -> bool:
        return any(_arp_accepts(p, beta, theta, alpha, alpha / 10) for p in pieces)

    lo, hi = bracket
    for _ in range(6):
        grid = np.linspace(lo, hi, n_grid)
        ok = np.array([accept(t) for t in grid])
        if not ok.any():
            return float("nan"), float("nan")
        width = hi - lo
        if ok[0] or ok[-1]:
            lo, hi = (lo - width if ok[0] else lo), (hi + width if ok[-1] else hi)
            continue
        i, j = int(np.argmax(ok)), len(ok) - 1 - int(np.argmax(ok[::-1]))
        step = grid[1] - grid[0]
        return (
            _bisect(accept, grid[i - 1], grid[i], step),
            _bisect(accept, grid[j + 1], grid[j], step),
        )
    raise EstimationError(
        "the relative-magnitudes confidence set is unbounded on the searched range",
        fix="check the event study's covariance (near-zero variances?)",
    )


def _bisect(accept: Any, out: float, inside: float, step: float) -> float:
    """Boundary between a rejected point `out` and an accepted point `inside`."""
    for _ in range(60):
        if abs(inside - out) <= 1e-4 * step:
            break
        mid = 0.5 * (out + inside)
        if accept(mid):
            inside = mid
        else:
            out = mid
    return float(inside)


# ------------------------------------------------------------------------------------------------
# the sensitivity table (the entry point `honest_did` is in api.py, its result in results.py)
# ------------------------------------------------------------------------------------------------
def _grid(values: object, what: str, default: np.ndarray) -> np.ndarray:
    if values is None:
        return default
    arr = np.atleast_1d(np.asarray(values, dtype=float)) if _numeric(values) else None
    if (
        arr is None
        or arr.ndim != 1
        or arr.size == 0
        or not np.all(np.isfinite(arr))
        or (arr < 0).any()
    ):
        raise OptionError(
            f"{what}={values!r} must be a non-negative number or a list of them",
            fix=f"e.g. {what}=[0, 0.5, 1]",
        )
    return np.unique(arr)


def _numeric(values: object) -> bool:
    try:
        np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def sensitivity_table(
    parts: EventStudyParts,
    *,
    method: str,
    M: float | Sequence[float] | None,
    Mbar: float | Sequence[float] | None,
    e: int,
    alpha: float,
) -> tuple[pd.DataFrame, float, np.ndarray]:
    """Rambachan–Roth sensitivity of the event-time-`e` effect: (table, breakdown value, grid).

    Smoothness uses the optimal FLCI for each M in `M` (default: 10 values from 0 to the largest
    pre-period second difference plus two standard errors of β_e); relative magnitudes inverts the
    ARP conditional least-favourable hybrid test for each M̄ in `Mbar` (default 0, 0.5, …, 2) —
    module docstring. The table's first row is the conventional interval ("original").
    """
    l_post = (parts.post_times == e).astype(float)
    n_pre = parts.n_pre
    beta, sigma = parts.beta, parts.sigma
    center = float(l_post @ beta[n_pre:])
    se = float(np.sqrt(l_post @ sigma[n_pre:, n_pre:] @ l_post))
    z = stats.norm.ppf(1 - alpha / 2)
    rows = [
        {
            "term": "original",
            "estimate": center,
            "std_error": se,
            "conf_low": center - z * se,
            "conf_high": center + z * se,
            "p_value": float(2 * stats.norm.sf(abs(center / se))) if se > 0 else np.nan,
            "method": "conventional",
            "M": np.nan,
            "Mbar": np.nan,
        }
    ]
    if method == "smoothness":
        pre_full = np.concatenate([beta[:n_pre], [0.0]])
        sd2 = np.abs(np.diff(pre_full, 2)).max(initial=0.0)
        grid = _grid(M, "M", np.linspace(0.0, sd2 + 2 * se, 10))

        def interval(mv: float) -> tuple[float, float, float, float]:
            f = flci(beta, sigma, n_pre, l_post, mv, alpha)
            return f.center - f.half_length, f.center + f.half_length, f.center, f.sd

        for mv in grid:
            lb, ub, c, sd = interval(float(mv))
            rows.append(
                {
                    "term": f"M={mv:g}",
                    "estimate": c,
                    "std_error": sd,
                    "conf_low": lb,
                    "conf_high": ub,
                    "p_value": np.nan,
                    "method": "FLCI",
                    "M": mv,
                    "Mbar": np.nan,
                }
            )
        breakdown = _breakdown(lambda mv: interval(mv)[:2], rows, grid)
    else:
        grid = _grid(Mbar, "Mbar", np.arange(0.0, 2.01, 0.5))
        seed = config.get().seed
        arp_ok = True
        for mb in grid:
            ci: tuple[float, float] | None = None
            if arp_ok:
                blb, bub, _, _ = rm_bonferroni_ci(
                    beta, sigma, n_pre, l_post, max(float(mb), 1e-3), alpha
                )
                pad = 0.25 * (bub - blb)
                ci = rm_arp_ci(
                    beta, sigma, n_pre, l_post, float(mb), alpha, seed=seed,
                    bracket=(blb - pad, bub + pad),
                )  # fmt: skip
                arp_ok = ci is not None
            if ci is None:
                ci = rm_bonferroni_ci(beta, sigma, n_pre, l_post, float(mb), alpha)[:2]
            rows.append(
                {
                    "term": f"Mbar={mb:g}",
                    "estimate": center,
                    "std_error": se,
                    "conf_low": ci[0],
                    "conf_high": ci[1],
                    "p_value": np.nan,
                    "method": "C-LF" if arp_ok else "RM-Bonferroni",
                    "M": np.nan,
                    "Mbar": mb,
                }
            )
        if arp_ok:
            breakdown = _rm_breakdown_arp(beta, sigma, n_pre, l_post, alpha, rows, grid, seed)
        else:
            if any(r["method"] == "C-LF" for r in rows[1:]):  # mixed: recompute all conservatively
                for r in rows[1:]:
                    lb, ub, _, _ = rm_bonferroni_ci(beta, sigma, n_pre, l_post, r["Mbar"], alpha)
                    r.update(conf_low=lb, conf_high=ub, method="RM-Bonferroni")
            breakdown = _rm_breakdown(beta, sigma, n_pre, l_post, alpha, rows)
    return pd.DataFrame(rows), breakdown, grid


def _excludes_zero(lb: float, ub: float) -> bool:
    return lb > 0 or ub < 0


def _breakdown(interval: Any, rows: list[dict[str, Any]], grid: np.ndarray) -> float:
    """Largest M whose FLCI excludes 0: a root of the bound between the bracketing grid points."""
    if not _excludes_zero(rows[0]["conf_low"], rows[0]["conf_high"]):
        return float("nan")
    ok = [_excludes_zero(r["conf_low"], r["conf_high"]) for r in rows[1:]]
    if all(ok):
        return float("inf") if grid[-1] > 0 else 0.0
    first_bad = ok.index(False)
    if first_bad == 0:
        lo = 0.0
        if grid[0] == 0:
            return float("nan")
        hi = float(grid[0])
    else:
        lo, hi = float(grid[first_bad - 1]), float(grid[first_bad])
    positive = rows[0]["conf_low"] > 0

    def margin(mv: float) -> float:  # > 0 while the interval excludes 0
        lb, ub = interval(mv)
        return lb if positive else -ub

    if lo == hi:
        return lo
    if lo == 0.0 and margin(0.0) <= 0:
        return float("nan")  # even M = 0 (exactly linear trends) does not exclude 0
    return float(optimize.brentq(margin, lo, hi, xtol=1e-7 * max(hi, 1e-12), rtol=1e-10))


def _rm_breakdown_arp(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_post: np.ndarray,
    alpha: float,
    rows: list[dict[str, Any]],
    grid: np.ndarray,
    seed: int,
) -> float:
    """Largest M̄ at which the C-LF test still rejects θ = 0 (bisection between grid points)."""
    if not _excludes_zero(rows[0]["conf_low"], rows[0]["conf_high"]):
        return float("nan")

    def rejects_zero(mb: float) -> bool:
        pieces = rm_arp_pieces(sigma, n_pre, l_post, mb, alpha, seed)
        if pieces is None:  # cannot happen: the grid values had the same polyhedra sizes
            raise EstimationError("relative-magnitudes polyhedra too large to enumerate")
        return not any(_arp_accepts(p, beta, 0.0, alpha, alpha / 10) for p in pieces)

    ok = [_excludes_zero(r["conf_low"], r["conf_high"]) for r in rows[1:]]
    if all(ok):
        return float("inf")
    first_bad = ok.index(False)
    if first_bad == 0:
        if grid[0] == 0 or not rejects_zero(0.0):
            return float("nan")
        lo, hi = 0.0, float(grid[0])
    else:
        lo, hi = float(grid[first_bad - 1]), float(grid[first_bad])
    while hi - lo > 1e-4 * max(hi, 1e-12):
        mid = 0.5 * (lo + hi)
        if rejects_zero(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _rm_breakdown(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_post: np.ndarray,
    alpha: float,
    rows: list[dict[str, Any]],
) -> float:
    """Largest M̄ whose Bonferroni ΔRM interval excludes 0 (closed form: the bound is linear)."""
    if not _excludes_zero(rows[0]["conf_low"], rows[0]["conf_high"]):
        return float("nan")
    lb, ub, m_upper, spread = rm_bonferroni_ci(beta, sigma, n_pre, l_post, 1.0, alpha)
    width = m_upper * spread
    margin = 0.5 * (ub - lb) - width  # the sampling half-width at the Bonferroni level
    center = 0.5 * (lb + ub)
    slack = abs(center) - margin
    if slack <= 0:
        return 0.0
    return float(slack / width) if width > 0 else float("inf")
