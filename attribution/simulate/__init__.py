"""The co-launch simulator: recommender-system scenarios with exact ground truth.

>>> from attribution import simulate
>>> sim = simulate.factorial_experiment(20_000, seed=1)
>>> sim.table().head(); sim.truth.effects; sim.truth.shapley

Scenarios: `factorial_experiment` (E, R, K randomised per user), `staggered_rollout` (market ×
surface panel with staggered launches; `components=("K",)` for a single-treatment panel),
`single_market_launch` (factor-model panel for synthetic control), `observational_exposure`
(confounded continuous exposure), `launch_train` (a quarter of launches shipped on their own A/B
tests, with a global holdout). The recommender model is described in
`attribution.simulate.model`.
"""

from __future__ import annotations

from attribution.simulate.factorial import factorial_experiment, factorial_truth
from attribution.simulate.launch_train import LaunchEffects, launch_train
from attribution.simulate.model import ComponentEffects
from attribution.simulate.observational import observational_exposure
from attribution.simulate.panels import single_market_launch, staggered_rollout
from attribution.simulate.truth import GroundTruth, Simulation

__all__ = [
    "ComponentEffects",
    "GroundTruth",
    "LaunchEffects",
    "Simulation",
    "factorial_experiment",
    "factorial_truth",
    "launch_train",
    "observational_exposure",
    "single_market_launch",
    "staggered_rollout",
]
