"""Double ML on observational exposure: ``dml(data, outcome=..., treatments=[...], confounders=[...])``.

Layers: api.py (the entry point) → request.py (request checks) → stats.py (engine checks and the one
pull of role columns) → nuisance.py (sample splits, econml cross-fitting), moments.py (orthogonal
final stage, HC0/CR1), aipw.py (AIPW means of component combinations), heterogeneity.py (effects by
segment, heterogeneity tests), sensitivity.py (omitted-variable bounds) → results.py (DmlResult,
SensitivityResult).
"""

from attribution.designs.dml.api import dml
from attribution.designs.dml.results import DmlResult, SensitivityResult

__all__ = ["DmlResult", "SensitivityResult", "dml"]
