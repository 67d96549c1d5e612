"""Sufficient statistics of a factorial experiment, computed inside the engine.

Only small aggregates leave the engine:

- `cell_pass`: one GROUP BY over the factor columns → per cell the count, mean, and within-cell
  (co)variances of outcome and covariate, plus non-null counts, so validation costs no extra scan.
  On DuckDB from compensated sums Σy, Σy², Σx, Σx², Σxy (deterministic to about one ulp, so reruns
  agree), with a second, centred pass only where the location is so far from zero that Σy²/n − ȳ²
  would cancel; on engines without a compensated sum, from their stable (Welford-type) moments;
- `leverage_pass`: HC covariances with a covariate need each row's residual and leverage
  h_i = 1/n_c + (x_i - x̄_c)^2 / W; a second exact pass with the first pass's coefficients joined
  in as per-cell constants returns Σ w e², Σ w e² x̃, Σ w e² x̃² per cell (w = 1, 1/(1-h), 1/(1-h)²);
- `cluster_pass`: cluster scores u_g = Σ_{i in g} x_i e_i for every regressor, and the meat
  Σ_g u_g u_g' aggregated in the engine (any number of clusters);
- `unit_pass`: every unit in one arm, rows per unit, and units per cell (for the SRM check);
- a ratio metric (sum(num) / sum(den) per cell): `ratio_units` sums each column per randomisation
  unit (an expression; nothing leaves the engine), `ratio_pass` returns per cell n, Σ of every
  value column and Σ of every cross-product (compensated sums), and `linearised_units` gives each
  unit's delta-method linearised value for the second passes (HC with a covariate, CR1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import is_missing, require_complete
from attribution.data.engine import accurate_sum, has_compensated_sum
from attribution.data.numeric import range_aggregates
from attribution.errors import EstimationError

__all__ = [
    "LIN_X",
    "LIN_Y",
    "CellPass",
    "RatioPass",
    "cell_expr",
    "cell_pass",
    "cluster_pass",
    "leverage_pass",
    "linearised_units",
    "ratio_centred_moments",
    "ratio_pass",
    "ratio_units",
    "unit_pass",
    "zero_denominator_examples",
]

_P = "att_"  # prefix of every aggregate name, so a factor called "n" cannot collide


def cell_expr(table: ir.Table, factors: Sequence[str]) -> ir.IntegerValue:
    """Cell bitmask of each row: Σ_j factor_j · 2^j (factors already checked to be 0/1 or bool)."""
    out: ir.IntegerValue = ibis.literal(0, type="int32")
    for j, f in enumerate(factors):
        out = out + table[f].cast("int32") * ibis.literal(2**j, type="int32")
    return out.cast("int32")  # Spark's element_at needs an INT index; k <= 10 fits easily


def _with_cell_constants(
    table: ir.Table, factors: Sequence[str], constants: Mapping[str, Mapping[int, float]]
) -> ir.Table:
    """The rows with their cell bitmask (`att_cell`) and per-cell constants (`att_<name>`) from the
    first pass, joined from a tiny in-memory table: exact binary values (no decimal literals in the
    SQL) and each constant evaluated once per row, which keeps the second pass close to a scan."""
    cells = sorted(int(c) for c in next(iter(constants.values())))
    lookup = pd.DataFrame(
        {
            _P + "cell": np.asarray(cells, dtype="int32"),
            **{_P + k: [float(v[c]) for c in cells] for k, v in constants.items()},
        }
    )
    t = table.mutate(**{_P + "cell": cell_expr(table, factors)})
    return t.inner_join(ibis.memtable(lookup), _P + "cell")


@dataclass(frozen=True)
class CellPass:
    """Result of the first pass: one row per distinct factor combination (raw values)."""

    frame: pd.DataFrame
    """Columns: factor0 … factor{k-1} (raw values, in the order of the factors), n, mean_y, var_y
    [, mean_x, var_x, cov_xy], and the outcome's finite range per cell (`data.numeric.LO`, `HI`)."""
    suspect: tuple[str, ...]
    """Columns with NULLs (non-null count below the row count) or non-finite aggregates (a NaN or
    ±inf somewhere); empty for usable data. `require_complete` then names the rows."""


def cell_pass(
    table: ir.Table,
    *,
    outcome: str,
    factors: Sequence[str],
    covariate: str | None,
    also_complete: Sequence[str] = (),
    binary: bool = False,
) -> CellPass:
    """Per-cell count, mean and population (co)variances in one GROUP BY over the factors.

    Missing values are detected from the same aggregates (no per-row test, which would double the
    cost of the scan): a NULL lowers the column's non-null count, a NaN or ±inf makes the mean or
    variance non-finite (or, on DuckDB, makes the variance raise).
    """
    y = table[outcome].cast("float64")
    x = None if covariate is None else table[covariate].cast("float64")
    compensated = has_compensated_sum(table)
    aggs: dict[str, ir.Value] = {_P + "n": table.count()}
    if compensated:  # plain sums, compensated: deterministic to about one ulp (see _from_sums)
        aggs |= {_P + "sy": accurate_sum(table, y), _P + "syy": accurate_sum(table, y * y)}
        if x is not None:
            aggs |= {
                _P + "sx": accurate_sum(table, x),
                _P + "sxx": accurate_sum(table, x * x),
                _P + "sxy": accurate_sum(table, x * y),
            }
    else:  # Welford-type engine moments (stable; their last bits vary with the thread order)
        aggs |= {_P + "mean_y": y.mean(), _P + "var_y": y.var(how="pop")}
        if x is not None:
            aggs |= {
                _P + "mean_x": x.mean(),
                _P + "var_x": x.var(how="pop"),
                _P + "cov_xy": y.cov(x, how="pop"),
            }
    aggs |= range_aggregates(table, outcome) or {}  # the outcome's range, checked by the caller
    if binary:  # a Proportion: count the values other than 0 and 1 in the same scan
        other = ~is_missing(y) & (y != 0.0) & (y != 1.0)
        aggs[NON_BINARY] = other.cast("int64").sum()
    floats = {outcome: ["mean_y", "var_y"]}
    if covariate is not None:
        floats[covariate] = ["mean_x", "var_x", "cov_xy"]
    checked = list(dict.fromkeys([outcome, *([covariate] if covariate else []), *also_complete]))
    for i, col in enumerate(checked):
        aggs[f"{_P}nn{i}"] = table[col].count()
    try:
        raw = table.group_by(list(factors)).aggregate(**aggs).execute()
    except Exception as exc:
        # some engines refuse to aggregate ±inf (DuckDB: "VARPOP is out of range"); report the
        # offending rows as a DataError, else say the engine failed on finite values
        require_complete(table, checked, role="factorial", context=list(factors))
        raise EstimationError(
            f"the engine could not aggregate {checked}: {type(exc).__name__}: {exc}",
            columns=checked,
            fix="check for extreme values; rescale the outcome / covariate if they are huge",
        ) from exc
    if compensated:
        raw = _from_sums(table, raw, factors=factors, outcome=outcome, covariate=covariate)
    n = raw[_P + "n"].to_numpy(float)
    suspect = []
    for i, col in enumerate(checked):
        nulls = bool(np.any(raw[f"{_P}nn{i}"].to_numpy(float) < n))
        # a variance is NULL for an all-NULL group only, which the non-null count already flags
        values = raw[[_P + a for a in floats.get(col, [])]].to_numpy(float)
        nonfinite = bool(np.any(np.isinf(values) | (np.isnan(values) & (n[:, None] > 0))))
        if nulls or nonfinite:
            suspect.append(col)
    # factor columns get positional names so that a factor called e.g. "n" cannot collide
    positional = {f: f"factor{j}" for j, f in enumerate(factors)}
    frame = (
        raw.drop(columns=[f"{_P}nn{i}" for i in range(len(checked))])
        .rename(columns=positional)
        .rename(columns=lambda c: c.removeprefix(_P))
    )
    return CellPass(frame=frame, suspect=tuple(suspect))


NON_BINARY = _P + "non_binary"
"""Aggregate of `cell_pass(binary=True)`: rows whose finite outcome is neither 0 nor 1."""


CANCELLATION_LIMIT = 1e4
"""Largest mean²/variance for which Σy²/n − ȳ² keeps 12 digits of the variance; above it (a
location far from zero relative to the spread) the variances come from a second, centred pass."""


def _from_sums(
    table: ir.Table,
    raw: pd.DataFrame,
    *,
    factors: Sequence[str],
    outcome: str,
    covariate: str | None,
) -> pd.DataFrame:
    """Means, population variances and covariance per cell from compensated sums.

    Σy²/n − ȳ² loses log10(ȳ²/var) digits; where that exceeds `CANCELLATION_LIMIT` a second pass
    sums the squares of the deviations from the (already exact) cell means, so both routes keep the
    precision of the stable engine moments while staying deterministic.
    """
    out = raw.copy()
    n = out[_P + "n"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        my = out[_P + "sy"].to_numpy(float) / n
        vy = out[_P + "syy"].to_numpy(float) / n - my * my
        cols = {"mean_y": my, "var_y": vy}
        if covariate is not None:
            mx = out[_P + "sx"].to_numpy(float) / n
            cols |= {
                "mean_x": mx,
                "var_x": out[_P + "sxx"].to_numpy(float) / n - mx * mx,
                "cov_xy": out[_P + "sxy"].to_numpy(float) / n - mx * my,
            }
        ratios = [my * my / np.abs(vy)]
        if covariate is not None:
            ratios.append(mx * mx / np.abs(cols["var_x"]))
        ratio = np.nanmax(np.concatenate(ratios), initial=0.0)
    if np.isfinite(ratio) and ratio > CANCELLATION_LIMIT and np.all(np.isfinite(my)):
        cols |= _centred_moments(
            table, out, factors=factors, outcome=outcome, covariate=covariate, means=cols
        )
    for name, values in cols.items():
        out[_P + name] = values
    return out.drop(
        columns=[c for c in out.columns if c.removeprefix(_P) in ("sy", "syy", "sx", "sxx", "sxy")]
    )


def _centred_moments(
    table: ir.Table,
    raw: pd.DataFrame,
    *,
    factors: Sequence[str],
    outcome: str,
    covariate: str | None,
    means: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Per-cell Σ(y − ȳ)²/n [, Σ(x − x̄)²/n, Σ(x − x̄)(y − ȳ)/n] in one more pass."""
    lookup = raw[list(factors)].copy()
    lookup[_P + "my"] = means["mean_y"]
    if covariate is not None:
        lookup[_P + "mx"] = means["mean_x"]
    t = table.inner_join(ibis.memtable(lookup), list(factors))
    dy = t[outcome].cast("float64") - t[_P + "my"]
    aggs = {_P + "cyy": accurate_sum(t, dy * dy)}
    if covariate is not None:
        dx = t[covariate].cast("float64") - t[_P + "mx"]
        aggs |= {_P + "cxx": accurate_sum(t, dx * dx), _P + "cxy": accurate_sum(t, dx * dy)}
    got = t.group_by(list(factors)).aggregate(**aggs).execute()
    got = lookup[list(factors)].merge(got, on=list(factors), how="left")
    n = raw[_P + "n"].to_numpy(float)
    out = {"var_y": got[_P + "cyy"].to_numpy(float) / n}
    if covariate is not None:
        out |= {
            "var_x": got[_P + "cxx"].to_numpy(float) / n,
            "cov_xy": got[_P + "cxy"].to_numpy(float) / n,
        }
    return out


def _residual(
    t: ir.Table, *, outcome: str, covariate: str | None, slope: float
) -> tuple[ir.FloatingValue, ir.FloatingValue | None]:
    """Residual e_i = y_i - ȳ_c - β (x_i - x̄_c) and the within-cell covariate x̃_i (needs the
    joined constants att_my [, att_mx])."""
    e = t[outcome].cast("float64") - t[_P + "my"]
    if covariate is None:
        return e, None
    xt = t[covariate].cast("float64") - t[_P + "mx"]
    return e - slope * xt, xt


def leverage_pass(
    table: ir.Table,
    *,
    outcome: str,
    covariate: str,
    factors: Sequence[str],
    n: Mapping[int, float],
    mean_y: Mapping[int, float],
    mean_x: Mapping[int, float],
    slope: float,
    within_ss: float,
    power: int,
) -> pd.DataFrame:
    """Per cell: s0 = Σ w e², s1 = Σ w e² x̃, s2 = Σ w e² x̃², max leverage; w = (1 - h)^-power."""
    t = _with_cell_constants(
        table,
        factors,
        {"my": mean_y, "mx": mean_x, "invn": {c: 1.0 / v for c, v in n.items()}},
    )
    e, xt = _residual(t, outcome=outcome, covariate=covariate, slope=slope)
    if xt is None:
        raise EstimationError("leverage_pass needs the covariate's per-cell means")
    h = t[_P + "invn"] + xt * xt / within_ss
    we2 = e * e
    if power == 1:
        we2 = we2 / (1.0 - h)
    elif power == 2:  # plain products: POWER() costs as much as the rest of the pass
        we2 = we2 / ((1.0 - h) * (1.0 - h))
    t = t.mutate(**{_P + "we2": we2, _P + "xt": xt, _P + "h": h})
    out = (
        t.group_by(_P + "cell")
        .aggregate(
            s0=accurate_sum(t, t[_P + "we2"]),
            s1=accurate_sum(t, t[_P + "we2"] * t[_P + "xt"]),
            s2=accurate_sum(t, t[_P + "we2"] * t[_P + "xt"] * t[_P + "xt"]),
            max_h=t[_P + "h"].max(),
        )
        .execute()
    )
    return out.rename(columns={_P + "cell": "cell"}).set_index("cell").sort_index()


def cluster_pass(
    table: ir.Table,
    *,
    outcome: str,
    covariate: str | None,
    factors: Sequence[str],
    cluster: str,
    cells: Sequence[int],
    mean_y: Mapping[int, float],
    mean_x: Mapping[int, float] | None,
    slope: float,
) -> tuple[int, np.ndarray]:
    """Number of clusters G and the meat Σ_g u_g u_g' over the regressors (cells [, x̃]).

    u_g has one entry per cell (Σ of residuals of the cluster's rows in that cell) and, with a
    covariate, Σ x̃ e. Products are summed in the engine, so only a (p+1)² matrix comes back.
    """
    if covariate is not None and mean_x is not None:
        t = _with_cell_constants(table, factors, {"my": mean_y, "mx": mean_x})
        e, xt = _residual(t, outcome=outcome, covariate=covariate, slope=slope)
    else:
        t = _with_cell_constants(table, factors, {"my": mean_y})
        e, xt = _residual(t, outcome=outcome, covariate=None, slope=slope)
    t = t.mutate(**{_P + "e": e, _P + "ex": e * xt if xt is not None else 0.0})
    scores = {
        f"u{i}": accurate_sum(t, ibis.ifelse(t[_P + "cell"] == int(c), t[_P + "e"], 0.0))
        for i, c in enumerate(cells)
    }
    if covariate is not None:
        scores[f"u{len(cells)}"] = accurate_sum(t, t[_P + "ex"])
    per_cluster = t.group_by(cluster).aggregate(**scores)
    r = len(scores)
    prods = {
        f"m{a}_{b}": accurate_sum(per_cluster, per_cluster[f"u{a}"] * per_cluster[f"u{b}"])
        for a in range(r)
        for b in range(a, r)
    }
    row = per_cluster.aggregate(g=per_cluster.count(), **prods).execute().iloc[0]
    meat = np.zeros((r, r))
    for a in range(r):
        for b in range(a, r):
            meat[a, b] = meat[b, a] = float(row[f"m{a}_{b}"])
    return int(row["g"]), meat


@dataclass(frozen=True)
class UnitPass:
    n_units: int
    max_rows_per_unit: int
    units_per_cell: pd.Series  # index: cell bitmask
    n_mixed: int  # units seen in more than one cell
    mixed_examples: pd.DataFrame  # unit, factor levels, rows


def unit_pass(table: ir.Table, *, unit: str, factors: Sequence[str]) -> UnitPass:
    """Is every unit in exactly one arm? Rows per unit, and units per cell, in one query."""
    cell = cell_expr(table, factors)
    t = table.mutate(**{_P + "cell": cell})
    per_unit = t.group_by(unit).aggregate(
        lo=t[_P + "cell"].min(), hi=t[_P + "cell"].max(), rows=t.count()
    )
    summary = (
        per_unit.group_by("lo")
        .aggregate(
            units=per_unit.count(),
            mixed=(per_unit.lo != per_unit.hi).cast("int64").sum(),
            max_rows=per_unit.rows.max(),
        )
        .execute()
    )
    n_mixed = int(summary["mixed"].sum())
    examples = pd.DataFrame()
    if n_mixed:
        bad = (
            per_unit.filter(per_unit.lo != per_unit.hi)
            .select(unit)
            .limit(config.get().example_rows)
        )
        sub = t.semi_join(bad, unit)
        arms = sub.group_by([unit, *factors]).aggregate(rows=sub.count())
        examples = arms.order_by([unit, *factors]).execute()
    return UnitPass(
        n_units=int(summary["units"].sum()),
        max_rows_per_unit=int(summary["max_rows"].max()) if len(summary) else 0,
        units_per_cell=summary.set_index("lo")["units"].astype("int64").sort_index(),
        n_mixed=n_mixed,
        mixed_examples=examples,
    )


# -- ratio metrics ---------------------------------------------------------------------------------
LIN_Y, LIN_X = _P + "lin_y", _P + "lin_x"
"""Columns of `linearised_units`: the unit's linearised ratio (and covariate ratio)."""

RATIO_VALUES = ("N", "D", "A", "B")
"""Per-unit value columns of `ratio_units`: numerator, denominator, and the covariate's
numerator and denominator (B = 1 for a single covariate column)."""


def ratio_units(
    table: ir.Table,
    *,
    numerator: str,
    denominator: str,
    covariate: Sequence[str],
    factors: Sequence[str],
    unit: str | None,
    cluster: str | None,
) -> ir.Table:
    """One row per randomisation unit (an expression, evaluated only inside the aggregates): the
    factors, [unit, cluster], the unit's sums N, D [, A, B] of the ratio's columns, its row count,
    and non-null counts per column (`nn0`, `nn1`, ...). Without `unit` every row is a unit.

    Integer columns are summed as integers (their range is checked before the cast to double).
    """
    cols = [numerator, denominator, *covariate]
    names = ["N", "D", "A", "B"][: len(cols)]
    if unit is None:
        out: dict[str, ir.Value] = {f: table[f] for f in factors}
        if cluster is not None:
            out[cluster] = table[cluster]
        for name, col in zip(names, cols, strict=True):
            value = table[col]
            out[_P + name] = value.cast("int64") if value.type().is_boolean() else value
        out[_P + "rows"] = ibis.literal(1, type="int64")
        for i, col in enumerate(cols):
            out[f"{_P}nn{i}"] = table[col].notnull().cast("int64")
        units = table.select(**out)
    else:
        aggs: dict[str, ir.Value] = {}
        for name, col in zip(names, cols, strict=True):
            typ = table[col].type()
            if typ.is_integer() or typ.is_boolean():
                aggs[_P + name] = table[col].cast("int64").sum()
            else:
                aggs[_P + name] = accurate_sum(table, table[col])
        aggs[_P + "rows"] = table.count()
        for i, col in enumerate(cols):
            aggs[f"{_P}nn{i}"] = table[col].count()
        if cluster is not None and cluster != unit:
            aggs[_P + "cl_lo"] = table[cluster].min()
            aggs[_P + "cl_hi"] = table[cluster].max()
        units = table.group_by([unit, *factors]).aggregate(**aggs)
        if cluster is not None and cluster != unit:
            units = units.mutate(**{cluster: units[_P + "cl_lo"]})
    if len(covariate) == 1:
        units = units.mutate(**{_P + "B": ibis.literal(1.0, type="float64")})
    return units


@dataclass(frozen=True)
class RatioPass:
    """Per cell (one row per distinct factor combination): factor0 … factor{k-1}, n (units), rows,
    s_<V> and s_<V><W> (Σ of the per-unit values and of their cross-products, V ≤ W in N, D, A,
    B), zero_den (units whose denominator sum is 0), zero_den_num (those with a nonzero
    numerator), the per-unit range lo_N, hi_N, lo_D, hi_D, and mixed_clusters."""

    frame: pd.DataFrame
    suspect: tuple[str, ...]
    """User-side (internal) columns with NULLs or non-finite sums; `require_complete` names rows."""


def ratio_pass(
    units: ir.Table,
    *,
    columns: Sequence[str],
    factors: Sequence[str],
    check_clusters: bool,
) -> RatioPass:
    """The sufficient statistics of a ratio metric per cell, in one GROUP BY over `ratio_units`.

    `columns` are the (internal) table columns behind N, D [, A [, B]], for naming suspects.
    """
    values = list(RATIO_VALUES[: 2 if len(columns) == 2 else 4])
    v = {name: units[_P + name].cast("float64") for name in values}
    aggs: dict[str, ir.Value] = {
        _P + "n": units.count(),
        _P + "rows": units[_P + "rows"].sum(),
    }
    for i, a in enumerate(values):
        aggs[f"{_P}s_{a}"] = accurate_sum(units, v[a])
        for b in values[i:]:
            aggs[f"{_P}s_{a}{b}"] = accurate_sum(units, v[a] * v[b])
    zero = v["D"] == 0.0
    aggs[_P + "zero_den"] = zero.cast("int64").sum()
    aggs[_P + "zero_den_num"] = (zero & (v["N"] != 0.0)).cast("int64").sum()
    for name in ("N", "D"):
        raw = units[_P + name]
        finite = ~is_missing(raw)
        aggs[f"{_P}lo_{name}"] = raw.min(where=finite)
        aggs[f"{_P}hi_{name}"] = raw.max(where=finite)
    for i in range(len(columns)):
        aggs[f"{_P}nn{i}"] = units[f"{_P}nn{i}"].sum()
    if check_clusters:
        aggs[_P + "mixed_clusters"] = (
            (units[_P + "cl_lo"] != units[_P + "cl_hi"]).cast("int64").sum()
        )
    raw = units.group_by(list(factors)).aggregate(**aggs).execute()
    rows = raw[_P + "rows"].to_numpy(float)
    suspect = []
    for i, col in enumerate(columns):
        nulls = bool(np.any(raw[f"{_P}nn{i}"].fillna(0).to_numpy(float) < rows))
        name = values[i]
        sums = raw[[f"{_P}s_{name}", f"{_P}s_{name}{name}"]].to_numpy(float)
        nonfinite = not bool(np.all(np.isfinite(sums)))
        if nulls or nonfinite:
            suspect.append(col)
    positional = {f: f"factor{j}" for j, f in enumerate(factors)}
    frame = (
        raw.drop(columns=[f"{_P}nn{i}" for i in range(len(columns))])
        .rename(columns=positional)
        .rename(columns=lambda c: c.removeprefix(_P))
    )
    return RatioPass(frame=frame, suspect=tuple(suspect))


def linearised_units(
    units: ir.Table,
    *,
    factors: Sequence[str],
    constants: Mapping[str, Mapping[int, float]],
    keep: Sequence[str] = (),
) -> ir.Table:
    """Each unit's delta-method linearised value, as a pseudo-observation whose cell mean is the
    cell's ratio: y* = R_c + (N - R_c D) / D̄_c [and x* = Q_c + (A - Q_c B) / B̄_c]. The mean
    machinery (HC leverage, CR1 scores) run on y*, x* gives the delta-method covariances.

    `constants` maps R, iD [, Q, iB] (iD = 1 / D̄_c) to per-cell values.
    """
    t = _with_cell_constants(units, factors, constants)
    out: dict[str, ir.Value] = {f: t[f] for f in factors}
    out |= {k: t[k] for k in keep}
    n, d = t[_P + "N"].cast("float64"), t[_P + "D"].cast("float64")
    out[LIN_Y] = t[_P + "R"] + (n - t[_P + "R"] * d) * t[_P + "iD"]
    if "Q" in constants:
        a, b = t[_P + "A"].cast("float64"), t[_P + "B"].cast("float64")
        out[LIN_X] = t[_P + "Q"] + (a - t[_P + "Q"] * b) * t[_P + "iB"]
    return t.select(**out)


def zero_denominator_examples(
    units: ir.Table,
    *,
    unit: str | None,
    numerator: str,
    denominator: str,
    limit: int,
    nonzero_numerator: bool,
) -> pd.DataFrame:
    """A few units whose denominator is 0 (and, with `nonzero_numerator`, whose numerator is not),
    with their sums under the user's column names `numerator` / `denominator`."""
    d, n = units[_P + "D"].cast("float64"), units[_P + "N"].cast("float64")
    shown = [unit] if unit is not None else []
    pred = (d == 0.0) & (n != 0.0) if nonzero_numerator else d == 0.0
    picked = units.filter(pred).select(
        *shown, **{numerator: units[_P + "N"], denominator: units[_P + "D"]}
    )
    return picked.limit(limit).execute()


def ratio_centred_moments(
    units: ir.Table,
    *,
    factors: Sequence[str],
    constants: Mapping[str, Mapping[int, float]],
) -> pd.DataFrame:
    """Per cell Σe², [Σf², Σef] of the linearised deviations e = (N - R D)/D̄, f = (A - Q B)/B̄,
    summed directly (a second pass, used where the sums of squares would cancel)."""
    t = _with_cell_constants(units, factors, constants)
    n, d = t[_P + "N"].cast("float64"), t[_P + "D"].cast("float64")
    e = (n - t[_P + "R"] * d) * t[_P + "iD"]
    aggs = {"ee": accurate_sum(t, e * e)}
    if "Q" in constants:
        a, b = t[_P + "A"].cast("float64"), t[_P + "B"].cast("float64")
        f = (a - t[_P + "Q"] * b) * t[_P + "iB"]
        aggs |= {"ff": accurate_sum(t, f * f), "ef": accurate_sum(t, e * f)}
    out = t.group_by(_P + "cell").aggregate(**aggs).execute()
    return out.rename(columns={_P + "cell": "cell"}).set_index("cell").sort_index()
