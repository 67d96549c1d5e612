"""Online A/B experiments: metrics, sufficient statistics in the engine, lifts, decisions."""

from attribution.designs.experiment.api import decompose_lift, experiment
from attribution.designs.experiment.results import ExperimentResult, LiftDecomposition

__all__ = ["ExperimentResult", "LiftDecomposition", "decompose_lift", "experiment"]
