"""The registry of entry points the bad-input catalogue (tests/test_bad_input.py) runs against.

Each family lists its entry points in its own module here (factorial.py, did.py, synth.py); a new
entry point joins by adding an `Entry`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd


@dataclasses.dataclass
class Entry:
    """A public entry point and a valid call of it.

    `data()` returns the pandas frames passed positionally; `kwargs` the keyword options of a valid
    call. `columns` names the keyword arguments that take column names; `outcome` the one naming the
    outcome. `off_grid` lists (argument, value) pairs that lie off the data's grid.
    """

    func: Callable[..., Any]
    data: Callable[[], tuple[pd.DataFrame, ...]]
    kwargs: Mapping[str, Any]
    columns: tuple[str, ...] = ()
    outcome: str | None = None
    off_grid: tuple[tuple[str, Any], ...] = ()
    skip_options: tuple[str, ...] = ()
    """Arguments whose bad values are exercised elsewhere (e.g. a nested result)."""

    def call(self, frames: tuple[pd.DataFrame, ...] | None = None, **changes: Any) -> Any:
        frames = self.data() if frames is None else frames
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.func(*frames, **{**self.kwargs, **changes})


CACHE: dict[str, Any] = {}


def cached(key: str, make: Callable[[], Any]) -> Any:
    if key not in CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CACHE[key] = make()
    return CACHE[key]
