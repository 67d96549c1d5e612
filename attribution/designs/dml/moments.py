"""The final stage of partially linear double ML on out-of-fold residuals: the orthogonal moment,
its estimate, influence function and covariance (HC0, or CR1 by cluster).

With residual outcome ỹ = y − ℓ̂(W) and residual treatments t̃ = t − m̂(W), the Neyman-orthogonal
moment E[(ỹ − t̃'θ) t̃] = 0 gives θ̂ = M⁻¹ mean(t̃ ỹ), M = mean(t̃ t̃'), and the influence function
ψ_i = M⁻¹ t̃_i e_i with e = ỹ − t̃'θ̂. Var(θ̂) = mean(ψψ')/n (HC0; DoubleML's PLR variance for one
treatment). Clustered: the ψ are summed within clusters before the outer product, scaled by the
CR1 factor G/(G−1)·(n−1)/(n−k), with a t reference on G − 1 df.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from attribution.errors import EstimationError

__all__ = ["FinalStage", "final_stage"]


@dataclasses.dataclass(frozen=True)
class FinalStage:
    theta: np.ndarray  # (k,)
    vcov: np.ndarray  # (k, k)
    influence: np.ndarray  # (n, k): θ̂ − θ ≈ mean(influence)
    residual: np.ndarray  # (n,): ỹ − t̃'θ̂
    gram: np.ndarray  # (k, k): mean(t̃ t̃')
    df: float | None  # t reference df (clustered), else None (normal)
    n_clusters: int | None


def final_stage(
    y_res: np.ndarray,
    t_res: np.ndarray,
    *,
    clusters: np.ndarray | None = None,
    design: np.ndarray | None = None,
) -> FinalStage:
    """θ̂ and its covariance from residuals. `design` (n, k) replaces t̃ as the regressors (e.g.
    t̃ interacted with segment indicators) when given."""
    z = t_res if design is None else design
    n, k = z.shape
    gram = z.T @ z / n
    try:
        inv = np.linalg.inv(gram)
    except np.linalg.LinAlgError as exc:  # guarded upstream; kept for direct callers
        raise EstimationError("the residual treatments are collinear") from exc
    theta = inv @ (z.T @ y_res / n)
    e = y_res - z @ theta
    psi = (z * e[:, None]) @ inv.T
    if clusters is None:
        vcov = psi.T @ psi / n**2
        return FinalStage(theta, vcov, psi, e, gram, None, None)
    _, codes = np.unique(clusters, return_inverse=True)
    g = int(codes.max()) + 1
    sums = np.zeros((g, k))
    np.add.at(sums, codes, psi)
    scale = g / (g - 1) * (n - 1) / (n - k)
    vcov = scale * sums.T @ sums / n**2
    return FinalStage(theta, vcov, psi, e, gram, float(g - 1), g)
