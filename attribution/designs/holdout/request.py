"""Request checks of the holdout family: argument checks, the launch table, the holdout's number."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution.data.engine import as_table, fetch, require_columns
from attribution.errors import DataError, OptionError
from attribution.options import plain
from attribution.results import Result

__all__ = [
    "LaunchFrame",
    "check_column",
    "check_columns_distinct",
    "holdout_number",
    "launch_frame",
]

LaunchFrame = pd.DataFrame
"""Columns: launch (str), surface (str or None), estimate, std_error (float), shipped (bool or NA)."""


def check_column(name: str, value: Any, *, optional: bool = False) -> str | None:
    """A column name: a non-empty string (None allowed when `optional`)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise OptionError(
            f"{name}={plain(value)} must be a column name (a non-empty string)",
            fix=f"e.g. {name}='{name}'",
        )
    return value


def check_columns_distinct(**columns: str | None) -> None:
    """No column may fill two roles (estimate='x', std_error='x' is a mistake)."""
    used = {k: v for k, v in columns.items() if v is not None}
    seen: dict[str, str] = {}
    for role, col in used.items():
        if col in seen:
            raise OptionError(
                f"column {col!r} is given as both {seen[col]}= and {role}=",
                fix="each role needs its own column",
            )
        seen[col] = role


def _from_results(results: Sequence[Result]) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(results):
        h = r.headline
        if h.std_error is None:
            raise DataError(
                f"result {i + 1} ({r.design}) has no standard error on its headline",
                fix="pass results whose headline has a standard error, or a launch table",
            )
        rows.append((f"{i + 1}: {r.design}", h.estimate, h.std_error))
    return pd.DataFrame(rows, columns=["launch", "estimate", "std_error"])


def launch_frame(
    launches: Any,
    *,
    estimate: str,
    std_error: str,
    launch: str,
    shipped: str | None,
    surface: str | None,
) -> LaunchFrame:
    """The launch table as a small pandas frame with fixed column names, checked.

    A DataFrame or Ibis table is read by the given column names; a sequence of Results enters
    through each headline (one launch per result, shipped by the selection rule).
    """
    if isinstance(launches, Sequence) and not isinstance(launches, str | bytes):
        if not launches:
            raise DataError("no launches were given", fix="pass the launch-test summaries")
        if not all(isinstance(r, Result) for r in launches):
            raise DataError(
                "launches must be a table or a sequence of design results",
                fix="pass a DataFrame with one row per launch test, or a list of results",
            )
        frame = _from_results(launches)
        frame["surface"] = None
        frame["shipped"] = pd.NA
        names = {"launch": "launch", "estimate": "estimate", "std_error": "std_error"}
    else:
        if not isinstance(launches, pd.DataFrame) and not hasattr(launches, "schema"):
            raise DataError(
                f"launches must be a table or a sequence of design results, got "
                f"{type(launches).__name__}",
                fix="pass a DataFrame with one row per launch test",
            )
        table = as_table(launches)
        spec: dict[str, str] = {estimate: "numeric", std_error: "numeric", launch: "any"}
        if shipped is not None:
            spec[shipped] = "binary"
        if surface is not None:
            spec[surface] = "any"
        require_columns(table, spec, role="cumulative_impact")
        cols = [c for c in (launch, surface, estimate, std_error, shipped) if c is not None]
        raw = fetch(table.select(*cols), what="the launch table")
        frame = pd.DataFrame(
            {
                "launch": raw[launch].astype(str).to_numpy(),
                "surface": raw[surface].astype(str).to_numpy() if surface else None,
                "estimate": pd.to_numeric(raw[estimate]).astype(float).to_numpy(),
                "std_error": pd.to_numeric(raw[std_error]).astype(float).to_numpy(),
                "shipped": _shipped(raw[shipped], shipped) if shipped else pd.NA,
            }
        )
        names = {"launch": launch, "estimate": estimate, "std_error": std_error}
    if frame.empty:
        raise DataError(
            "the launch table has no rows",
            columns=[names["estimate"]],
            fix="pass one row per launch test, shipped or not",
        )
    _check_values(frame, names)
    return frame.reset_index(drop=True)


def _shipped(col: pd.Series, name: str) -> np.ndarray:
    if col.isna().any():
        raise DataError(
            f"{int(col.isna().sum())} launch(es) have no value in {name!r}",
            columns=[name],
            fix="mark every launch shipped (true/1) or not (false/0)",
        )
    values = set(pd.unique(col.astype(float)))
    if not values <= {0.0, 1.0}:
        raise DataError(
            f"column {name!r} must hold 0/1 or true/false, found {sorted(map(plain, values))[:5]}",
            columns=[name],
            fix="mark every launch shipped (true/1) or not (false/0)",
        )
    return col.astype(float).to_numpy() == 1.0


def _check_values(frame: pd.DataFrame, names: dict[str, str]) -> None:
    est, se = frame["estimate"].to_numpy(), frame["std_error"].to_numpy()
    bad = ~np.isfinite(est)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} launch(es) have a missing or non-finite {names['estimate']!r}: "
            f"{frame.loc[bad, 'launch'].tolist()[:5]}",
            columns=[names["estimate"]],
            fix="drop those launches or fill in their estimates",
        )
    bad = ~(np.isfinite(se) & (se > 0))
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} launch(es) have a {names['std_error']!r} that is not a positive "
            f"finite number: {frame.loc[bad, 'launch'].tolist()[:5]}",
            columns=[names["std_error"]],
            fix="every launch test needs its standard error (> 0)",
        )
    dup = frame["launch"].duplicated()
    if dup.any():
        raise DataError(
            f"launch(es) {frame.loc[dup, 'launch'].tolist()[:5]} appear more than once in "
            f"{names['launch']!r}",
            columns=[names["launch"]],
            fix="one row per launch test",
        )


def holdout_number(holdout: Any) -> tuple[float, float] | None:
    """(estimate, std_error) of the holdout: a Result's headline or an (estimate, std_error) pair."""
    if holdout is None:
        return None
    if isinstance(holdout, Result):
        h = holdout.headline
        est, se = h.estimate, h.std_error
        if se is None:
            raise DataError(
                f"the holdout result ({holdout.design}) has no standard error on its headline",
                fix="pass holdout=(estimate, std_error)",
            )
    elif (
        isinstance(holdout, tuple)
        and len(holdout) == 2
        and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in holdout)
    ):
        est, se = float(holdout[0]), float(holdout[1])
    else:
        raise OptionError(
            f"holdout={plain(holdout)} must be a Result or an (estimate, std_error) pair",
            fix="e.g. holdout=at.holdout_readout(...) or holdout=(0.42, 0.1)",
        )
    if not (math.isfinite(est) and math.isfinite(se) and se > 0):
        raise OptionError(
            f"holdout=({plain(est)}, {plain(se)}) needs a finite estimate and a positive finite "
            "standard error",
            fix="e.g. holdout=(0.42, 0.1)",
        )
    return float(est), float(se)
