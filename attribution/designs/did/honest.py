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
  convex QP inside (scipy SLSQP); the QPs depend on neither M nor β̂, so FlciFrontier shares them.

- ``method="relative_magnitudes"``: δ ∈ ΔRM(M̄) = {δ : |δ_{t+1} - δ_t| <= M̄ · max_{s<0} |δ_{s+1} - δ_s|
  for post periods}, the union over s and sign of polyhedra {δ : A_{s,±} δ <= 0} (RR footnote 9).
  Interval: RR's default "C-LF" — invert, for each θ̄, the Andrews–Roth–Pakes (2023) conditional
  test with a least-favourable first stage of size κ = α/10, and take the union over polyhedra
  ("Conditional": the conditional test alone). As in HonestDiD only moments that involve
  post-periods enter. The test statistic, the conditioning vertex, its truncation interval and the
  least-favourable critical value (20,000 seeded draws) are linear programs solved with HiGHS
  (moment_inequalities.py), so long event studies need no vertex enumeration; the confidence set's
  ends are found by scanning then bisection (HonestDiD reports the extreme accepted points of a
  grid, so its intervals are inside ours by < 1 grid step). If the test cannot be computed (a
  moment with zero variance, an LP failure) a valid but conservative Bonferroni projection is
  reported instead, labelled "RM-Bonferroni" and announced by an AttributionWarning: with
  α₂ = α/10, a simultaneous sup-t upper bound m̂ on the largest pre-period change and a
  (1 - α + α₂) interval for β_e, widened by the identified-set half-width M̄·k·m̂.

`honest_arrays(betahat, sigma, num_pre_periods, ...)` runs either analysis on arrays (R HonestDiD's
createSensitivityResults / createSensitivityResults_relativeMagnitudes); `honest_did` feeds it an
event study.

The result consumes only the ``event_study() -> (event_times, estimates, vcov)`` protocol, so it
works for TWFE / Sun–Abraham event studies and Callaway–Sant'Anna dynamic aggregations (which must
use a universal base period).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from attribution import config
from attribution.designs.did.moment_inequalities import (
    ArpUnavailable,
    MomentInequalities,
    RayStore,
    lowest_accepted,
)
from attribution.errors import AttributionWarning, DesignError, EstimationError, OptionError
from attribution.inference import uniform_critical_value
from attribution.options import HonestInference, HonestMethod, check_alpha, check_option

if TYPE_CHECKING:
    pass

__all__ = [
    "INFERENCE",
    "EventStudyParts",
    "FlciFrontier",
    "HonestInference",
    "HonestMethod",
    "HonestSensitivity",
    "arp_union_interval",
    "arp_union_rejects",
    "flci",
    "folded_normal_quantile",
    "honest_arrays",
    "rm_bonferroni_ci",
    "rm_moment_inequalities",
    "rm_piece_constraints",
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

    def f(c: float) -> float:  # special.ndtr is stats.norm.cdf without its overhead
        return float(special.ndtr(c - b) - special.ndtr(-c - b)) - (1 - alpha)

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


class FlciFrontier:
    """The M-free part of the FLCI: for a bias budget b, the minimum-variance pre-period weights v
    subject to ||A⁺'w||₁ <= b (w = (v, l)) and v'trend = r (ΔSD leaves linear trends free).

    It depends on Σ, T_pre and l only, so one frontier serves every M (and every β̂); each budget
    is solved once (a convex QP, scipy SLSQP), warm-started from the nearest budget already solved.
    """

    def __init__(self, sigma: np.ndarray, n_pre: int, l_post: np.ndarray) -> None:
        self.n_pre = n_pre
        self.lq = lq = np.asarray(l_post, float)
        a, trend = _second_differences(n_pre, len(lq))
        a_pinv = np.linalg.pinv(a)  # maps second differences to δ orthogonal to the trend
        self.sp, self.spq = sigma[:n_pre, :n_pre], sigma[:n_pre, n_pre:]
        self.r = -float(trend[n_pre:] @ lq)
        self.tp = tp = trend[:n_pre]
        self.const = float(lq @ sigma[n_pre:, n_pre:] @ lq)
        self.a_pinv = a_pinv
        # minimum-variance v subject to v'tp = r (KKT system)
        kkt = np.block([[2 * self.sp, tp[:, None]], [tp[None, :], np.zeros((1, 1))]])
        rhs = np.concatenate([-2 * self.spq @ lq, [self.r]])
        self.v0 = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:n_pre]
        self.ap, self.aq = a_pinv.T[:, :n_pre], a_pinv.T[:, n_pre:] @ lq  # A⁺'w = ap v + aq
        self.k = self.ap.shape[0]
        self._solved: dict[float, np.ndarray] = {}
        self._lp: tuple[float, np.ndarray] | None = None

    def var(self, v: np.ndarray) -> float:
        return float(v @ self.sp @ v + 2 * v @ self.spq @ self.lq + self.const)

    def bias_norm(self, v: np.ndarray) -> float:
        """||A⁺'w||₁: the worst-case bias per unit of M."""
        return float(np.abs(self.a_pinv.T @ np.concatenate([v, self.lq])).sum())

    def budget_range(self) -> tuple[float, float, np.ndarray]:
        """(smallest attainable budget, the budget of v0, the weights at the smallest)."""
        if self._lp is None:
            n_pre, k, ap, aq = self.n_pre, self.k, self.ap, self.aq
            # smallest attainable bias: LP min Σu s.t. -u <= ap v + aq <= u, tp'v = r
            lp = optimize.linprog(
                np.concatenate([np.zeros(n_pre), np.ones(k)]),
                A_ub=np.block([[ap, -np.eye(k)], [-ap, -np.eye(k)]]),
                b_ub=np.concatenate([-aq, aq]),
                A_eq=np.concatenate([self.tp, np.zeros(k)])[None, :],
                b_eq=[self.r],
                bounds=[(None, None)] * (n_pre + k),
                method="highs",
            )
            if lp.status != 0:
                raise EstimationError(f"FLCI: the bias linear program failed ({lp.message})")
            self._lp = (float(lp.fun), lp.x[:n_pre])
        u_min, v_lp = self._lp
        return u_min, float(np.abs(self.ap @ self.v0 + self.aq).sum()), v_lp

    def weights(self, budget: float) -> np.ndarray:
        """min var(v) s.t. Σ|ap v + aq| <= budget, tp'v = r."""
        if budget in self._solved:
            return self._solved[budget]
        u_min, u_max, v_lp = self.budget_range()
        below = [b for b in self._solved if b < budget]
        above = [b for b in self._solved if b > budget]
        if below and above:  # v(b) is piecewise affine in b: interpolate the nearest two
            b0, b1 = max(below), min(above)
            w1 = (budget - b0) / (b1 - b0)
            start = (1 - w1) * self._solved[b0] + w1 * self._solved[b1]
        elif self._solved:
            start = self._solved[min(self._solved, key=lambda b: abs(b - budget))]
        else:
            start = v_lp if budget < 0.5 * (u_min + u_max) else self.v0
        n_pre, k, ap, aq, tp = self.n_pre, self.k, self.ap, self.aq, self.tp
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
                "fun": lambda x: np.array([tp @ x[:n_pre] - self.r]),
                "jac": lambda x: np.concatenate([tp, np.zeros(k)])[None, :],
            },
        ]

        def obj(x: np.ndarray) -> tuple[float, np.ndarray]:
            v = x[:n_pre]
            g = np.concatenate([2 * self.sp @ v + 2 * self.spq @ self.lq, np.zeros(k)])
            return self.var(v), g

        sol = optimize.minimize(
            obj,
            x0,
            jac=True,
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-15, "maxiter": 500},
        )
        # SLSQP often ends with "positive directional derivative" at the optimum to rounding; any v
        # with v'trend = r is a valid FLCI (its bias and sd are computed from v), so keep it
        v = sol.x[:n_pre]
        if not (sol.success or abs(tp @ v - self.r) <= 1e-10 * (1.0 + abs(self.r))):
            v = start
        self._solved[budget] = v
        return v


def flci(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_post: np.ndarray,
    m: float,
    alpha: float,
    *,
    frontier: FlciFrontier | None = None,
) -> _Flci:
    """Optimal fixed-length CI for θ = l'τ_post under ΔSD(m) (module docstring).

    The half-length sd(v)·cv_α(m·bias(v)/sd(v)) is minimised over the frontier's budgets: a grid
    of 15, then a bounded scalar search around the best. Pass one `frontier` (built for the same
    Σ, T_pre and l) to several calls to share its QP solutions.
    """
    fr = FlciFrontier(sigma, n_pre, l_post) if frontier is None else frontier
    lq = fr.lq

    def result(v: np.ndarray) -> _Flci:
        sd = np.sqrt(max(fr.var(v), 0.0))
        b = m * fr.bias_norm(v)
        hl = sd * folded_normal_quantile(b / sd, alpha)
        return _Flci(float(np.concatenate([v, lq]) @ beta), hl, sd, b, v)

    if m == 0:
        return result(fr.v0)
    u_min, u_max, _ = fr.budget_range()
    if u_max - u_min <= 1e-12 * max(u_max, 1.0):
        return result(fr.v0)
    cache: dict[float, _Flci] = {}

    def hl_at(budget: float) -> float:
        res = result(fr.weights(budget))
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
    return min(cache.values(), key=lambda f: f.half_length)


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
def rm_piece_constraints(n_pre: int, n_post: int, mbar: float, s: int, sign: float) -> np.ndarray:
    """A with ΔRM_{s,sign}(M̄) = {δ : A δ <= 0} (Rambachan & Roth 2023, footnote 9).

    Every first difference of δ (over the full sequence with δ_ref = 0) is bounded in absolute
    value by sign·(δ_{s+1} - δ_s) in the pre-period and by M̄ times it in the post-period; the union
    over s and sign is ΔRM(M̄). The reference column is dropped. s runs over all n_pre pre-period
    changes, the last being the step into the reference (R HonestDiD's s = -(T_pre - 1), …, 0).
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


def rm_moment_inequalities(
    sigma: np.ndarray,
    n_pre: int,
    l_post: np.ndarray,
    mbar: float,
    *,
    store: RayStore | None = None,
) -> list[MomentInequalities]:
    """The 2·T_pre polyhedra of ΔRM(M̄) as moment inequalities (raises ArpUnavailable).

    Their post-period blocks are the same for every s, sign and M̄, so they share one RayStore
    (pass `store` to share it across M̄ too).
    """
    n_post = len(l_post)
    store = RayStore() if store is None else store
    out = []
    for s in range(n_pre):
        for sign in (1.0, -1.0):
            a = rm_piece_constraints(n_pre, n_post, mbar, s, sign)
            out.append(MomentInequalities(a, np.zeros(len(a)), sigma, n_pre, l_post, store=store))
    return out


INFERENCE: dict[str, tuple[str, ...]] = {
    "smoothness": ("FLCI",),
    "relative_magnitudes": ("C-LF", "Conditional"),
}
"""The `inference` values each restriction supports (the first is the default, as in R HonestDiD)."""


@dataclass
class _PieceSearch:
    """Accepted-set ends of one polyhedron's ARP test, searched lazily.

    For the hybrid, the conditional test at level α̃ = (α-κ)/(1-κ) without the least-favourable
    stage accepts every θ̄ the hybrid accepts (capping V_up at c_LF lowers the truncated-normal
    quantile), and needs no simulation: its ends bound the hybrid's, and only polyhedra whose
    bound can extend the union get c_LF simulated.
    """

    piece: MomentInequalities
    beta: np.ndarray
    alpha: float
    hybrid: bool
    seed: int
    sd_theta: float

    def __post_init__(self) -> None:
        self._searched = False
        self._start: float | None = None
        self._outer: dict[str, float] = {}
        self._ends: dict[tuple[str, bool], float | None] = {}
        self._cv: float | None = None

    @property
    def kappa(self) -> float:
        return self.alpha / 10

    @property
    def alpha_tilde(self) -> float:
        return (self.alpha - self.kappa) / (1 - self.kappa) if self.hybrid else self.alpha

    def accept_conditional(self, theta: float) -> bool:
        return self.piece.accepts(self.beta, theta, self.alpha_tilde)

    def accept(self, theta: float) -> bool:
        """The test itself (the conditional check first: it is cheap and implied by the hybrid)."""
        if not self.accept_conditional(theta):
            return False
        if not self.hybrid:
            return True
        if self._cv is None:
            self._cv = self.piece.lf_critical_value(self.kappa, self.seed)
        return self.piece.accepts(self.beta, theta, self.alpha, cv_lf=self._cv, kappa=self.kappa)

    def start(self) -> float | None:
        """A θ̄ the conditional test accepts (argmin of η̂ first), None if none is found."""
        if not self._searched:
            self._searched = True
            t0 = self.piece.theta_argmin(self.beta)
            if t0 is not None and self.accept_conditional(t0):
                self._start = t0
            else:
                centre = 0.0 if t0 is None else t0
                for k in range(1, 25):  # look around, further out each time
                    for t in (centre - k * self.sd_theta, centre + k * self.sd_theta):
                        if self.accept_conditional(t):
                            self._start = t
                            break
                    if self._start is not None:
                        break
        return self._start

    def end(self, side: str, *, exact: bool) -> float | None:
        """Smallest (side 'low') or largest ('high') accepted θ̄: for the conditional test at
        α̃ (exact=False, a bound for the hybrid) or for the test itself (exact=True)."""
        if not self.hybrid:
            exact = False
        key = (side, exact)
        if key not in self._ends:
            self._ends[key] = self._search(side, exact)
        return self._ends[key]

    def _search(self, side: str, exact: bool) -> float | None:
        start = self.start()
        if start is None:
            return None
        direction = -1.0 if side == "low" else 1.0
        if not exact:
            outer = None
            width = self.sd_theta
            for _ in range(60):  # step out until the conditional test rejects
                t = start + direction * width
                if not self.accept_conditional(t):
                    outer = t
                    break
                width *= 2.0
            if outer is None:
                return direction * math.inf
            got = lowest_accepted(self.accept_conditional, outer, start, xtol=1e-7 * self.sd_theta)
            self._outer[side] = outer
            return got
        bound = self.end(side, exact=False)  # the hybrid's set lies inside the conditional's
        if bound is None:
            return None
        if not math.isfinite(bound):
            return bound
        if self.accept(start):
            inner = start
        else:  # the hybrid rejects the starting point: look between the conditional's ends
            lo, hi = self.end("low", exact=False), self.end("high", exact=False)
            if lo is None or hi is None:
                return None
            inner = next((float(t) for t in np.linspace(lo, hi, 49) if self.accept(float(t))), None)
            if inner is None:
                return None
        return lowest_accepted(self.accept, self._outer[side], inner, xtol=1e-7 * self.sd_theta)


def arp_union_interval(
    pieces: Sequence[MomentInequalities],
    beta: np.ndarray,
    alpha: float,
    *,
    inference: str = "C-LF",
    seed: int,
    sd_theta: float,
) -> tuple[float, float]:
    """Confidence interval for θ under a union of polyhedra: [min, max] of the θ̄ accepted by
    any polyhedron's ARP test (Rambachan & Roth 2023, Lemma 2.2; HonestDiD reports the same hull).

    Each end of each polyhedron's set is found by scanning from a rejected point towards an
    accepted one, then bisection. For the hybrid, polyhedra are visited in the order of their
    conditional-test bounds (see _PieceSearch) and skipped once the bound cannot extend the
    interval. Returns (nan, nan) if nothing is accepted.
    """
    hybrid = inference == "C-LF"
    searches = [_PieceSearch(p, beta, alpha, hybrid, seed, sd_theta) for p in pieces]
    lb, ub = math.inf, -math.inf
    for side in ("low", "high"):
        sign = 1.0 if side == "low" else -1.0
        bounds = [(s, s.end(side, exact=False)) for s in searches]
        bounds = sorted(((s, b) for s, b in bounds if b is not None), key=lambda sb: sign * sb[1])
        best = math.inf
        for s, b in bounds:
            if sign * b >= best:
                break
            got = s.end(side, exact=True)
            if got is not None:
                best = min(best, sign * got)
        if side == "low":
            lb = best
        else:
            ub = -best
    if not lb <= ub:
        return math.nan, math.nan
    return lb, ub


def arp_union_rejects(
    pieces: Sequence[MomentInequalities],
    beta: np.ndarray,
    theta: float,
    alpha: float,
    *,
    inference: str = "C-LF",
    seed: int,
) -> bool:
    """True when every polyhedron's ARP test rejects θ = θ̄ (θ̄ is outside the union's set)."""
    hybrid = inference == "C-LF"
    for p in pieces:
        s = _PieceSearch(p, beta, alpha, hybrid, seed, 1.0)
        if s.accept(theta):
            return False
    return True


def _warn_rm_fallback(err: Exception) -> None:
    warnings.warn(
        "relative magnitudes: the Andrews–Roth–Pakes test could not be computed "
        f"({err}); reporting the conservative Bonferroni interval instead (method "
        "'RM-Bonferroni'), which is valid but wider",
        AttributionWarning,
        stacklevel=3,
    )


# ------------------------------------------------------------------------------------------------
# the sensitivity table on arrays (R HonestDiD's createSensitivityResults[_relativeMagnitudes])
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HonestSensitivity:
    """What `honest_arrays` computes; `honest_did` wraps it in a HonestResult.

    `table`: a row "original" (the conventional interval for θ = l'τ_post) then one row per grid
    value, columns term, estimate, std_error, conf_low, conf_high, p_value, method ("FLCI", "C-LF",
    "Conditional", "RM-Bonferroni" or "conventional"), M, Mbar. `breakdown`: the largest M (M̄)
    whose interval still excludes 0 (nan if the original interval covers 0, inf if it never
    does on the grid's range). `inference` is the method actually used for the grid rows.
    """

    table: pd.DataFrame
    grid: np.ndarray
    breakdown: float
    method: str
    inference: str


def honest_arrays(
    betahat: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    num_pre_periods: int,
    *,
    method: HonestMethod = "smoothness",
    M: float | Sequence[float] | None = None,
    Mbar: float | Sequence[float] | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
    inference: HonestInference | None = None,
    seed: int | None = None,
) -> HonestSensitivity:
    """Rambachan–Roth sensitivity of θ = l'τ_post from event-study arrays.

    `betahat` holds the pre-period coefficients (oldest first, the reference period omitted) then
    the post-period ones, `sigma` their covariance; as R HonestDiD's
    ``createSensitivityResults(betahat, sigma, numPrePeriods, numPostPeriods, l_vec, Mvec, alpha)``
    (smoothness: FLCI for each M; default M grid: 10 values from 0 to the largest pre-period second
    difference plus two standard errors of θ) and ``createSensitivityResults_relativeMagnitudes``
    (relative magnitudes: `inference` "C-LF" (default) or "Conditional" for each M̄; default
    0, 0.5, …, 2). `l_vec` defaults to the first post period. `seed` (default config seed) drives
    the least-favourable critical value's draws.
    """
    check_option("method", method, HonestMethod)
    alpha = check_alpha(alpha)
    beta = np.asarray(betahat, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    if beta.ndim != 1 or sig.shape != (len(beta), len(beta)):
        raise DesignError(
            f"betahat must be a vector and sigma its square covariance; got shapes {beta.shape} "
            f"and {sig.shape}"
        )
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(sig))):
        raise DesignError("betahat or sigma has non-finite entries")
    if not np.allclose(sig, sig.T, rtol=1e-8, atol=1e-14 * max(np.abs(sig).max(), 1e-300)):
        raise DesignError("sigma must be symmetric")
    n_pre = num_pre_periods
    if (
        not isinstance(n_pre, int | np.integer)
        or isinstance(n_pre, bool)
        or not 1 <= n_pre < len(beta)
    ):
        raise OptionError(
            f"num_pre_periods={num_pre_periods!r} must be an integer from 1 to {len(beta) - 1}",
            fix="count the pre-period coefficients in betahat (the reference period is omitted)",
        )
    n_pre = int(n_pre)
    n_post = len(beta) - n_pre
    if l_vec is None:
        l_post = np.eye(n_post)[0]
    else:
        l_post = np.asarray(l_vec, dtype=float).ravel()
        if l_post.shape != (n_post,) or not np.all(np.isfinite(l_post)) or not l_post.any():
            raise OptionError(
                f"l_vec must be {n_post} finite weights on the post periods, not all zero",
                fix="e.g. l_vec=[1, 0, ...] for the first post period",
            )
    if method == "smoothness" and Mbar is not None:
        raise OptionError("Mbar belongs to method='relative_magnitudes'", fix="pass M=")
    if method == "relative_magnitudes" and M is not None:
        raise OptionError("M belongs to method='smoothness'", fix="pass Mbar=")
    allowed = INFERENCE[method]
    inference = allowed[0] if inference is None else inference
    check_option("inference", inference, allowed)
    seed = config.get().seed if seed is None else int(seed)

    center = float(l_post @ beta[n_pre:])
    se = float(np.sqrt(l_post @ sig[n_pre:, n_pre:] @ l_post))
    if not se > 0:
        raise DesignError("θ = l'τ_post has zero variance under sigma")
    z = stats.norm.ppf(1 - alpha / 2)
    rows: list[dict[str, Any]] = [
        {
            "term": "original",
            "estimate": center,
            "std_error": se,
            "conf_low": center - z * se,
            "conf_high": center + z * se,
            "p_value": float(2 * stats.norm.sf(abs(center / se))),
            "method": "conventional",
            "M": np.nan,
            "Mbar": np.nan,
        }
    ]
    if method == "smoothness":
        pre_full = np.concatenate([beta[:n_pre], [0.0]])
        sd2 = np.abs(np.diff(pre_full, 2)).max(initial=0.0)
        grid = _nonnegative_grid(M, "M", np.linspace(0.0, sd2 + 2 * se, 10))
        frontier = FlciFrontier(sig, n_pre, l_post)  # shared by every M

        def interval(mv: float) -> tuple[float, float]:
            f = flci(beta, sig, n_pre, l_post, mv, alpha, frontier=frontier)
            return f.center - f.half_length, f.center + f.half_length

        for mv in grid:
            f = flci(beta, sig, n_pre, l_post, float(mv), alpha, frontier=frontier)
            rows.append(
                {
                    "term": f"M={mv:g}",
                    "estimate": f.center,
                    "std_error": f.sd,
                    "conf_low": f.center - f.half_length,
                    "conf_high": f.center + f.half_length,
                    "p_value": np.nan,
                    "method": "FLCI",
                    "M": mv,
                    "Mbar": np.nan,
                }
            )
        breakdown = flci_breakdown(interval, rows, grid)
    else:
        grid = _nonnegative_grid(Mbar, "Mbar", np.arange(0.0, 2.01, 0.5))
        try:
            cache: dict[float, list[MomentInequalities]] = {}
            store = RayStore()  # vertices found at one M̄ serve every other

            def pieces(mb: float) -> list[MomentInequalities]:
                if mb not in cache:
                    cache[mb] = rm_moment_inequalities(sig, n_pre, l_post, mb, store=store)
                return cache[mb]

            cis = [
                arp_union_interval(
                    pieces(float(mb)), beta, alpha, inference=inference, seed=seed, sd_theta=se
                )
                for mb in grid
            ]
            if any(math.isinf(v) for ci in cis for v in ci):
                raise EstimationError(
                    "the relative-magnitudes confidence set is unbounded",
                    fix="check the event study's covariance (near-zero variances?)",
                )
            label = inference

            def rejects_zero(mb: float) -> bool:
                try:
                    return arp_union_rejects(
                        pieces(mb), beta, 0.0, alpha, inference=inference, seed=seed
                    )
                except ArpUnavailable as err:  # e.g. M̄ = 0 with a zero-variance moment
                    warnings.warn(
                        f"relative magnitudes breakdown: the Andrews–Roth–Pakes test could not "
                        f"be computed at Mbar={mb:g} ({err}); the conservative Bonferroni "
                        "interval decides there",
                        AttributionWarning,
                        stacklevel=4,
                    )
                    lb, ub, _, _ = rm_bonferroni_ci(beta, sig, n_pre, l_post, mb, alpha)
                    return lb > 0 or ub < 0

        except ArpUnavailable as err:
            _warn_rm_fallback(err)
            cis = [rm_bonferroni_ci(beta, sig, n_pre, l_post, float(mb), alpha)[:2] for mb in grid]
            label = "RM-Bonferroni"
        for mb, (lb, ub) in zip(grid, cis, strict=True):
            rows.append(
                {
                    "term": f"Mbar={mb:g}",
                    "estimate": center,
                    "std_error": se,
                    "conf_low": lb,
                    "conf_high": ub,
                    "p_value": np.nan,
                    "method": label,
                    "M": np.nan,
                    "Mbar": mb,
                }
            )
        if label == "RM-Bonferroni":
            breakdown = rm_bonferroni_breakdown(beta, sig, n_pre, l_post, alpha, rows)
        else:
            breakdown = rm_arp_breakdown(rejects_zero, rows, grid)
    return HonestSensitivity(
        table=pd.DataFrame(rows),
        grid=grid,
        breakdown=breakdown,
        method=method,
        inference=str(rows[-1]["method"]),
    )


def _nonnegative_grid(values: object, what: str, default: np.ndarray) -> np.ndarray:
    """The M / M̄ grid: sorted unique non-negative numbers (OptionError otherwise)."""
    if values is None:
        return default
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        arr = None
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


def _outside_zero(row: dict[str, Any]) -> bool:
    return row["conf_low"] > 0 or row["conf_high"] < 0


def flci_breakdown(
    interval: Callable[[float], tuple[float, float]],
    rows: list[dict[str, Any]],
    grid: np.ndarray,
) -> float:
    """Largest M whose FLCI excludes 0: a root of the bound between the bracketing grid points."""
    if not _outside_zero(rows[0]):
        return math.nan
    ok = [_outside_zero(r) for r in rows[1:]]
    if all(ok):
        return math.inf if grid[-1] > 0 else 0.0
    first_bad = ok.index(False)
    if first_bad == 0:
        if grid[0] == 0:
            return math.nan
        lo, hi = 0.0, float(grid[0])
    else:
        lo, hi = float(grid[first_bad - 1]), float(grid[first_bad])
    positive = rows[0]["conf_low"] > 0

    def margin(mv: float) -> float:  # > 0 while the interval excludes 0
        lb, ub = interval(mv)
        return lb if positive else -ub

    if lo == hi:
        return lo
    if lo == 0.0 and margin(0.0) <= 0:
        return math.nan  # even M = 0 (exactly linear trends) does not exclude 0
    return float(optimize.brentq(margin, lo, hi, xtol=1e-7 * max(hi, 1e-12), rtol=1e-10))


def rm_arp_breakdown(
    rejects_zero: Callable[[float], bool], rows: list[dict[str, Any]], grid: np.ndarray
) -> float:
    """Largest M̄ at which the ARP test still rejects θ = 0 (bisection between grid points)."""
    if not _outside_zero(rows[0]):
        return math.nan
    ok = [_outside_zero(r) for r in rows[1:]]
    if all(ok):
        return math.inf
    first_bad = ok.index(False)
    if first_bad == 0:
        if grid[0] == 0 or not rejects_zero(0.0):
            return math.nan
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


def rm_bonferroni_breakdown(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_post: np.ndarray,
    alpha: float,
    rows: list[dict[str, Any]],
) -> float:
    """Largest M̄ whose Bonferroni ΔRM interval excludes 0 (closed form: the bound is linear)."""
    if not _outside_zero(rows[0]):
        return math.nan
    lb, ub, m_upper, spread = rm_bonferroni_ci(beta, sigma, n_pre, l_post, 1.0, alpha)
    width = m_upper * spread
    margin = 0.5 * (ub - lb) - width  # the sampling half-width at the Bonferroni level
    slack = abs(0.5 * (lb + ub)) - margin
    if slack <= 0:
        return 0.0
    return float(slack / width) if width > 0 else math.inf


# ------------------------------------------------------------------------------------------------
# result and public entry point
# ------------------------------------------------------------------------------------------------
