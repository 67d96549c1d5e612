"""`DesignRun`: one estimated design × metric, as triangulation and decisions read it.

Provisional home: the interface (STUDY_INTERFACE.md, section 2) puts `DesignRun` in
`attribution.study.spec` (study-core put it in `attribution.study.run`, with the extra `columns`
map, mirrored here); triangulation and decisions read runs by their fields only (imported under
TYPE_CHECKING), so one definition replaces this module at merge without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    columns: Mapping[str, str] = field(default_factory=dict)
    """Component -> the name the design's table (and so its tidy rows) use for it, e.g.
    ``exposure_E``, where it differs from the component's name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimates", tuple(str(c) for c in self.estimates))
        if not isinstance(self.result, Result):
            raise DesignError(
                f"design run {self.id!r} holds a {type(self.result).__name__}, not a design result"
            )
