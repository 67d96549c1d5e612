"""attribution: causal attribution of co-launched recommender-system components.

The public API is small on purpose::

    import attribution as at
    con = at.connect()                         # DuckDB in memory; "x.duckdb", "spark", or a backend
    at.validate(table, "factorial_experiment")  # data contract, checked in the engine
    res = at.factorial(table, outcome="y", factors=["E", "R", "K"])
    res.headline; res.tidy(); res.checks; res.shapley; res.plot()
    at.compare(res, other)                      # headlines of any designs side by side
    at.did.att_gt(...); at.synth.fit(...)       # design families live in sub-namespaces
    at.simulate.factorial_experiment(...)        # the co-launch simulator with known truth

Submodules are imported lazily so that `import attribution` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from attribution import config, errors
from attribution.data.engine import as_table, connect
from attribution.errors import (
    AttributionError,
    ContractViolation,
    DataError,
    DesignError,
    EstimationError,
    OptionError,
)
from attribution.results import Check, Comparison, Estimate, Result, compare

__version__ = "0.1.0"

_LAZY = {
    "validate": ("attribution.data.contracts", "validate"),
    "factorial": ("attribution.designs.factorial", "factorial"),
    "simulate": ("attribution.simulate", None),
    "did": ("attribution.designs.did", None),
    "synth": ("attribution.designs.synth", None),
    "decompose": ("attribution.decompose", None),
    "dml": ("attribution.designs.dml", "dml"),
    "graph": ("attribution.graph", None),
    "metrics": ("attribution.metrics", None),
    "Study": ("attribution.study", "Study"),
    "experiment": ("attribution.designs.experiment", "experiment"),
    "decompose_lift": ("attribution.designs.experiment", "decompose_lift"),
    "adjust_pvalues": ("attribution.multiple_testing", "adjust_pvalues"),
    "simultaneous_intervals": ("attribution.multiple_testing", "simultaneous_intervals"),
    "sequential": ("attribution.sequential", None),
    "cumulative_impact": ("attribution.designs.holdout", "cumulative_impact"),
    "holdout_readout": ("attribution.designs.holdout", "holdout_readout"),
}

__all__ = [
    "AttributionError",
    "Check",
    "Comparison",
    "ContractViolation",
    "DataError",
    "DesignError",
    "Estimate",
    "EstimationError",
    "OptionError",
    "Result",
    "Study",
    "__version__",
    "adjust_pvalues",
    "as_table",
    "compare",
    "config",
    "connect",
    "cumulative_impact",
    "decompose",
    "decompose_lift",
    "did",
    "dml",
    "errors",
    "experiment",
    "factorial",
    "graph",
    "holdout_readout",
    "metrics",
    "sequential",
    "simulate",
    "simultaneous_intervals",
    "synth",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'attribution' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
