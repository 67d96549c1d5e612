"""Group-sequential boundaries: the joint distribution of the looks by recursive numerical integration.

At information fractions t_1 < ... < t_K the standardised statistics Z_k = S(t_k) / sqrt(t_k) of a
Brownian motion S with drift δ have independent increments S_k − S_{k−1} ~ N(δ Δ_k, Δ_k) (the
canonical joint distribution, Jennison & Turnbull 2000, ch. 3). The probability of stopping at each
look is computed by the recursion of Armitage, McPherson & Rowe (1969) as laid out in Jennison &
Turnbull ch. 19: the sub-density of Z_k on the continuation region is carried from look to look,
here on Gauss–Legendre nodes of each region (the integrands are smooth there, so the rule
converges fast; regions are cut 12 standard deviations from the mean, which loses < 1e-30).

Boundaries:
- classical O'Brien & Fleming (1979): c_k = C / sqrt(t_k); Pocock (1977): c_k = C; C solved so
  that the two-sided crossing probability under the null is alpha;
- Lan & DeMets (1983) alpha spending: c_k solved look by look so that the crossing probability at
  look k is alpha(t_k) − alpha(t_{k−1}). Each side of the two-sided test spends half of alpha with
  the one-sided spending function of level a = α/2: O'Brien–Fleming type
  a(t) = 2 − 2 Φ(z_{1−a/2} / sqrt(t)), Pocock type a(t) = a log(1 + (e − 1) t) (the convention of
  DeMets & Lan 1994, gsDesign's sfLDOF / sfLDPocock and rpact; with it 5 equal looks at α = 0.05
  give 4.877, 3.357, 2.680, 2.290, 2.031);
- futility (non-binding, beta spending as in gsDesign): see `futility_bounds`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "Stage",
    "classical_bounds",
    "crossing_probabilities",
    "futility_bounds",
    "spending",
    "spending_bounds",
    "two_sided_spending",
]

CUT = 12.0
"""Continuation regions are cut this many standard deviations around the mean of Z_k."""
NODES_PER_UNIT = 24
"""Gauss–Legendre nodes per unit of z (at least 48 per region): crossing probabilities to ~1e-12."""


@dataclass(frozen=True)
class Stage:
    """Probabilities of one look: crossing above the upper bound, below the lower bound."""

    upper: float
    lower: float


@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _nodes(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    n = max(48, int(np.ceil((hi - lo) * NODES_PER_UNIT)))
    x, w = _legendre(n)
    half = (hi - lo) / 2
    return lo + half * (x + 1), w * half


def _log_sf(x: np.ndarray) -> np.ndarray:
    return special.log_ndtr(-x)


class _Recursion:
    """The sub-density of Z_k on the continuation region, carried look by look."""

    def __init__(self, fractions: np.ndarray, drift: float) -> None:
        self.t = np.asarray(fractions, dtype=float)
        self.drift = float(drift)
        self.z: np.ndarray | None = None  # nodes of the last continuation region
        self.dens: np.ndarray | None = None  # density × quadrature weight at those nodes
        self.k = 0

    def _mean(self, k: int) -> float:
        return self.drift * np.sqrt(self.t[k])

    def cross(self, k: int, hi: float, lo: float) -> Stage:
        """Probability of reaching look k (not stopped before) and crossing above hi / below lo."""
        if k == 0:
            m = self._mean(0)
            up = special.ndtr(m - hi) if np.isfinite(hi) else 0.0
            dn = special.ndtr(lo - m) if np.isfinite(lo) else 0.0
            return Stage(float(up), float(dn))
        prev_t, t = self.t[k - 1], self.t[k]
        delta = t - prev_t
        loc = self.z * np.sqrt(prev_t) + self.drift * delta
        sd = np.sqrt(delta)
        up = self.dens @ special.ndtr((loc - hi * np.sqrt(t)) / sd) if np.isfinite(hi) else 0.0
        dn = self.dens @ special.ndtr((lo * np.sqrt(t) - loc) / sd) if np.isfinite(lo) else 0.0
        return Stage(float(up), float(dn))

    def advance(self, k: int, hi: float, lo: float) -> None:
        """Move to look k: the sub-density of Z_k on (lo, hi), given not stopped before."""
        m = self._mean(k)
        a, b = max(lo, m - CUT), min(hi, m + CUT)
        if b <= a:  # nothing continues
            self.z, self.dens = np.array([0.0]), np.array([0.0])
            return
        z, w = _nodes(a, b)
        if k == 0:
            dens = stats.norm.pdf(z - m) * w
        else:
            prev_t, t = self.t[k - 1], self.t[k]
            delta = t - prev_t
            sd = np.sqrt(delta)
            loc = self.z * np.sqrt(prev_t) + self.drift * delta
            kern = stats.norm.pdf((z[:, None] * np.sqrt(t) - loc[None, :]) / sd) * np.sqrt(t) / sd
            dens = (kern @ self.dens) * w
        self.z, self.dens = z, dens


def crossing_probabilities(
    fractions: np.ndarray, upper: np.ndarray, lower: np.ndarray, *, drift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per look, P(first stop is a crossing above `upper`) and P(... below `lower`) for Z_k with
    mean `drift` · sqrt(t_k); bounds may be ±inf (no stopping on that side)."""
    rec = _Recursion(fractions, drift)
    ups, downs = [], []
    for k in range(len(fractions)):
        s = rec.cross(k, upper[k], lower[k])
        ups.append(s.upper)
        downs.append(s.lower)
        if k < len(fractions) - 1:
            rec.advance(k, upper[k], lower[k])
    return np.array(ups), np.array(downs)


def spending(t: np.ndarray, level: float, kind: str) -> np.ndarray:
    """Cumulative one-sided error spent at information fractions t out of `level`:
    "obrien_fleming" type 2 − 2 Φ(z_{1−level/2} / sqrt(t)) or "pocock" type
    level · log(1 + (e − 1) t) (Lan & DeMets 1983)."""
    t = np.asarray(t, dtype=float)
    if kind == "obrien_fleming":
        with np.errstate(divide="ignore"):
            return 2.0 * special.ndtr(-stats.norm.ppf(1 - level / 2) / np.sqrt(t))
    return level * np.log1p((np.e - 1.0) * t)


def two_sided_spending(t: np.ndarray, alpha: float, kind: str) -> np.ndarray:
    """Cumulative two-sided alpha spent: each side spends the one-sided function of level α/2."""
    return 2.0 * spending(t, alpha / 2, kind)


def classical_bounds(fractions: np.ndarray, alpha: float, kind: str) -> np.ndarray:
    """Two-sided O'Brien–Fleming (c_k = C / sqrt(t_k)) or Pocock (c_k = C) boundaries at level
    alpha: C solved so that the null crossing probability of |Z_k| ≥ c_k at some look is alpha."""
    t = np.asarray(fractions, dtype=float)
    shape = 1.0 / np.sqrt(t) if kind == "obrien_fleming" else np.ones_like(t)

    def gap(c: float) -> float:
        up, dn = crossing_probabilities(t, c * shape, -c * shape)
        return float(up.sum() + dn.sum()) - alpha

    lo = stats.norm.ppf(1 - alpha / 2) * float(shape.min()) / float(shape[-1]) * 0.5
    hi = stats.norm.ppf(1 - alpha / (2 * len(t)))
    c = optimize.brentq(gap, lo, hi, xtol=1e-12, rtol=1e-14)
    return c * shape


def spending_bounds(fractions: np.ndarray, alpha: float, kind: str) -> np.ndarray:
    """Two-sided Lan–DeMets boundaries: look k spends alpha(t_k) − alpha(t_{k−1})."""
    t = np.asarray(fractions, dtype=float)
    spent = two_sided_spending(t, alpha, kind)
    increments = np.diff(np.concatenate([[0.0], spent]))
    bounds = np.full(t.size, np.inf)
    rec = _Recursion(t, 0.0)
    for k in range(t.size):
        target = increments[k]
        if target > 1e-300:
            if k == 0:
                bounds[0] = -special.ndtri(target / 2)
            else:

                def gap(c: float, k: int = k, target: float = target) -> float:
                    s = rec.cross(k, c, -c)
                    return np.log(max(s.upper + s.lower, 1e-320)) - np.log(target)

                bounds[k] = optimize.brentq(gap, 0.0, 40.0, xtol=1e-12, rtol=1e-14)
        if k < t.size - 1:
            rec.advance(k, bounds[k], -bounds[k])
    return bounds


def futility_bounds(
    fractions: np.ndarray, efficacy: np.ndarray, *, alpha: float, power: float, kind: str
) -> tuple[np.ndarray, float]:
    """Non-binding futility bounds by beta spending, and the drift they are designed for.

    Z_k > 0 favours the treatment. Under the drift δ (E[Z] at t = 1), look k stops for futility
    when Z_k < f_k, f_k spending beta(t_k) − beta(t_{k−1}) of beta = 1 − power (same spending
    family as the efficacy bound); δ is solved so that the total type II error, P_δ(never crossing
    the upper efficacy bound), is beta — then f_K = c_K, the bounds meet at the last look (the
    gsDesign construction). Non-binding: the efficacy bounds ignore the futility bounds, so alpha
    holds whether or not a trial stops when it crosses one. Returns (f, δ).
    """
    t = np.asarray(fractions, dtype=float)
    c = np.asarray(efficacy, dtype=float)
    beta = 1.0 - power
    beta_inc = np.diff(np.concatenate([[0.0], spending(t, beta, kind)]))

    def design(drift: float) -> tuple[np.ndarray, float]:
        rec = _Recursion(t, drift)
        f = np.empty(t.size)
        type2 = 0.0
        for k in range(t.size):
            if k == t.size - 1:
                s = rec.cross(k, c[k], -np.inf)
                reach = float(rec.dens.sum()) if k else 1.0
                type2 += reach - s.upper
                f[k] = c[k]
                break
            target = beta_inc[k]
            lo_eff = -c[k]

            def below(x: float, k: int = k) -> float:
                return rec.cross(k, np.inf, x).lower

            if below(c[k]) <= target:  # the bounds meet early: stop either way
                f[k] = c[k]
            elif target <= 1e-300:
                f[k] = lo_eff
            else:
                f[k] = optimize.brentq(
                    lambda x, target=target: np.log(max(below(x), 1e-320)) - np.log(target),
                    -40.0,
                    c[k],
                    xtol=1e-12,
                )
            f[k] = max(f[k], lo_eff)
            type2 += below(f[k])
            rec.advance(k, c[k], f[k])
        return f, type2

    def gap(drift: float) -> float:
        return design(drift)[1] - beta

    drift = optimize.brentq(gap, 0.0, 20.0, xtol=1e-12)
    return design(drift)[0], float(drift)
