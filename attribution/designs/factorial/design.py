"""Request validation and design detection for two-level factorial experiments.

Cells are coded by a bitmask over the factors in the order given: bit j is 1 when factor j is on.
The design is read off the set of cells present in the data:

- all 2^k cells → the full factorial;
- an affine subspace of GF(2)^k with 2^(k-p) points → a regular 2^(k-p) fraction, whose defining
  relation is the set of words w with an even overlap with every direction of the subspace
  (Box, Hunter & Hunter 2005, ch. 6; Wu & Hamada 2009, ch. 5);
- anything else → DesignError naming the missing cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution.errors import DesignError, OptionError

__all__ = [
    "MAX_FACTORS",
    "DesignInfo",
    "check_request",
    "contrast_matrix",
    "detect_design",
    "sign",
    "standard_terms",
    "term_name",
]

MAX_FACTORS = 10
"""Up to 1,024 cells; larger screening designs belong in a dedicated DOE package."""

RESERVED = ("cell", "n", "mean", "adjusted_mean", "std_error")
"""Column names of `FactorialResult.cell_means` that a factor may not use."""


def term_name(mask: int, factors: Sequence[str]) -> str:
    """'E:R' for the interaction of the factors whose bits are set, in the order of `factors`."""
    return ":".join(f for j, f in enumerate(factors) if mask >> j & 1)


def standard_terms(k: int) -> list[int]:
    """Every non-empty term as a bitmask: main effects first, then two-factor interactions, ...;
    within an order, by the position of the factors ("E", "R", "K", "E:R", "E:K", "R:K", "E:R:K")."""
    masks = range(1, 2**k)
    return sorted(masks, key=_term_key)


def _term_key(mask: int) -> tuple[int, tuple[int, ...]]:
    bits = tuple(j for j in range(mask.bit_length()) if mask >> j & 1)
    return (len(bits), bits)


def sign(term: int, cell: int) -> int:
    """The ±1 product of the term's factors at a cell (factor on = +1, off = -1)."""
    off = bin(term & ~cell).count("1")
    return -1 if off % 2 else 1


def contrast_matrix(terms: Sequence[int], cells: Sequence[int]) -> np.ndarray:
    """(terms × cells) matrix of Box–Hunter–Hunter effects: mean where the term's sign is +1 minus
    mean where it is -1, each cell weighted equally (2/m · sign)."""
    m = len(cells)
    return np.array([[2.0 * sign(t, c) / m for c in cells] for t in terms])


@dataclass(frozen=True)
class DesignInfo:
    """What design the present cells form and what can be estimated from it."""

    kind: Literal["full", "fractional"]
    factors: tuple[str, ...]
    cells: tuple[int, ...]
    """Present cells as bitmasks, ascending (standard / Yates order for the full design)."""
    fraction: int = 0
    """p in 2^(k-p)."""
    defining_relation: str = ""
    """e.g. 'I = A:B:C:D' or 'I = -A:B:D = A:C:E = -B:C:D:E'; empty for the full design."""
    words: tuple[tuple[str, int], ...] = ()
    """(word, sign) pairs of the defining relation."""
    resolution: int | None = None
    terms: tuple[int, ...] = ()
    """Estimated terms (one representative per alias set) as bitmasks, standard order."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Representative term → its alias chain, e.g. 'A:B' → 'A:B = C:D'."""

    @property
    def k(self) -> int:
        return len(self.factors)

    @property
    def term_names(self) -> list[str]:
        return [term_name(t, self.factors) for t in self.terms]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "factors": list(self.factors),
            "n_cells": len(self.cells),
            "fraction": f"2^({self.k}-{self.fraction})" if self.fraction else f"2^{self.k}",
            "defining_relation": self.defining_relation,
            "resolution": self.resolution,
            "aliases": dict(self.aliases),
        }

    def to_text(self) -> str:
        if self.kind == "full":
            return f"full 2^{self.k} factorial ({len(self.cells)} cells)"
        lines = [
            f"regular 2^({self.k}-{self.fraction}) fraction ({len(self.cells)} cells), "
            f"resolution {_roman(self.resolution)}",
            f"defining relation: {self.defining_relation}",
            "aliases (first term of each chain is the one reported):",
        ]
        lines += [f"  {chain}" for chain in self.aliases.values()]
        return "\n".join(lines)


def _roman(n: int | None) -> str:
    return {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII"}.get(
        n or 0, str(n)
    )


def cell_frame(cells: Iterable[int], factors: Sequence[str]) -> pd.DataFrame:
    """Factor levels (0/1) of each cell, one row per cell."""
    cells = list(cells)
    return pd.DataFrame(
        {f: [c >> j & 1 for c in cells] for j, f in enumerate(factors)}, dtype="int64"
    )


def detect_design(cells: Iterable[int], factors: Sequence[str]) -> DesignInfo:
    """Full factorial or regular fraction from the present cells; DesignError otherwise."""
    factors = tuple(factors)
    k = len(factors)
    present = sorted(set(int(c) for c in cells))
    if len(present) == 2**k:
        return DesignInfo(
            kind="full", factors=factors, cells=tuple(present), terms=tuple(standard_terms(k))
        )
    m = len(present)
    missing = [c for c in range(2**k) if c not in set(present)]
    v0 = present[0]
    basis = _xor_basis([c ^ v0 for c in present])
    if m < 2 or 2 ** len(basis) != m:
        raise DesignError(
            f"the {m} cell(s) present are neither the full 2^{k} design nor a regular fraction of it; "
            f"{len(missing)} cell(s) have no rows",
            columns=list(factors),
            rows=cell_frame(missing, factors).assign(n_rows=0),
            fix="every combination of factor levels (or a regular 2^(k-p) fraction of them) must be "
            "observed; check the assignment and any filtering upstream",
        )
    words = [w for w in range(1, 2**k) if all(bin(w & b).count("1") % 2 == 0 for b in basis)]
    signs = {w: sign(w, v0) for w in words}
    constant = [w for w in words if bin(w).count("1") == 1]
    if constant:
        names = [term_name(w, factors) for w in constant]
        levels = {n: (v0 >> (w.bit_length() - 1)) & 1 for n, w in zip(names, constant, strict=True)}
        raise DesignError(
            f"factor(s) {names} never vary: every row has {levels}; their effects cannot be "
            "estimated",
            columns=names,
            rows=cell_frame(missing, factors).assign(n_rows=0),
            fix="include rows with both levels of every factor, or leave constant factors out",
        )
    words.sort(key=_term_key)
    relation = "I = " + " = ".join(
        ("-" if signs[w] < 0 else "") + term_name(w, factors) for w in words
    )
    group = [0, *words]
    assigned: set[int] = set(group)
    reps: list[int] = []
    aliases: dict[str, str] = {}
    for t in standard_terms(k):
        if t in assigned:
            continue
        chain = sorted((t ^ w for w in group), key=_term_key)
        assigned.update(chain)
        reps.append(t)
        parts = [term_name(t, factors)]
        for w in group[1:]:
            parts.append(("-" if signs[w] < 0 else "") + term_name(t ^ w, factors))
        head, rest = parts[0], sorted(parts[1:], key=lambda s: _name_key(s, factors))
        aliases[head] = " = ".join([head, *rest])
    return DesignInfo(
        kind="fractional",
        factors=factors,
        cells=tuple(present),
        fraction=k - len(basis),
        defining_relation=relation,
        words=tuple((term_name(w, factors), signs[w]) for w in words),
        resolution=min(bin(w).count("1") for w in words),
        terms=tuple(reps),
        aliases=aliases,
    )


def _name_key(name: str, factors: Sequence[str]) -> tuple[int, tuple[int, ...]]:
    parts = name.lstrip("-").split(":")
    return (len(parts), tuple(factors.index(p) for p in parts))


def _xor_basis(vectors: Iterable[int]) -> list[int]:
    """A basis of the GF(2) span of `vectors` (Gaussian elimination on bitmasks)."""
    basis: list[int] = []
    for v in vectors:
        for b in basis:
            v = min(v, v ^ b)
        if v:
            basis.append(v)
    return basis


def check_request(
    *,
    outcome: Any,
    factors: Any,
    unit: Any,
    cluster: Any,
    covariate: Any,
    allocation: Mapping[str, float] | None,
) -> tuple[str, ...]:
    """Column roles are strings, distinct and consistent; returns the factors as a tuple."""
    if isinstance(factors, str) or not isinstance(factors, Sequence):
        raise OptionError(
            f"factors must be a list of column names, got {factors!r}",
            fix=f"e.g. factors=[{factors!r}]"
            if isinstance(factors, str)
            else "e.g. ['E', 'R', 'K']",
        )
    facs = tuple(factors)
    if not facs:
        raise OptionError("factors is empty", fix="name at least one factor column")
    bad = [f for f in facs if not isinstance(f, str)]
    if bad:
        raise OptionError(f"factor names must be strings, got {bad}")
    dup = sorted({f for f in facs if facs.count(f) > 1})
    if dup:
        raise OptionError(
            f"factor(s) {dup} listed more than once", columns=dup, fix="list each factor once"
        )
    clash = [f for f in facs if f in RESERVED]
    if clash:
        raise OptionError(
            f"factor name(s) {clash} clash with columns of result.cell_means {list(RESERVED)}",
            columns=clash,
            fix="rename the factor column(s) before calling",
        )
    if len(facs) > MAX_FACTORS:
        raise OptionError(
            f"{len(facs)} factors give 2^{len(facs)} cells; at most {MAX_FACTORS} factors are supported",
            columns=list(facs),
        )
    roles = {"outcome": outcome, "unit": unit, "cluster": cluster, "covariate": covariate}
    for role, col in roles.items():
        if col is None and role != "outcome":
            continue
        if not isinstance(col, str):
            raise OptionError(f"{role} must be a column name (str), got {col!r}")
        if col in facs:
            raise OptionError(
                f"{role} {col!r} is also listed as a factor",
                columns=[col],
                fix=f"the {role} must be a different column from the factors",
            )
    if covariate is not None and covariate == outcome:
        raise OptionError(
            f"covariate {covariate!r} is the outcome itself",
            columns=[covariate],
            fix="use a pre-period measure of the outcome as the covariate",
        )
    for role in ("unit", "cluster"):
        if roles[role] is not None and roles[role] in (outcome, covariate):
            raise OptionError(
                f"{role} {roles[role]!r} is also the outcome or covariate", columns=[roles[role]]
            )
    if allocation is not None:
        if not isinstance(allocation, Mapping):
            raise OptionError(f"allocation must be a mapping factor → share, got {allocation!r}")
        unknown = [f for f in allocation if f not in facs]
        if unknown:
            raise OptionError(
                f"allocation names {unknown}, which are not factors",
                fix=f"use keys from {list(facs)}",
            )
        for f, share in allocation.items():
            try:
                ok = 0.0 < float(share) < 1.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise OptionError(
                    f"allocation[{f!r}]={share!r} must be a share strictly between 0 and 1",
                    columns=[f],
                )
    return facs
