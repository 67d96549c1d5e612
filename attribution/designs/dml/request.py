"""Request checks for `dml`: arguments (user names, before any engine work) and the data checks that
need the pulled arrays (collinear exposures, discrete treatment levels)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from attribution.designs.dml.nuisance import is_model
from attribution.errors import DataError, DesignError, OptionError
from attribution.options import plain

__all__ = ["check_columns", "check_learners", "check_roles", "check_treatment_matrix"]

MAX_LEVELS = 20
"""Most treatment levels a discrete treatment may have (more usually means a continuous column)."""


def check_column(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(
            f"{name}={plain(value)} is not a column name", fix=f"pass {name} as a column name"
        )
    return value


def check_columns(name: str, value: Any, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A column name or a list of them, as a tuple (duplicates refused)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, bytes):
        raise OptionError(
            f"{name}={plain(value)} is not a list of column names",
            fix=f"pass {name} as a list of column names",
        )
    cols = tuple(check_column(name, v) for v in value)
    if not cols and not allow_empty:
        raise OptionError(f"{name} is empty", fix=f"name at least one column in {name}")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise OptionError(f"{name} lists {dup} more than once", fix="name each column once")
    return cols


def check_roles(
    outcome: str,
    treatments: tuple[str, ...],
    confounders: tuple[str, ...],
    modifiers: tuple[str, ...],
    cluster: str | None,
) -> None:
    """A column plays one part: the outcome, a treatment, a confounder or a modifier."""
    parts = {
        "outcome": (outcome,),
        "treatments": treatments,
        "confounders": confounders,
        "effect_modifiers": modifiers,
    }
    seen: dict[str, str] = {}
    for part, cols in parts.items():
        for c in cols:
            if c in seen:
                raise DesignError(
                    f"column {c!r} is given both in {seen[c]} and in {part}",
                    columns=[c],
                    fix="give each column one role (a confounder that also modifies the effect "
                    "belongs in effect_modifiers only: it is adjusted for there too)",
                )
            seen[c] = part
    if cluster is not None and cluster in (outcome, *treatments):
        raise DesignError(
            f"cluster={cluster!r} is also the outcome or a treatment",
            columns=[cluster],
            fix="cluster on the sampling unit (user, market, surface)",
        )


def check_learners(model_y: Any, model_t: Any, *, discrete: bool) -> None:
    if model_y is not None and not is_model(model_y):
        raise OptionError(
            f"model_y={type(model_y).__name__} is not a scikit-learn estimator",
            fix="pass an estimator with fit/predict (e.g. sklearn.linear_model.LassoCV()) or None",
        )
    if model_t is not None and not is_model(model_t, classifier=True if discrete else None):
        what = "classifier with predict_proba" if discrete else "estimator with fit/predict"
        raise OptionError(
            f"model_t={type(model_t).__name__} is not a scikit-learn {what}",
            fix=f"pass a scikit-learn {what}, or None for the default",
        )


def check_treatment_matrix(t: np.ndarray, treatments: tuple[str, ...]) -> None:
    """Several continuous exposures must vary apart from each other (full column rank)."""
    if t.shape[1] < 2:
        return
    centred = t - t.mean(axis=0)
    scale = np.sqrt((centred**2).mean(axis=0))
    s = np.linalg.svd(centred / scale, compute_uv=False)
    if s[-1] <= 1e-8 * s[0] * np.sqrt(len(t)):
        # name the smallest set: the exposures loading on the null direction
        _, _, vt = np.linalg.svd(centred / scale, full_matrices=False)
        involved = [c for c, w in zip(treatments, vt[-1], strict=True) if abs(w) > 1e-6]
        raise DesignError(
            f"treatments {involved} are perfectly collinear: one is a linear combination of the "
            "others, so their separate effects are not identified",
            columns=involved,
            fix="drop one of them, or combine them into one exposure",
        )


def treatment_levels(values: np.ndarray, column: str) -> np.ndarray:
    """Sorted levels of a discrete treatment (the first is the baseline)."""
    levels = np.unique(values)
    if len(levels) > MAX_LEVELS:
        raise DesignError(
            f"discrete_treatment=True but {column!r} has {len(levels)} distinct values",
            columns=[column],
            fix=f"use at most {MAX_LEVELS} levels, or discrete_treatment=False for a continuous "
            "exposure",
        )
    return levels


def data_error_no_rows(columns: Sequence[str]) -> DataError:
    return DataError("the table is empty", columns=list(columns), fix="pass a table with rows")


MAX_COMPONENTS = 6
"""Most binary components combined (2^6 = 64 cells); more leaves too few units per combination."""


def check_components(t: np.ndarray, treatments: tuple[str, ...]) -> np.ndarray:
    """Binary 0/1 indicators of the components a unit got → the combination index per row
    (bit j = component j on, the bitmask order of `attribution.decompose`)."""
    if len(treatments) > MAX_COMPONENTS:
        raise DesignError(
            f"{len(treatments)} components give {2 ** len(treatments)} combinations; at most "
            f"{MAX_COMPONENTS} components are combined",
            columns=list(treatments),
            fix="combine fewer components, or estimate continuous exposures with "
            "discrete_treatment=False",
        )
    for j, c in enumerate(treatments):
        bad = ~np.isin(t[:, j], (0.0, 1.0))
        if bad.any():
            raise DesignError(
                f"discrete_treatment=True with several treatments takes binary 0/1 indicators of "
                f"the components a unit got; {c!r} has {int(bad.sum())} rows with other values "
                f"(e.g. {plain(t[bad, j][0])})",
                columns=[c],
                fix="pass one 0/1 column per component, or one treatment column with categorical "
                "levels, or discrete_treatment=False for continuous exposures",
            )
    return (t.astype(int) << np.arange(len(treatments))).sum(axis=1)


def combination_term(cell: int, components: Sequence[str]) -> str:
    """'E+K' for the cell where E and K are on (and the others off); 'none' for all off."""
    on = [c for j, c in enumerate(components) if (cell >> j) & 1]
    return "+".join(on) if on else "none"


def check_cells(cell: np.ndarray, components: tuple[str, ...], *, cv: int) -> None:
    """Every combination needs units (a cell mean needs data), at least `cv` of them."""
    k = len(components)
    counts = np.bincount(cell, minlength=2**k)
    for c in range(2**k):
        if counts[c] < cv:
            state = ", ".join(f"{comp}={(c >> j) & 1}" for j, comp in enumerate(components))
            raise DesignError(
                f"combination {combination_term(c, components)} ({state}) has "
                + ("no units" if counts[c] == 0 else f"{int(counts[c])} units, fewer than cv={cv}")
                + ": its average outcome, and so the split of all on − all off, is not identified",
                columns=list(components),
                fix="observe units in every combination of the components, or estimate fewer "
                "components at once" + ("" if counts[c] == 0 else ", or use fewer folds"),
            )
