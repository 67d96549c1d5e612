"""Loader for `mpdta` (Callaway & Sant'Anna 2021 minimum-wage panel: 500 US counties, 2003-2007).

The data ship inside the `moderndid` wheel (installed without dependencies as a data carrier; never
imported). The file is located with importlib so no path is machine-specific.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

__all__ = ["load_mpdta", "mpdta_path"]


def mpdta_path() -> Path:
    spec = importlib.util.find_spec("moderndid")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "moderndid (the mpdta data carrier) is not installed; run `make install`"
        )
    return Path(spec.submodule_search_locations[0]) / "core" / "datasets" / "mpdta_long.pkl.gz"


def load_mpdta() -> pd.DataFrame:
    """mpdta as a pandas frame with columns year, countyreal, lpop, lemp, first_treat, treat.

    `first.treat` is renamed to `first_treat` (a dot in a column name is awkward in SQL engines).
    """
    frame = pd.read_pickle(mpdta_path())
    frame = frame.rename(columns={"first.treat": "first_treat"})
    return frame.reset_index(drop=True)
