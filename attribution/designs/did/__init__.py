"""Difference-in-differences: `attribution.did`.

Staggered adoption the R `did` way (estimate the building blocks, aggregate explicitly, then plot):
``att_gt`` → ``aggte`` → ``.plot()``; two-way fixed effects, TWFE and Sun & Abraham event studies, the
plain 2×2; pre-trend tests and HonestDiD sensitivity; per-component rollouts from a launch log.
"""

from attribution.designs.did.aggregate import aggte
from attribution.designs.did.components import (
    launch_event_study,
    rollout_overlap,
    stacked_did,
)
from attribution.designs.did.fixed_effects import (
    EventStudyResult,
    PretrendTest,
    TwfeResult,
    did_2x2,
    event_study,
    pretrend_test,
    twfe,
)
from attribution.designs.did.group_time import att_gt
from attribution.designs.did.honest import HonestResult, honest_did
from attribution.designs.did.results import AggteResult, AttGtResult
from attribution.designs.did.sunab import sun_abraham

__all__ = [
    "AggteResult",
    "AttGtResult",
    "EventStudyResult",
    "HonestResult",
    "PretrendTest",
    "TwfeResult",
    "aggte",
    "att_gt",
    "did_2x2",
    "event_study",
    "honest_did",
    "launch_event_study",
    "pretrend_test",
    "rollout_overlap",
    "stacked_did",
    "sun_abraham",
    "twfe",
]
