"""Synthetic control and synthetic difference-in-differences: `attribution.synth`.

``fit`` estimates SDID (Arkhangelsky et al. 2021) with SC and DiD as comparators, for one or many treated
units and staggered adoption; ``synthetic_control`` is Abadie–Diamond–Hainmueller with predictor weights;
``conformal_interval`` gives Chernozhukov–Wüthrich–Zhu intervals; placebo tests in space and in time.

Modules, dependencies pointing one way: ``api`` (entry points) → ``request`` (checks), ``panel``
(long → wide arrays), math (``sdid``, ``inference``, ``covariates``, ``problem``, ``adh``,
``v_search``, ``placebo``, ``conformal``, ``solvers``) → ``tables`` (assembly) → ``results``;
``plots`` draws from results' data and is imported by ``results`` only inside the plot methods.
"""

from attribution.designs.synth.api import (
    conformal_interval,
    fit,
    in_space_placebo,
    in_time_placebo,
    leave_one_out,
    synthetic_control,
)
from attribution.designs.synth.results import ConformalResult, SyntheticControlResult, SynthResult

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
