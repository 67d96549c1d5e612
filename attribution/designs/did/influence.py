"""Influence-function representations of Callaway & Sant'Anna estimates (what aggte needs from att_gt).

Both classes hold the influence functions of K estimates (att_gt cells, or aggregations of them)
on R `did`'s scale: estimate - truth ≈ mean_i IF_i over all n units, so Var = Σ_i IF_i IF_i' / n².
`combine` maps them linearly, IF_new = A IF + w_i U[cohort_i] + v, which covers every aggregation
of R `did`'s aggte including the terms for estimated cohort-share weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attribution.designs.did.stats import CohortMoments

__all__ = ["AffineInfluence", "Influence", "UnitInfluence"]


@dataclass(frozen=True)
class AffineInfluence:
    """IF_i = M[h_i] @ z_i for unit i in cohort h_i, with the cohort moments of z (no unit rows)."""

    M: np.ndarray  # (H, K, D)
    moments: CohortMoments

    @property
    def n(self) -> int:
        return self.moments.n

    @property
    def cohorts(self) -> np.ndarray:
        return self.moments.cohorts

    @property
    def cohort_weight(self) -> np.ndarray:
        """Share of the (weighted) units in each cohort: R `did`'s pg = mean(w 1{G = g})."""
        w = self.moments.first[:, self.moments.col_unit_w]
        return w / w.sum()

    @property
    def mean_weight(self) -> float:
        return float(self.moments.first[:, self.moments.col_unit_w].sum() / self.n)

    def combine(
        self, A: np.ndarray, U: np.ndarray | None = None, v: np.ndarray | None = None
    ) -> AffineInfluence:
        M = np.matmul(A, self.M)  # (J, K) @ (H, K, D) -> (H, J, D)
        if U is not None:  # U is per normalised weight w_i / mean(w)
            M[:, :, self.moments.col_unit_w] += U / self.mean_weight
        if v is not None:
            M[:, :, self.moments.col_one] += v[None, :]
        return AffineInfluence(M=M, moments=self.moments)

    def cluster_means(self) -> np.ndarray | None:
        """(C, K) mean influence function of each cluster (None without clusters)."""
        m = self.moments
        if m.cluster_first is None:
            return None
        S = np.einsum("hkd,chd->ck", self.M, m.cluster_first)
        return S / m.cluster_units[:, None]

    def vcov(self, *, cluster: bool = False) -> np.ndarray:
        """Var of the estimates: Σ_i IF_i IF_i' / n², or R `did`'s cluster version (see `att_gt`)."""
        bar = self.cluster_means() if cluster else None
        if bar is not None:
            return bar.T @ bar / bar.shape[0] ** 2
        m = self.moments
        V = np.zeros((self.M.shape[1], self.M.shape[1]))
        for Mh, Zh in zip(self.M, m.second, strict=True):
            V += (Mh @ Zh) @ Mh.T
        return V / self.n**2


@dataclass(frozen=True)
class UnitInfluence:
    """Explicit unit-level influence functions (the covariate path, where the data were pulled)."""

    IF: np.ndarray  # (n, K)
    cohort_index: np.ndarray  # (n,) index into `cohorts`
    cohorts: np.ndarray  # (H,)
    weights: np.ndarray  # (n,) unit weights (raw)
    cluster: np.ndarray | None = None  # (n,) cluster codes

    @property
    def n(self) -> int:
        return int(self.IF.shape[0])

    @property
    def cohort_weight(self) -> np.ndarray:
        w = np.bincount(self.cohort_index, weights=self.weights, minlength=len(self.cohorts))
        return w / w.sum()

    def combine(
        self, A: np.ndarray, U: np.ndarray | None = None, v: np.ndarray | None = None
    ) -> UnitInfluence:
        IF = self.IF @ A.T
        if U is not None:
            wn = self.weights / self.weights.mean()
            IF = IF + wn[:, None] * U[self.cohort_index]
        if v is not None:
            IF = IF + v[None, :]
        return UnitInfluence(
            IF=IF,
            cohort_index=self.cohort_index,
            cohorts=self.cohorts,
            weights=self.weights,
            cluster=self.cluster,
        )

    def cluster_means(self) -> np.ndarray | None:
        """(C, K) mean influence function of each cluster (None without clusters)."""
        if self.cluster is None:
            return None
        codes, inv = np.unique(self.cluster, return_inverse=True)
        counts = np.bincount(inv).astype(float)
        S = np.zeros((len(codes), self.IF.shape[1]))
        np.add.at(S, inv, self.IF)
        return S / counts[:, None]

    def vcov(self, *, cluster: bool = False) -> np.ndarray:
        bar = self.cluster_means() if cluster else None
        if bar is not None:
            return bar.T @ bar / bar.shape[0] ** 2
        return self.IF.T @ self.IF / self.n**2


Influence = AffineInfluence | UnitInfluence
