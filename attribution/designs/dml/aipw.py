"""Doubly robust (AIPW) means of the outcome under each combination of binary components.

With the combination of components a unit got as one multinomial treatment c ∈ {0, …, 2^k − 1}
(bit j of c = component j on, the bitmask order of `attribution.decompose`), the cross-fitted AIPW
score of cell c is

    φ_ic = μ̂_c(W_i) + 1{C_i = c} (y_i − μ̂_c(W_i)) / ê_c(W_i)

with μ̂_c the outcome model fitted on the units of cell c and ê_c the multinomial propensity, both
fitted on the other folds. The cell mean is mean(φ_·c), consistent when either model is right; its
influence function φ_ic − mean(φ_·c) gives the covariance of all cell means jointly (HC0, or CR1
summed within clusters), which is what the Shapley split needs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from sklearn.base import clone

__all__ = ["PROPENSITY_FLOOR", "CellMeans", "cell_means"]

PROPENSITY_FLOOR = 0.01
"""Propensities are clipped from below here before weighting (DoubleML's default trimming threshold
for its interactive model): a few units with near-zero propensity would otherwise dominate the
estimate and its variance. The overlap Check reports the unclipped values and how many units were
trimmed."""


@dataclasses.dataclass(frozen=True)
class CellMeans:
    means: np.ndarray  # (cells,)
    vcov: np.ndarray  # (cells, cells)
    propensity: np.ndarray  # (n, cells) out of fold
    outcome_pred: np.ndarray  # (n, cells) out-of-fold μ̂_c(W)
    scores: np.ndarray  # (n, cells) AIPW scores φ
    trimmed: int  # units whose propensity for their own combination was clipped
    df: float | None  # t reference df when clustered


def cell_means(
    y: np.ndarray,
    cell: np.ndarray,
    w: np.ndarray,
    *,
    n_cells: int,
    folds: list[tuple[np.ndarray, np.ndarray]],
    model_y: Any,
    model_t: Any,
    clusters: np.ndarray | None = None,
) -> CellMeans:
    """Cross-fitted AIPW cell means and their joint influence-function covariance."""
    n = len(y)
    prop = np.empty((n, n_cells))
    mu = np.empty((n, n_cells))
    for train, test in folds:
        m_t = clone(model_t).fit(w[train], cell[train])
        p = np.zeros((len(test), n_cells))
        p[:, np.asarray(m_t.classes_, dtype=int)] = m_t.predict_proba(w[test])
        prop[test] = p
        for c in range(n_cells):
            sel = train[cell[train] == c]
            mu[test, c] = clone(model_y).fit(w[sel], y[sel]).predict(w[test])
    onehot = cell.reshape(-1, 1) == np.arange(n_cells).reshape(1, -1)
    scores = mu + onehot * (y.reshape(-1, 1) - mu) / np.maximum(prop, PROPENSITY_FLOOR)
    trimmed = int((prop[onehot] < PROPENSITY_FLOOR).sum())
    means = scores.mean(axis=0)
    psi = scores - means
    if clusters is None:
        vcov = psi.T @ psi / n**2
        df = None
    else:
        _, codes = np.unique(clusters, return_inverse=True)
        g = int(codes.max()) + 1
        sums = np.zeros((g, n_cells))
        np.add.at(sums, codes, psi)
        vcov = g / (g - 1) * sums.T @ sums / n**2
        df = float(g - 1)
    return CellMeans(means, vcov, prop, mu, scores, trimmed, df)
