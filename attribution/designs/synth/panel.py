"""Long panel table → validated wide arrays for the synthetic designs (SDID, SC, DiD, ADH).

Every synthetic estimator works on an N×T outcome matrix. This module checks the long table in the
engine (columns, duplicated or missing unit-periods, missing values, a 0/1 treatment), pulls only
the needed columns through the guarded `fetch`, and pivots to N×T arrays. The treatment pattern is
then checked on the small wide matrix: it must never switch off, every treated unit needs at least
one untreated period, and at least one unit must never be treated (the donors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import count_where, examples, is_missing
from attribution.data.engine import Data, as_table, fetch, require_columns
from attribution.data.panel import check_panel
from attribution.errors import DataError, DesignError

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
) -> SynthPanel:
    """Validate a long panel and return it as wide N×T arrays.

    Raises DataError for missing/mistyped columns, duplicated (unit, time) rows, an unbalanced
    panel, missing outcomes or covariates, or a treatment that is not 0/1; DesignError for a
    treatment that switches off, a treated unit without an untreated period, no treated unit, or
    no never-treated unit to serve as donor.
    """
    table = as_table(data)
    covs = _check_names(outcome, unit, time, treatment, covariates)
    spec: dict[str, str] = {unit: "key", time: "key", outcome: "numeric"}
    if treatment is not None:
        spec[treatment] = "binary"
    for c in covs:
        spec[c] = "numeric"
    require_columns(table, spec, role="synthetic panel")
    ttype = table.schema()[time]
    if not (ttype.is_integer() or ttype.is_temporal()):
        raise DataError(
            f"time column {time!r} is {ttype}; periods must be ordered integers or dates",
            columns=[time],
            fix=f"encode {time!r} as an integer period index or a date",
        )
    if table.schema()[unit].is_boolean():
        raise DataError(
            f"unit column {unit!r} is boolean; it must identify units",
            columns=[unit],
            fix="use a string or integer unit identifier",
        )

    cols = [unit, time, outcome] + ([treatment] if treatment else []) + covs
    _require_present(table, unit, time, [unit, time], what="unit or time identifiers")
    shape = check_panel(table, unit=unit, time=time, require_balanced=True)
    _require_present(table, unit, time, [outcome], what="outcome")
    if covs:
        _require_present(table, unit, time, covs, what="covariate")
    if treatment is not None:
        _require_present(table, unit, time, [treatment], what="treatment")
        t = table[treatment].cast("float64")
        bad = (t != 0.0) & (t != 1.0)
        n_bad = count_where(table, bad)
        if n_bad:
            raise DataError(
                f"treatment column {treatment!r} must be 0/1; {n_bad:,} rows hold other values",
                columns=[treatment],
                rows=examples(table, bad, [unit, time, treatment]),
                fix="code treated unit-periods as 1 and untreated ones as 0",
            )

    sel = table.select(*cols)
    if treatment is not None:
        sel = sel.mutate(**{treatment: table[treatment].cast("float64")})
    frame = fetch(sel, what="the synthetic-control panel")
    return _to_wide(frame, outcome, unit, time, treatment, covs, n_rows=shape.n_rows)


# -- helpers -----------------------------------------------------------------------------------


def _check_names(
    outcome: str,
    unit: str,
    time: str,
    treatment: str | None,
    covariates: Sequence[str] | None,
) -> list[str]:
    for role, name in (("outcome", outcome), ("unit", unit), ("time", time)):
        if not isinstance(name, str) or not name:
            raise DataError(
                f"{role} must be a column name (a non-empty string), got {name!r}",
                fix=f"pass {role}='<column>'",
            )
    if treatment is not None and (not isinstance(treatment, str) or not treatment):
        raise DataError(f"treatment must be a column name or None, got {treatment!r}")
    if covariates is None:
        covs: list[str] = []
    elif isinstance(covariates, str):
        covs = [covariates]
    else:
        covs = list(covariates)
    if any(not isinstance(c, str) or not c for c in covs):
        raise DataError(f"covariates must be column names, got {covariates!r}")
    roles = [outcome, unit, time] + ([treatment] if treatment else []) + covs
    dup = sorted({c for c in roles if roles.count(c) > 1})
    if dup:
        raise DataError(
            f"column(s) {dup} used in more than one role (outcome, unit, time, treatment, "
            "covariates)",
            columns=dup,
            fix="give each role its own column",
        )
    return covs


def _require_present(
    table: ir.Table, unit: str, time: str, cols: Sequence[str], *, what: str
) -> None:
    """DataError naming the units and periods where any of `cols` is NULL / NaN / ±inf."""
    pred = ibis.or_(*[is_missing(table[c]) for c in cols])
    n_bad = count_where(table, pred)
    if n_bad:
        show = list(dict.fromkeys([unit, time, *cols]))
        rows = examples(table, pred, show)
        units = ", ".join(repr(u) for u in pd.unique(rows[unit]))
        raise DataError(
            f"missing or non-finite {what} in {n_bad:,} unit-period(s) (e.g. units {units})",
            columns=list(cols),
            rows=rows,
            fix="fill these unit-periods or drop the affected units explicitly; synthetic "
            "designs need a complete balanced panel",
        )


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
        out[ui, ti] = frame[col].to_numpy(dtype=float)
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


def check_treatment(
    W: np.ndarray, units: pd.Index, times: pd.Index, *, treatment: str = "treatment"
) -> tuple[np.ndarray, np.ndarray]:
    """Check an N×T 0/1 treatment pattern; return (treated mask, adoption column index or -1).

    Treatment must switch on at most once and stay on (absorbing), start after at least one
    untreated period, and leave at least one never-treated unit.
    """
    n_show = config.get().example_rows
    W = np.asarray(W, dtype=bool)
    off = W[:, :-1] & ~W[:, 1:]
    if off.any():
        bad = np.flatnonzero(off.any(axis=1))
        rows = pd.DataFrame(
            {
                units.name or "unit": units[bad[:n_show]],
                "treated_at": [times[np.argmax(W[i])] for i in bad[:n_show]],
                "switched_off_at": [times[np.argmax(off[i]) + 1] for i in bad[:n_show]],
            }
        )
        raise DesignError(
            f"treatment {treatment!r} switches off for {len(bad)} unit(s): "
            f"{_names(units[bad], n_show)}; synthetic designs need treatment that stays on",
            columns=[treatment],
            rows=rows,
            fix="keep treatment on once it starts (absorbing), or drop the periods after it "
            "ends, or drop these units",
        )
    treated = W.any(axis=1)
    if not treated.any():
        raise DesignError(
            f"no unit is ever treated ({treatment!r} is 0 everywhere)",
            columns=[treatment],
            fix="mark the treated unit-periods with 1",
        )
    adoption = np.where(treated, np.argmax(W, axis=1), -1).astype(np.int64)
    always = np.flatnonzero(treated & (adoption == 0))
    if len(always):
        rows = pd.DataFrame(
            {units.name or "unit": units[always[:n_show]], "first_treated": times[0]}
        )
        raise DesignError(
            f"{len(always)} treated unit(s) have no untreated pre-period (treated from the first "
            f"period {times[0]!r}): {_names(units[always], n_show)}",
            columns=[treatment],
            rows=rows,
            fix="add pre-treatment periods for these units, or drop them",
        )
    if treated.all():
        raise DesignError(
            f"no donors: all {len(units)} units are treated at some period; synthetic designs "
            "need never-treated units",
            columns=[treatment],
            fix="add units that are never treated (the donor pool)",
        )
    return treated, adoption


def _names(values: pd.Index, n: int) -> str:
    shown = ", ".join(repr(v) for v in list(values[:n]))
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")
