"""Synthetic control and synthetic difference-in-differences: `attribution.synth`.

``fit`` estimates SDID (Arkhangelsky et al. 2021) with SC and DiD as comparators, for one or many treated
units and staggered adoption; ``synthetic_control`` is Abadie–Diamond–Hainmueller with predictor weights;
``conformal_interval`` gives Chernozhukov–Wüthrich–Zhu intervals; placebo tests in space and in time.
"""

from attribution.designs.synth.adh import SyntheticControlResult, leave_one_out, synthetic_control
from attribution.designs.synth.conformal import ConformalResult, conformal_interval
from attribution.designs.synth.estimator import fit
from attribution.designs.synth.placebo import in_space_placebo, in_time_placebo
from attribution.designs.synth.results import SynthResult

__all__ = [
    "ConformalResult",
    "SynthResult",
    "SyntheticControlResult",
    "conformal_interval",
    "fit",
    "in_space_placebo",
    "in_time_placebo",
    "leave_one_out",
    "synthetic_control",
]
