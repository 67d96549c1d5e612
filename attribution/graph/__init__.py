"""The system's causal graph: a template to edit per study, identification (what to adjust for, in
words), refuters that re-run an estimator on modified data, and mechanism attribution of a metric
shift (dowhy gcm, imported only when used)."""

from attribution.graph.api import backdoor_regression, identify, mechanism_shift, refute
from attribution.graph.dag import CausalGraph, template
from attribution.graph.results import Identification, MechanismShiftResult, RegressionResult, Stage

__all__ = [
    "CausalGraph",
    "Identification",
    "MechanismShiftResult",
    "RegressionResult",
    "Stage",
    "backdoor_regression",
    "identify",
    "mechanism_shift",
    "refute",
    "template",
]
