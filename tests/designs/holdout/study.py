"""The many-seeds study of the launch train, vectorised: the simulator's launch draws for each seed,
then the family's math (winners_curse, shrinkage) over a leading axis of seeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from attribution.designs.holdout import shrinkage, winners_curse
from attribution.simulate.launch_train import LaunchEffects, _draw_launches

SURFACES = ("home", "search", "related")


@dataclass(frozen=True)
class Study:
    """Per seed: the true total of the shipped launches and the three estimates with their SEs."""

    truth: np.ndarray
    naive: np.ndarray
    corrected: np.ndarray
    corrected_se: np.ndarray
    shrunk: np.ndarray
    shrunk_se: np.ndarray

    def bias(self, name: str) -> tuple[float, float]:
        """(mean error over seeds, its Monte Carlo standard error)."""
        err = getattr(self, name) - self.truth
        return float(err.mean()), float(err.std(ddof=1) / np.sqrt(len(err)))

    def coverage(self, name: str, alpha: float = 0.05) -> float:
        est, se = getattr(self, name), getattr(self, f"{name}_se")
        z = stats.norm.ppf(1 - alpha / 2)
        return float(np.mean(np.abs(est - self.truth) <= z * se))


def run(seeds: range, *, n_launches: int = 30, alpha: float = 0.05) -> Study:
    frames = [
        _draw_launches(s, n_launches, SURFACES, 13, 2, 100_000, alpha, LaunchEffects())
        for s in seeds
    ]
    x = np.array([f["estimate"].to_numpy() for f in frames])
    se = np.array([f["std_error"].to_numpy() for f in frames])
    sel = np.array([f["shipped"].to_numpy(bool) for f in frames])
    true = np.array([f["true_effect"].to_numpy() for f in frames])
    surf = np.array([f["surface"].to_numpy(object) for f in frames])
    b = stats.norm.ppf(1 - alpha / 2)
    corrected = winners_curse.corrected_terms(x, se, sel, b).sum(-1)
    corrected_var = winners_curse.corrected_variance_terms(x, se, b).sum(-1)
    masks = np.stack([surf == s for s in SURFACES], axis=1)  # (seeds, surfaces, launches)
    re = shrinkage.dersimonian_laird(x[:, None, :], se[:, None, :], masks)
    shrunk, shrunk_var = shrinkage.shrunk_total(
        x[:, None, :], se[:, None, :], sel[:, None, :], re, masks
    )
    return Study(
        truth=np.where(sel, true, 0.0).sum(-1),
        naive=np.where(sel, x, 0.0).sum(-1),
        corrected=corrected,
        corrected_se=np.sqrt(corrected_var),
        shrunk=shrunk.sum(-1),
        shrunk_se=np.sqrt(shrunk_var.sum(-1)),
    )
