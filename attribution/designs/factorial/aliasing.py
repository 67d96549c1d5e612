"""Two-level design algebra: term names, ±1 contrasts, and full-factorial / regular-fraction detection
with the alias structure of a fraction.

Cells are coded by a bitmask over the factors in the order given: bit j is 1 when factor j is on.
The design is read off the set of cells present in the data:

- all 2^k cells → the full factorial;
- an affine subspace of GF(2)^k with 2^(k-p) points → a regular 2^(k-p) fraction, whose defining
  relation is the set of words w with an even overlap with every direction of the subspace
  (Box, Hunter & Hunter 2005, ch. 6; Wu & Hamada 2009, ch. 5);
- anything else → DesignError naming the missing cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from attribution.designs.factorial.results import DesignInfo
from attribution.errors import DesignError

__all__ = [
    "cell_frame",
    "contrast_matrix",
    "detect_design",
    "sign",
    "standard_terms",
    "term_name",
]


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
