"""Always-valid inference for a difference in means monitored look after look.

Both methods use the normal-mixture boundary of Robbins (1970). With the estimate θ̂_k at look k,
its variance V_k, and r_k = (mixing variance) / V_k, the mixture likelihood ratio against θ = θ0 is

    Λ_k(θ0) = sqrt(1 / (1 + r_k)) · exp( r_k (θ̂_k − θ0)² / (2 V_k (1 + r_k)) ),

so the always-valid p-value is p_k = min(1, 1 / Λ_k(0)) (running minimum over looks) and the
always-valid (1 − alpha) interval is θ̂_k ± sqrt( V_k (1 + 1/r_k) (log(1 + r_k) + 2 log(1/alpha)) ).
By Ville's inequality the probability that the null is ever rejected, at any look, stopping
whenever one likes, is at most alpha, and the intervals cover the effect at every look at once with
probability at least 1 − alpha. Each look reports its own interval: the running intersection is
valid too and narrower, but it can exclude the look's own estimate, and it is always wider than the
fixed-sample interval of the same look (the half-width factor exceeds sqrt(2 log(1/alpha)) > z).

- **mSPRT** (Johari, Koomen, Pekelis & Walsh 2017; Johari, Pekelis & Walsh 2022, "Always valid
  inference"): the mixing distribution N(θ0, τ²) is fixed in the units of the effect, r_k = τ² / V_k.
- **Asymptotic confidence sequence** (Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas 2023,
  "Time-uniform central limit theory and asymptotic confidence sequences", Gaussian-mixture
  boundary): the mixture scale follows the estimated unit-level variance σ̂²_k = n_k V_k,
  r_k = ρ² n_k, so the sequence is valid asymptotically for any distribution with finite variance.
  ρ is tuned so the interval is narrowest at a target sample size n*:
  ρ² = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) / n*.

The default mSPRT mixing variance uses the same optimum at the last look given (the planned
horizon): τ² = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) · V_K. When monitoring live, fix `tau2`
(or the confidence sequence's `horizon`) in advance from the plan, so a later look cannot change the
mixture used at an earlier one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["always_valid", "decisions", "optimal_ratio"]


def optimal_ratio(alpha: float) -> float:
    """The r = (mixing variance) / V at which the mixture interval is narrowest (Waudby-Smith et
    al. 2023, section on tuning): 2 log(1/alpha) + log(1 + 2 log(1/alpha))."""
    two_l = -2.0 * np.log(alpha)
    return float(two_l + np.log1p(two_l))


def always_valid(
    estimates: np.ndarray, variances: np.ndarray, ratio: np.ndarray, *, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Always-valid (lower, upper) of each look and the running-minimum p-value, looks on the
    last axis.

    `ratio` is r_k = mixing variance / V_k per look (broadcast against the estimates). Works on
    (experiments × looks) arrays too, which is how the simulation study calls it.
    """
    est = np.asarray(estimates, dtype=float)
    var = np.asarray(variances, dtype=float)
    r = np.broadcast_to(np.asarray(ratio, dtype=float), est.shape)
    log_a = np.log(1.0 / alpha)
    half = np.sqrt(var * (1.0 + 1.0 / r) * (np.log1p(r) + 2.0 * log_a))
    z2 = est**2 / var
    log_p = 0.5 * np.log1p(r) - r * z2 / (2.0 * (1.0 + r))
    p = np.minimum.accumulate(np.minimum(np.exp(log_p), 1.0), axis=-1)
    return est - half, est + half, p


def decisions(
    estimates: np.ndarray, p_values: np.ndarray, *, alpha: float, better: int = 1
) -> np.ndarray:
    """Per look "continue", "stop for efficacy" or "stop for harm" (1-D, looks in order).

    The first look whose always-valid p-value is ≤ alpha stops the experiment; its estimate's sign
    against the metric's better direction (`better` = +1 when an increase is good) says efficacy or
    harm, and later looks keep that decision.
    """
    est = np.asarray(estimates, dtype=float)
    p = np.asarray(p_values, dtype=float)
    out = np.full(est.shape, "continue", dtype=object)
    crossed = np.flatnonzero(p <= alpha)
    if crossed.size:
        k = int(crossed[0])
        out[k:] = "stop for efficacy" if est[k] * better > 0 else "stop for harm"
    return out
