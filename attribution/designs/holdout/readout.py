"""The holdout readout from an `at.experiment` table: the treatment − holdout rows per surface ×
period and per period (all surfaces: each unit's metric summed over its surfaces), renamed to the
readout's terms, and the arm checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.holdout.results import OVERALL
from attribution.errors import DataError, DesignError
from attribution.options import plain
from attribution.results import Check

__all__ = ["arms_check", "holdout_arms", "readout_table", "units"]

_CARRIED = (
    "control_mean",
    "treatment_mean",
    "n_control",
    "n_treatment",
    "lift",
    "lift_conf_low",
    "lift_conf_high",
)
_RENAMED = {
    "control_mean": "holdout_mean",
    "n_control": "n_holdout",
}


def holdout_arms(values: list[Any], *, arm: str, holdout: str) -> tuple[Any, Any]:
    """(the holdout's arm value, the treated arm's value): exactly two arms, one of them the
    holdout (matched as text, so holdout='1' finds an integer arm 1)."""
    texts = [str(v) for v in values]
    if holdout not in texts:
        raise DesignError(
            f"no row has {arm} == {holdout!r}; the arms found are {[plain(v) for v in values][:10]}",
            columns=[arm],
            fix="pass holdout= the value that marks the holdout",
        )
    if len(values) != 2:
        raise DesignError(
            f"{arm!r} has {len(values)} value(s) {[plain(v) for v in values][:10]}; the readout "
            f"compares the holdout {holdout!r} with one treated arm",
            columns=[arm],
            fix="filter the table to the holdout and the treated population",
        )
    i = texts.index(holdout)
    return values[i], values[1 - i]


def readout_table(tidy: pd.DataFrame, *, metric: str, surfaces: list[str]) -> pd.DataFrame:
    """The per-period rows of an experiment's tidy table (surface × time, and time alone as the
    OVERALL surface), with readout terms and the holdout's names for the control columns.

    Every surface of the data must have a row in every period: `at.experiment` compares arms only
    where both have units, so a missing cell means one arm had none there."""
    if OVERALL in surfaces:
        raise DataError(
            f"a surface is named {OVERALL!r}, the label of the all-surface rows",
            fix="rename that surface before calling",
        )
    rows = tidy[tidy["time"].notna()].copy()
    times = rows.loc[rows["surface"].isna(), "time"].tolist()
    have = set(zip(rows["surface"].astype(str), rows["time"].astype(str), strict=True))
    gaps = [f"{s} at {t}" for s in surfaces for t in times if (s, str(t)) not in have]
    if gaps:
        raise DesignError(
            f"{len(gaps)} surface × period cell(s) have no comparison (units in one arm only): "
            f"{gaps[:5]}",
            fix="every surface and period needs holdout and treated units",
        )
    rows["surface"] = [OVERALL if s is None else str(s) for s in rows["surface"]]
    rows["time"] = pd.Series(rows["time"].tolist(), index=rows.index).infer_objects()
    rows = rows.assign(_o=rows["surface"].eq(OVERALL).astype(int))
    rows = rows.sort_values(["_o", "surface", "time"], kind="stable").reset_index(drop=True)
    terms = [
        f"effect(t={t})" if s == OVERALL else f"effect(surface={s},t={t})"
        for s, t in zip(rows["surface"], rows["time"], strict=True)
    ]
    out = rows[["term", "estimate", "std_error", "conf_low", "conf_high", "p_value"]].copy()
    out["term"] = terms
    out["time"] = rows["time"].to_numpy()
    out["metric"] = metric
    out["surface"] = rows["surface"].to_numpy()
    for col in _CARRIED:
        if col in rows:
            out[_RENAMED.get(col, col)] = rows[col].to_numpy()
    for col in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
        out[col] = out[col].astype(float)
    return out


def arms_check(tidy: pd.DataFrame, *, holdout: Any, treated: Any) -> Check:
    """The unit counts of the two arms (information: no planned share was given)."""
    whole = tidy[tidy["surface"].isna() & tidy["time"].isna()].iloc[0]
    n_h, n_t = int(whole["n_control"]), int(whole["n_treatment"])
    return Check(
        "arms",
        None,
        f"{n_h:,} units in the holdout ({plain(holdout)}) and {n_t:,} in the treated arm "
        f"({plain(treated)}), {n_h / (n_h + n_t):.2%} held out; pass holdout_share= for a "
        "sample-ratio test",
    )


def units(tidy: pd.DataFrame) -> int:
    """Units in both arms (the whole-population row)."""
    whole = tidy[tidy["surface"].isna() & tidy["time"].isna()].iloc[0]
    return int(np.sum([whole["n_control"], whole["n_treatment"]]))
