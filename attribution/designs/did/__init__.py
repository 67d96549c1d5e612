"""Difference-in-differences: `attribution.did`.

Staggered adoption the R `did` way (estimate the building blocks, aggregate explicitly, then plot):
``att_gt`` → ``aggte`` → ``.plot()``; two-way fixed effects, TWFE and Sun & Abraham event studies, the
plain 2×2; pre-trend tests and HonestDiD sensitivity; per-component rollouts from a launch log.

Layout: ``api.py`` (these entry points) → ``request.py`` (checks) / ``stats.py`` (engine
aggregates) / math modules (``group_time``, ``aggregate``, ``influence``, ``drdid``,
``fixed_effects``, ``sunab``, ``honest``, ``launch_log``) → ``results.py`` (every result type).
"""

from __future__ import annotations

import warnings
from typing import Any

from attribution.designs.did.api import (
    aggte,
    att_gt,
    did_2x2,
    event_study,
    honest_did,
    launch_event_study,
    pretrend_test,
    rollout_overlap,
    stacked_did,
    sun_abraham,
    twfe,
)
from attribution.designs.did.results import (
    AggteResult,
    AttGtResult,
    EventStudyResult,
    HonestResult,
    OverlapReport,
    TwfeResult,
)

__all__ = [
    "AggteResult",
    "AttGtResult",
    "EventStudyResult",
    "HonestResult",
    "OverlapReport",
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


def __getattr__(name: str) -> Any:
    if name == "PretrendTest":  # pretrend_test returns a Check now
        warnings.warn(
            "attribution.did.PretrendTest is deprecated: pretrend_test() returns an "
            "attribution.Check (statistic, df, p_value, passed)",
            DeprecationWarning,
            stacklevel=2,
        )
        from attribution.results import Check

        return Check
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
