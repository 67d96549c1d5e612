"""Long panel table → validated wide arrays for the synthetic designs (SDID, SC, DiD, ADH).

Every synthetic estimator works on an N×T outcome matrix. The long table's columns are checked with
the user's names (`request.check_panel_columns`, `data.numeric.check_outcome`), then only the needed
columns are selected under reserved names (`data.roles.select_roles`), checked in the engine
(`request.check_long_panel`: duplicated or missing unit-periods, missing values, a 0/1 treatment),
come out through the guarded `fetch` (the one pull of the family: nothing is aggregated in the
engine, as the weights need every unit-period), renamed back, and are pivoted to N×T arrays. The treatment pattern is then checked on the
small wide matrix (`request.check_treatment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attribution.data.engine import Data, as_table, fetch
from attribution.data.numeric import check_outcome
from attribution.data.roles import select_roles
from attribution.designs.synth.request import (
    check_long_panel,
    check_names,
    check_panel_columns,
    check_treatment,
)

__all__ = ["SynthPanel", "prepare_panel"]


@dataclass(frozen=True, kw_only=True)
class SynthPanel:
    """A balanced panel in wide form; rows are units, columns are periods (both sorted).

    `W` marks treated unit-periods (None when no treatment column was given); `adoption[i]` is the
    column index of unit i's first treated period, or -1 for never-treated units (the donors).
    """

    Y: np.ndarray  # (N, T) float
    units: pd.Index
    times: pd.Index
    W: np.ndarray | None  # (N, T) bool
    treated: np.ndarray  # (N,) bool
    adoption: np.ndarray  # (N,) int64
    X: dict[str, np.ndarray] = field(default_factory=dict)  # name → (N, T) float
    outcome: str
    unit: str
    time: str
    treatment: str | None = None
    n_rows: int = 0

    @property
    def n_units(self) -> int:
        return int(self.Y.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.Y.shape[1])

    @property
    def donors(self) -> np.ndarray:
        """Boolean mask of never-treated units."""
        return ~self.treated

    def cohorts(self) -> dict[int, np.ndarray]:
        """Adoption column index → indices of the units first treated then (sorted by time)."""
        out: dict[int, np.ndarray] = {}
        for a in np.unique(self.adoption[self.adoption >= 0]):
            out[int(a)] = np.flatnonzero(self.adoption == a)
        return out


def prepare_panel(
    data: Data,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str | None = None,
    covariates: Sequence[str] | None = None,
    missing_covariates: bool = False,
) -> SynthPanel:
    """Validate a long panel and return it as wide N×T arrays.

    `missing_covariates=True` lets covariates be NULL / NaN (NaN in the arrays; ADH averages
    predictors over the periods with data, as R Synth's dataprep).

    Raises DataError for missing/mistyped columns, duplicated (unit, time) rows, an unbalanced
    panel, missing outcomes or covariates, or a treatment that is not 0/1; DesignError for a
    treatment that switches off, a treated unit without an untreated period, no treated unit, or
    no never-treated unit to serve as donor (the checks are in `request`).
    """
    table = as_table(data)
    covs = check_names(outcome, unit, time, treatment, covariates)
    check_panel_columns(
        table, outcome=outcome, unit=unit, time=time, treatment=treatment, covariates=covs
    )
    check_outcome(table, outcome)
    # From here on the engine sees only the needed columns under reserved names (no user column
    # can meet an internal one); errors raised inside name the user's columns again.
    roles = select_roles(
        table,
        {
            "unit": unit,
            "time": time,
            "outcome": outcome,
            "treatment": treatment,
            "covariates": covs,
        },
    )
    with roles.user_names():
        c_treat = roles.names["treatment"]
        n_rows = check_long_panel(
            roles.table,
            outcome=roles["outcome"],
            unit=roles["unit"],
            time=roles["time"],
            treatment=c_treat,  # type: ignore[arg-type]
            covariates=list(roles.many("covariates")),
            missing_covariates=missing_covariates,
        )
        sel = roles.table
        if c_treat is not None:
            sel = sel.mutate(**{c_treat: sel[c_treat].cast("float64")})
        frame = fetch(sel, what="the synthetic-control panel").rename(columns=roles.user)
    return _to_wide(frame, outcome, unit, time, treatment, covs, n_rows=n_rows)


def _to_wide(
    frame: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treatment: str | None,
    covs: list[str],
    *,
    n_rows: int,
) -> SynthPanel:
    units = pd.Index(pd.unique(frame[unit]), name=unit).sort_values()
    times = pd.Index(pd.unique(frame[time]), name=time).sort_values()
    ui = units.get_indexer(frame[unit])
    ti = times.get_indexer(frame[time])
    n, t = len(units), len(times)

    def wide(col: str) -> np.ndarray:
        out = np.full((n, t), np.nan)
        out[ui, ti] = frame[col].to_numpy(dtype=float, na_value=np.nan)
        return out

    Y = wide(outcome)
    X = {c: wide(c) for c in covs}
    if treatment is None:
        return SynthPanel(
            Y=Y,
            units=units,
            times=times,
            W=None,
            X=X,
            treated=np.zeros(n, dtype=bool),
            adoption=np.full(n, -1, dtype=np.int64),
            outcome=outcome,
            unit=unit,
            time=time,
            treatment=None,
            n_rows=n_rows,
        )
    W = wide(treatment) > 0.5
    treated, adoption = check_treatment(W, units, times, treatment=treatment)
    return SynthPanel(
        Y=Y,
        units=units,
        times=times,
        W=W,
        X=X,
        treated=treated,
        adoption=adoption,
        outcome=outcome,
        unit=unit,
        time=time,
        treatment=treatment,
        n_rows=n_rows,
    )
