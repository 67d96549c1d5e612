"""Two-level factorial experiments (full 2^k and regular 2^(k-p) fractions) with an exact Shapley
split of the combined effect: ``factorial(data, outcome=..., factors=[...])``.

Layers: api.py (the entry point) → request.py (request checks) → stats.py (sufficient statistics in
the engine) → aliasing.py (cells, contrasts, fractions and aliases), ols.py (saturated OLS,
HC/CR covariances, Lenth), srm.py (sample-ratio tests) → results.py (FactorialResult, DesignInfo).
"""

from attribution.designs.factorial.api import factorial
from attribution.designs.factorial.results import DesignInfo, FactorialResult

__all__ = ["DesignInfo", "FactorialResult", "factorial"]
