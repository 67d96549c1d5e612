"""The co-launch simulator: recommender-system scenarios with exact ground truth.

>>> from attribution import simulate
>>> sim = simulate.factorial_experiment(20_000, seed=1)
>>> sim.table().head(); sim.truth.effects; sim.truth.shapley

Scenarios: `factorial_experiment` (E, R, K randomised per user), `staggered_rollout` (market ×
surface panel with staggered launches), `single_market_launch` (factor-model panel for synthetic
control), `observational_exposure` (confounded continuous exposure). The model is described in
`attribution.simulate.model`.
"""

from __future__ import annotations

from attribution.simulate.factorial import factorial_experiment
from attribution.simulate.model import ComponentEffects
from attribution.simulate.truth import GroundTruth, Simulation

__all__ = [
    "ComponentEffects",
    "GroundTruth",
    "Simulation",
    "factorial_experiment",
]
