"""Request checks of the graph family: arguments, graph nodes against the data, data values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from attribution.errors import DataError, DesignError, OptionError
from attribution.graph.dag import CausalGraph

__all__ = ["check_columns_arg", "check_graph", "check_numeric_frame", "check_varies"]


def check_graph(graph: Any) -> CausalGraph:
    if not isinstance(graph, CausalGraph):
        raise OptionError(
            f"graph must be a CausalGraph, got {type(graph).__name__}",
            fix="start from at.graph.template() and edit it, or build at.graph.CausalGraph(nodes=..., edges=...)",
        )
    return graph


def check_column(arg: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(f"{arg}={value!r} is not valid", fix=f"{arg} must be a column name")
    return value


def check_columns_arg(arg: str, value: Any, *, allow_empty: bool = True) -> tuple[str, ...]:
    """A list of column names (a single string is accepted as one name)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        raise OptionError(
            f"{arg}={value!r} is not valid", fix=f"{arg} must be a list of column names"
        )
    out = tuple(dict.fromkeys(value))
    if not out and not allow_empty:
        raise OptionError(f"{arg} is empty", fix=f"{arg} must name at least one column")
    return out


def check_roles_disjoint(**roles: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for role, cols in roles.items():
        for c in cols:
            if c in seen and seen[c] != role:
                raise DesignError(
                    f"column {c!r} is given both as {seen[c]} and as {role}",
                    columns=[c],
                    fix="a column plays one role",
                )
            seen[c] = role


def check_numeric_frame(frame: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    """Every column numeric (or boolean) and complete: typed errors, nothing dropped silently."""
    bad = [
        c
        for c in columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if bad:
        raise DataError(
            f"{what}: column(s) {bad} are not numeric; the mechanisms are fitted as linear "
            "additive-noise models of numeric nodes",
            columns=bad,
            fix="encode them as numbers (e.g. one 0/1 column per category) or remove those nodes",
        )
    missing = [c for c in columns if frame[c].isna().any()]
    if missing:
        raise DataError(
            f"{what}: missing values in {missing}",
            columns=missing,
            fix="drop or impute these rows explicitly; nothing is dropped silently",
        )


def check_varies(frame: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    flat = [c for c in columns if frame[c].nunique(dropna=True) < 2]
    if flat:
        raise DesignError(
            f"{what} {flat} take a single value: there is no variation to estimate an effect from",
            columns=flat,
            fix="check that the right column is passed",
        )
