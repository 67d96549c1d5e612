"""Log-additive decomposition of a lift, with delta-method SEs from the joint covariance.

Columns c0 … ck (per-unit sums) with per-arm means μ0 … μk:

- a *product* metric: mean(ck) = μ0 × (μ1/μ0) × … × (μk/μk−1), so
  log(μk,T/μk,C) = log(μ0,T/μ0,C) + Σ_i log((μi/μi−1)_T / (μi/μi−1)_C) exactly;
- a *ratio* metric Σnum/Σden (chain [den, num]): log lift = log(μnum,T/μnum,C) − log(μden,T/μden,C),
  the numerator's movement and the denominator's (inverted) movement.

Each piece is a smooth function of one arm's means (minus the same of the other arm); its gradient
g gives var = gᵀ C g / n per arm (C the unit covariance), and the arms add. The pieces share
the covariance C, so their SEs do not add; the total's SE comes from its own gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attribution.designs.experiment.delta import ArmStats

__all__ = ["LogLiftPieces", "log_lift_pieces", "piece_gradients"]


@dataclass(frozen=True)
class LogLiftPieces:
    kind: str
    estimate: np.ndarray
    std_error: np.ndarray
    total: float
    total_se: float
    cov: np.ndarray
    """Covariance of the pieces (pieces × pieces)."""

    def names(self, chain: Sequence[str]) -> list[str]:
        if self.kind == "ratio":
            return [f"{chain[1]} (numerator)", f"{chain[0]} (denominator, inverted)"]
        return [f"{chain[0]} per unit"] + [
            f"{chain[i]} per {chain[i - 1]}" for i in range(1, len(chain))
        ]


def piece_gradients(mu: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log pieces, their gradients (pieces × d), gradient of the log total) for one arm."""
    d = len(mu)
    e = np.eye(d)
    if kind == "ratio":  # chain [den, num]: pieces log μnum and −log μden
        vals = np.array([np.log(mu[1]), -np.log(mu[0])])
        grads = np.stack([e[1] / mu[1], -e[0] / mu[0]])
        total = e[1] / mu[1] - e[0] / mu[0]
        return vals, grads, total
    vals = np.array([np.log(mu[0])] + [np.log(mu[i] / mu[i - 1]) for i in range(1, d)])
    grads = np.stack([e[0] / mu[0]] + [e[i] / mu[i] - e[i - 1] / mu[i - 1] for i in range(1, d)])
    return vals, grads, e[d - 1] / mu[d - 1]


def log_lift_pieces(st: ArmStats, *, treatment: int, control: int, kind: str) -> LogLiftPieces:
    """The pieces of log(metric_T / metric_C) between two rows of `st` with their covariance."""
    out = []
    cov = 0.0
    tvar = 0.0
    for r in (treatment, control):
        vals, grads, total = piece_gradients(st.mean[r], kind)
        out.append(vals)
        cov = cov + grads @ st.cov[r] @ grads.T / st.n[r]
        tvar = tvar + float(total @ st.cov[r] @ total) / st.n[r]
    est = out[0] - out[1]
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(cov))
    if kind == "ratio":
        mt, mc = st.mean[treatment], st.mean[control]
        total_est = float(np.log((mt[1] / mt[0]) / (mc[1] / mc[0])))
    else:
        total_est = float(np.log(st.mean[treatment][-1] / st.mean[control][-1]))
    return LogLiftPieces(
        kind=kind,
        estimate=est,
        std_error=se,
        total=total_est,
        total_se=float(np.sqrt(tvar)),
        cov=np.asarray(cov),
    )
