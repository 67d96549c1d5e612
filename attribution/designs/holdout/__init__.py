"""Launch trains and holdouts: the cumulative impact of shipped launches (the sum of their wins
corrected for the winner's curse, and shrunk) beside what a long-running holdout measured."""

from attribution.designs.holdout.api import cumulative_impact, holdout_readout
from attribution.designs.holdout.results import CumulativeImpactResult, HoldoutReadoutResult

__all__ = [
    "CumulativeImpactResult",
    "HoldoutReadoutResult",
    "cumulative_impact",
    "holdout_readout",
]
