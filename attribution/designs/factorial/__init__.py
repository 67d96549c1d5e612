"""Two-level factorial experiments (full 2^k and regular 2^(k-p) fractions) with an exact Shapley
split of the combined effect: ``factorial(data, outcome=..., factors=[...])``.

Layers: design.py (request validation, design detection and aliasing) → stats.py (sufficient
statistics in the engine) → estimate.py (pure math) → result.py (FactorialResult and plots).
"""

from attribution.designs.factorial.design import DesignInfo
from attribution.designs.factorial.model import factorial
from attribution.designs.factorial.result import FactorialResult

__all__ = ["DesignInfo", "FactorialResult", "factorial"]
