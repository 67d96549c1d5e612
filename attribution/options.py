"""Option vocabularies (Literal types) and the one place they are checked."""

from __future__ import annotations

from typing import Any, Literal, get_args

from attribution.errors import OptionError

__all__ = [
    "AggType",
    "BasePeriod",
    "ControlGroup",
    "EstMethod",
    "HonestInference",
    "HonestMethod",
    "LaunchMethod",
    "Permutation",
    "PlotKind",
    "SaControl",
    "SeMethod",
    "SynthMethod",
    "Vcov",
    "check_alpha",
    "check_option",
]

Vcov = Literal["HC0", "HC1", "HC2", "HC3", "CR1", "iid"]
ControlGroup = Literal["nevertreated", "notyettreated"]
EstMethod = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]
AggType = Literal["simple", "dynamic", "group", "calendar"]
SynthMethod = Literal["sdid", "sc", "did"]
SeMethod = Literal["placebo", "jackknife", "bootstrap"]
SaControl = Literal["never", "last"]
HonestMethod = Literal["smoothness", "relative_magnitudes"]
HonestInference = Literal["FLCI", "C-LF", "Conditional"]  # FLCI: smoothness; C-LF, Conditional: RM
LaunchMethod = Literal["cs", "sun_abraham"]
PlotKind = Literal["trajectory", "gap", "weights", "leave_one_out"]
Permutation = Literal["moving_block", "iid"]


def check_option(name: str, value: Any, vocabulary: Any) -> Any:
    """Return `value` if it is one of `vocabulary`'s values (a Literal type or a tuple), else raise
    OptionError naming the argument, the value and what is allowed."""
    allowed = vocabulary if isinstance(vocabulary, tuple) else get_args(vocabulary)
    if not isinstance(value, str | int | float | bool | None) or value not in allowed:
        raise OptionError(
            f"{name}={value!r} is not a valid option",
            fix=f"use one of {', '.join(repr(a) for a in allowed)}",
        )
    return value


def check_alpha(alpha: float) -> float:
    """Significance level strictly between 0 and 1."""
    try:
        ok = 0.0 < float(alpha) < 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OptionError(f"alpha={alpha!r} must be a number strictly between 0 and 1")
    return float(alpha)
