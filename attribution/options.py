"""Option vocabularies (Literal types) and the one place they are checked."""

from __future__ import annotations

from typing import Any, Literal, get_args

from attribution.errors import OptionError

__all__ = [
    "AggType",
    "BasePeriod",
    "BoundaryMethod",
    "ControlGroup",
    "EstMethod",
    "FeVcov",
    "Futility",
    "HonestInference",
    "HonestMethod",
    "ImpactMethod",
    "Jackknife",
    "LaunchMethod",
    "LiftInterval",
    "MonitorMethod",
    "PAdjustMethod",
    "Permutation",
    "PlotKind",
    "SaControl",
    "SeMethod",
    "SimultaneousMethod",
    "SynthMethod",
    "VMethod",
    "Vcov",
    "ZeroDenominator",
    "check_alpha",
    "check_bool",
    "check_float",
    "check_int",
    "check_option",
    "check_seed",
    "plain",
]

Vcov = Literal["HC0", "HC1", "HC2", "HC3", "CR1", "iid"]
ControlGroup = Literal["nevertreated", "notyettreated", "lasttreated"]
"""DiD comparison groups; each DiD function accepts the subset it supports (R `did` / fixest names)."""
FeVcov = Literal["CR1", "HC1", "iid"]
"""Covariances of the fixed-effects DiD regressions (twfe, event_study, sun_abraham, did_2x2)."""
EstMethod = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]
OnSeparation = Literal["na", "raise"]
"""att_gt with covariates when a cell's propensity logit is separated: NA cell (R `did`) or error."""
AggType = Literal["simple", "dynamic", "group", "calendar"]
SynthMethod = Literal["sdid", "sc", "did"]
SeMethod = Literal["placebo", "jackknife", "bootstrap"]
Jackknife = Literal["stata", "fixed_weights"]
"""Staggered SDID jackknife: cohort weights recomputed per replicate (Stata sdid) or held fixed."""
SaControl = Literal["never", "last"]
"""Deprecated: sun_abraham(control=...); use control_group="nevertreated" / "lasttreated"."""
HonestMethod = Literal["smoothness", "relative_magnitudes"]
HonestInference = Literal["FLCI", "C-LF", "Conditional"]  # FLCI: smoothness; C-LF, Conditional: RM
LaunchMethod = Literal["cs", "sun_abraham"]
PlotKind = Literal["trajectory", "gap", "weights", "leave_one_out"]
Permutation = Literal["moving_block", "iid"]
ImpactMethod = Literal["winners_curse", "shrinkage"]
"""cumulative_impact's headline: the Lee & Shen (2018) corrected sum, or the empirical-Bayes one."""
ZeroDenominator = Literal["raise", "keep"]
"""A `Ratio` metric's units whose denominator total is 0: a typed error (default), or kept as
randomised units (they count in n and add nothing to either sum). A nonzero numerator over a zero
denominator is an error either way."""
LiftInterval = Literal["delta", "fieller"]
"""Interval of a relative lift: delta method on the log ratio of means, or Fieller's."""
VMethod = Literal["pre_period", "cross_validation"]
"""ADH predictor weights V: chosen on the pre-period MSPE, or cross-validated (ADH 2015)."""
PAdjustMethod = Literal["bonferroni", "holm", "hochberg", "sidak", "bh", "by", "none"]
"""Multiple-testing adjustments (statsmodels `multipletests` names: fdr_bh → "bh", fdr_by → "by")."""
SimultaneousMethod = Literal["max_t", "bonferroni", "sidak"]
"""Simultaneous intervals: single-step max-t from the joint covariance, or the two bounds."""
BoundaryMethod = Literal[
    "obrien_fleming", "pocock", "lan_demets_obrien_fleming", "lan_demets_pocock"
]
"""Group-sequential efficacy boundaries: classical (planned looks) or Lan-DeMets alpha spending."""
Futility = Literal["beta_spending"]
"""Futility bounds: non-binding, by beta spending in the efficacy bound's family (sequential.boundaries)."""
MonitorMethod = Literal["msprt", "confidence_sequence"]
"""Always-valid monitoring: mixture SPRT (Johari et al.) or asymptotic confidence sequence."""


def check_option(name: str, value: Any, vocabulary: Any) -> Any:
    """Return `value` if it is one of `vocabulary`'s values (a Literal type or a tuple), else raise
    OptionError naming the argument, the value and what is allowed."""
    allowed = vocabulary if isinstance(vocabulary, tuple) else get_args(vocabulary)
    if not isinstance(value, str | int | float | bool | None) or value not in allowed:
        raise OptionError(
            f"{name}={plain(value)} is not a valid option",
            fix=f"use one of {', '.join(repr(a) for a in allowed)}",
        )
    return value


def check_alpha(alpha: Any) -> float:
    """Significance level strictly between 0 and 1 (a number: '0.05' is refused)."""
    return check_float("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)


# ------------------------------------------------------------------------------------------------
# scalar options: one checker per kind of value, each naming the argument, the value and what is
# allowed. Booleans are refused where a number is meant (True is an int in Python).
# ------------------------------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer (not a bool, not 1.5, not '3') within [minimum, maximum]."""
    ok = _is_int(value)
    if ok:
        value = int(value)
        ok = (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        bounds = []
        if minimum is not None:
            bounds.append(f">= {minimum}")
        if maximum is not None:
            bounds.append(f"<= {maximum}")
        raise OptionError(
            f"{name}={plain(value)} is not valid",
            fix=f"{name} must be an integer" + (f" {' and '.join(bounds)}" if bounds else ""),
        )
    return value


def check_seed(value: Any, *, name: str = "seed") -> int:
    """A seed for numpy's generators: an integer in [0, 2**63)."""
    return check_int(name, value, minimum=0, maximum=2**63 - 1)


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (not a string, not a bool) within the given bounds."""
    import math

    ok = _is_real(value) and math.isfinite(float(value))
    if ok:
        v = float(value)
        if low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise OptionError(
            f"{name}={plain(value)} is not valid",
            fix=f"{name} must be a finite number" + (f" {bounds}" if bounds else ""),
        )
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """True or False (numpy bools accepted; 0/1 and strings are not)."""
    import numpy as np

    if not isinstance(value, bool | np.bool_):
        raise OptionError(
            f"{name}={plain(value)} is not valid", fix=f"{name} must be True or False"
        )
    return bool(value)


def plain(value: Any) -> str:
    """A value as a user wrote it: numpy scalars print as plain numbers (1, not np.int64(1))."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)
