"""California Proposition 99 panel (Abadie, Diamond & Hainmueller 2010; Arkhangelsky et al. 2021).

The CSV ships inside the `causalpy` wheel (installed without dependencies, never imported): wide,
one row per year 1970–2000 and one column per state (39 states). Cigarette packs per capita, the
same float32-rounded values as the copy in the R synthdid package's `california_prop99`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

__all__ = ["csv_path", "load_long"]

TREATED_STATE = "California"
FIRST_TREATED_YEAR = 1989


def csv_path() -> Path:
    spec = importlib.util.find_spec("causalpy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "causalpy wheel (data carrier) is not installed; run `make install`"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "california_prop99.csv"


def load_long() -> pd.DataFrame:
    """Long panel: state (str), year (int64), packs (float64), treated (int64: California ≥ 1989)."""
    wide = pd.read_csv(csv_path())
    long = wide.melt(id_vars="Year", var_name="state", value_name="packs").rename(
        columns={"Year": "year"}
    )
    long["year"] = long["year"].astype("int64")
    long["packs"] = long["packs"].astype("float64")
    long["treated"] = (
        (long["state"] == TREATED_STATE) & (long["year"] >= FIRST_TREATED_YEAR)
    ).astype("int64")
    return long[["state", "year", "packs", "treated"]].sort_values(
        ["state", "year"], ignore_index=True
    )
