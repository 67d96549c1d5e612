"""`DesignRun`: one estimated design × metric, as triangulation and decisions read it.

Provisional home: the interface (STUDY_INTERFACE.md, section 2) puts `DesignRun` in
`attribution.study.spec`; until that module lands this is the one definition, with exactly the
interface's fields, and spec.py re-exports or replaces it at merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from attribution.errors import DesignError
from attribution.results import Result

__all__ = ["DesignRun"]


@dataclass(frozen=True, kw_only=True)
class DesignRun:
    """One design of a study run on one metric; only the Result contract of `result` is read."""

    id: str  # the spec's id, e.g. "factorial"
    design: str  # the registry name, e.g. "did.launch_event_study"
    metric: str  # the metric's name
    estimates: tuple[str, ...]  # the components this design informs
    result: Result  # the design's result
    key_assumption: str  # one sentence, e.g. "parallel trends between launched and later units"

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimates", tuple(str(c) for c in self.estimates))
        if not isinstance(self.result, Result):
            raise DesignError(
                f"design run {self.id!r} holds a {type(self.result).__name__}, not a design result"
            )
