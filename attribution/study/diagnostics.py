"""Which launch-criteria diagnostic a design's check is: contract, srm, pre_trends, placebo,
refuters or other.

Designs name their checks in plain words (`Check.name`); the launch criteria speak of five
families. The mapping is by name, kept here in one place next to the names the designs emit:
``data contract <name> v<version>`` (contract reports), ``SRM <factor>`` / ``SRM joint cells``
(factorial), ``pre-trend test`` (DiD) and ``pre-period fit`` (synthetic control: the pre-launch
fit is that design's test of its counterfactual), ``in-space placebo`` / ``conformal sharp null``
(synthetic control), ``refuter: ...`` (the causal graph's refuters). Everything else (effective
donors, propensity overlap, rollout overlap, the HonestDiD breakdown value, heterogeneity, nuisance
fit) is ``other``: reported, and a failure downgrades a decision only when the criteria list
``other``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from attribution.results import Check

__all__ = ["DIAGNOSTICS", "Diagnostic", "classify_check", "failed_diagnostics", "what_failed"]

Diagnostic = Literal["contract", "srm", "pre_trends", "placebo", "refuters", "other"]
DIAGNOSTICS: tuple[str, ...] = ("contract", "srm", "pre_trends", "placebo", "refuters", "other")

_WHAT_FAILED = {
    "contract": "the data failed its contract",
    "srm": "the sample-ratio check failed, so assignment was not as intended",
    "pre_trends": "the pre-launch check failed, so the design's comparison did not track the "
    "launched units before launch",
    "placebo": "a placebo check failed",
    "refuters": "a refuter failed, so the estimate is sensitive to what should not move it",
    "other": "a design check failed",
}


def classify_check(name: str) -> str:
    """The diagnostic family of a check, from its name (see the module docstring)."""
    low = name.strip().lower()
    if low.startswith("data contract"):
        return "contract"
    if low.startswith("srm") or "sample ratio" in low or "sample-ratio" in low:
        return "srm"
    if low.startswith("refuter"):
        return "refuters"
    if low.startswith(("pre-trend", "pretrend", "pre-period fit", "parallel trends")):
        return "pre_trends"
    if "placebo" in low or low.startswith("conformal"):
        return "placebo"
    return "other"


def failed_diagnostics(checks: Iterable[Check]) -> dict[str, list[Check]]:
    """The failed checks (``passed is False``) by family, families in `DIAGNOSTICS` order."""
    out: dict[str, list[Check]] = {}
    for c in checks:
        if c.passed is False:
            out.setdefault(classify_check(c.name), []).append(c)
    return {k: out[k] for k in DIAGNOSTICS if k in out}


def what_failed(family: str) -> str:
    """A plain clause saying what a failure of this family means."""
    return _WHAT_FAILED[family]
