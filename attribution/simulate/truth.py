"""Ground truth containers and the exact factorial algebra (BHH effects, Shapley split).

Every scenario returns a `Simulation` whose `truth` is computed from the model's expectations
(closed forms or finite sums), never by simulating a second sample.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution.decompose import shapley_split
from attribution.errors import OptionError

__all__ = [
    "GroundTruth",
    "Simulation",
    "bhh_effects",
    "cell_label",
    "cells",
    "effect_terms",
    "shapley_values",
    "truth_from_cell_means",
]


@dataclass(frozen=True)
class GroundTruth:
    """Exact expected values of the data-generating process.

    `effects` follow the Box–Hunter–Hunter convention (mean response where the ±1 product of the
    term's factors is +1 minus where it is −1, cells weighted equally); `shapley` splits `total`
    (all-on minus all-off) exactly among the components. `details` holds scenario-specific truth.
    """

    components: tuple[str, ...]
    baseline: float
    effects: pd.Series
    cell_means: pd.Series
    shapley: pd.Series
    total: float
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Simulation:
    """Simulated tables plus the exact truth they were drawn from."""

    scenario: str
    tables: Mapping[str, pd.DataFrame | ir.Table]
    truth: GroundTruth
    seed: int

    def table(self, name: str | None = None) -> pd.DataFrame | ir.Table:
        """The only table, or the table called `name` (pandas when simulated without `con`)."""
        if name is None:
            if len(self.tables) != 1:
                raise OptionError(
                    f"scenario {self.scenario!r} has {len(self.tables)} tables",
                    fix=f"name one of {sorted(self.tables)}",
                )
            return next(iter(self.tables.values()))
        if name not in self.tables:
            raise OptionError(
                f"scenario {self.scenario!r} has no table {name!r}",
                fix=f"name one of {sorted(self.tables)}",
            )
        return self.tables[name]


def cells(k: int) -> list[tuple[int, ...]]:
    """All 2^k on/off cells in standard (Yates) order: the first factor changes fastest."""
    return [tuple(reversed(c)) for c in itertools.product((0, 1), repeat=k)]


def cell_label(components: Sequence[str], cell: Sequence[int]) -> str:
    """'E=0,R=1,K=0' — the index used by `GroundTruth.cell_means`."""
    return ",".join(f"{c}={int(v)}" for c, v in zip(components, cell, strict=True))


def effect_terms(components: Sequence[str]) -> list[tuple[str, ...]]:
    """Main effects then interactions by order: E, R, K, E:R, E:K, R:K, E:R:K."""
    out: list[tuple[str, ...]] = []
    for order in range(1, len(components) + 1):
        out.extend(itertools.combinations(components, order))
    return out


def bhh_effects(components: Sequence[str], cell_means: pd.Series) -> pd.Series:
    """Box–Hunter–Hunter factorial effects from the 2^k cell means (Box, Hunter & Hunter 2005, ch. 5).

    effect(T) = (2 / 2^k) Σ_cells y_c Π_{j∈T} (2 x_j − 1).
    """
    k = len(components)
    grid = np.array(cells(k), dtype=float)
    y = np.array([cell_means[cell_label(components, c)] for c in cells(k)], dtype=float)
    signs = 2.0 * grid - 1.0
    out = {}
    for term in effect_terms(components):
        idx = [components.index(t) for t in term]
        out[":".join(term)] = float(2.0 / 2**k * np.sum(y * np.prod(signs[:, idx], axis=1)))
    return pd.Series(out, name="effect", dtype=float)


def shapley_values(components: Sequence[str], cell_means: pd.Series) -> pd.Series:
    """Exact Shapley split of all-on minus all-off (Shapley 1953), v(S) = y(S on) − y(none on).

    The same linear map the designs use (`attribution.decompose`); tests check it against a brute force
    over all orderings, so the truth does not rest on the code it judges.
    """
    split = shapley_split(cell_means, None, components=list(components))
    return pd.Series(
        split.table["estimate"].to_numpy(), index=list(components), name="shapley", dtype=float
    )


def truth_from_cell_means(
    components: Sequence[str], values: Mapping[tuple[int, ...], float], details: Mapping[str, Any]
) -> GroundTruth:
    """Assemble a GroundTruth from exact cell means keyed by on/off tuples."""
    comps = tuple(components)
    cm = pd.Series(
        {cell_label(comps, c): float(values[c]) for c in cells(len(comps))},
        name="cell_mean",
        dtype=float,
    )
    all_off = cell_label(comps, [0] * len(comps))
    all_on = cell_label(comps, [1] * len(comps))
    return GroundTruth(
        components=comps,
        baseline=float(cm[all_off]),
        effects=bhh_effects(comps, cm),
        cell_means=cm,
        shapley=shapley_values(comps, cm),
        total=float(cm[all_on] - cm[all_off]),
        details=dict(details),
    )
