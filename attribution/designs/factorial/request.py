"""Request checks of `factorial()`: argument roles and options, factor columns in the data, and
whether the requested covariance is estimable from the cells observed (typed errors that name the
columns, example rows and the fix)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.designs.factorial.aliasing import cell_frame
from attribution.designs.factorial.ols import CellStats
from attribution.errors import DataError, DesignError, EstimationError, OptionError
from attribution.metrics import Mean, Metric, Ratio, as_metric
from attribution.options import Vcov, check_option, plain

__all__ = [
    "MAX_FACTORS",
    "RESERVED",
    "OutcomeSpec",
    "check_binary",
    "check_cluster_count",
    "check_covariate_varies",
    "check_factor_types",
    "check_factor_values",
    "check_hc_cells",
    "check_leverage",
    "check_ratio_cells",
    "check_ratio_range",
    "check_ratio_roles",
    "check_request",
    "check_residual_df",
    "check_units_in_one_cluster",
    "check_unreplicated",
    "check_vcov",
    "resolve_outcome",
]

MAX_FACTORS = 10
"""Up to 1,024 cells; larger screening designs belong in a dedicated DOE package."""

RESERVED = ("cell", "n", "mean", "adjusted_mean", "std_error")
"""Column names of `FactorialResult.cell_means` that a factor may not use."""


@dataclass(frozen=True)
class OutcomeSpec:
    """What `outcome=` asks for, in column terms: a mean (`column`, optional `covariate`) or a ratio
    (`numerator`, `denominator`, covariate columns: none, one, or a (numerator, denominator) pair)."""

    metric: Metric
    name: str
    """The metric's name: labels the result and fills `tidy()`'s `metric` column."""
    column: str | None = None
    covariate: str | None = None
    ratio_covariate: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.metric.KIND

    @property
    def is_ratio(self) -> bool:
        return isinstance(self.metric, Ratio)


def resolve_outcome(outcome: Any, covariate: Any) -> OutcomeSpec:
    """`outcome=` as a column name (a `Mean`, today's behaviour) or a metric object; `covariate=`
    and a metric's own covariate are the same thing, so giving both is refused."""
    metric = as_metric(outcome, argument="outcome")
    if covariate is not None and not isinstance(covariate, str):
        raise OptionError(f"covariate must be a column name (str), got {plain(covariate)}")
    if metric.covariate is not None and covariate is not None:
        raise OptionError(
            f"covariate={covariate!r} was given and the outcome metric {metric.name!r} carries "
            f"its own covariate {plain(metric.covariate)}",
            fix="give the covariate once: either covariate= or the metric's covariate",
        )
    if isinstance(metric, Ratio):
        cov = metric.covariate_columns or ((covariate,) if covariate is not None else ())
        return OutcomeSpec(metric=metric, name=str(metric.name), ratio_covariate=tuple(cov))
    if not isinstance(metric, Mean):  # pragma: no cover - as_metric returns the three kinds
        raise OptionError(f"outcome={plain(outcome)} is not a metric factorial() can estimate")
    own = metric.covariate if isinstance(metric.covariate, str) else None
    return OutcomeSpec(
        metric=metric,
        name=str(metric.name),
        column=metric.column,
        covariate=own if own is not None else covariate,
    )


def check_ratio_roles(spec: OutcomeSpec, *, facs: Sequence[str], unit: Any, cluster: Any) -> None:
    """A ratio's columns are distinct from the factors, the unit and the cluster, and its
    covariate is a pre-period measure, not the numerator or denominator themselves."""
    metric = spec.metric
    assert isinstance(metric, Ratio)
    value = (metric.numerator, metric.denominator)
    for role, col in (("unit", unit), ("cluster", cluster)):
        if col is not None and not isinstance(col, str):
            raise OptionError(f"{role} must be a column name (str), got {plain(col)}")
    for col in (*value, *spec.ratio_covariate):
        if col in facs:
            raise OptionError(
                f"column {col!r} of the ratio metric {spec.name!r} is also listed as a factor",
                columns=[col],
                fix="the metric's columns must differ from the factors",
            )
        if col in (unit, cluster):
            raise OptionError(
                f"column {col!r} of the ratio metric {spec.name!r} is also the unit or cluster",
                columns=[col],
            )
    same = [c for c in spec.ratio_covariate if c in value]
    if same:
        raise OptionError(
            f"covariate {same[0]!r} is the ratio's own numerator or denominator",
            columns=same,
            fix="use pre-period measures as the covariate, e.g. covariate=('pre_clicks', "
            "'pre_impressions')",
        )


def check_binary(count: int, column: str, example: object) -> None:
    """A `Proportion` reads a 0/1 column: any other value is a typed error with an example."""
    if count:
        raise DataError(
            f"Proportion({column!r}) needs values 0 or 1, but {count:,} row(s) hold other values "
            f"(e.g. {plain(example)})",
            columns=[column],
            fix=f"recode {column!r} to 0/1, or use Mean({column!r}) for a non-binary outcome",
        )


def check_ratio_range(lo: object, hi: object, *, integer: bool, name: str) -> None:
    """Per-unit sums of a ratio's column: exact in double precision and far from overflow (a
    constant column is fine here: a constant denominator makes the ratio a mean)."""
    from attribution.data.numeric import FLOAT_EXACT_INT, MAX_MAGNITUDE

    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return
    big = max(abs(float(lo)), abs(float(hi)))  # type: ignore[arg-type]
    if integer and max(abs(int(lo)), abs(int(hi))) > FLOAT_EXACT_INT:  # type: ignore[call-overload]
        raise DataError(
            f"column {name!r} holds per-unit sums up to {big:,.0f}, beyond 2**53: their low "
            "digits are lost in double precision",
            columns=[name],
            fix="change the unit of the column before estimating",
        )
    if big > MAX_MAGNITUDE:
        raise EstimationError(
            f"column {name!r} reaches {big:.3g}: its squares overflow double precision",
            columns=[name],
            fix="rescale the column (e.g. divide by a power of ten) before estimating",
        )


def check_ratio_cells(
    frame: pd.DataFrame, facs: Sequence[str], *, numerator: str, denominator: str, units: str
) -> None:
    """Every cell has at least two units (the delta method's variance needs them) and a nonzero
    denominator sum (the cell's ratio is undefined otherwise)."""
    cells = frame["cell"].to_numpy("int64")
    n = frame["n"].to_numpy(float)
    sd = frame["s_D"].to_numpy(float)
    zero = cells[sd == 0]
    if len(zero):
        raise DataError(
            f"{len(zero)} cell(s) have a zero sum of {denominator!r}: the ratio "
            f"{numerator!r}/{denominator!r} is undefined there",
            columns=[denominator, *facs],
            rows=cell_frame(zero.tolist(), facs).assign(
                n=n[sd == 0].astype("int64"), **{f"sum of {denominator}": 0.0}
            ),
            fix=f"check {denominator!r} (every unit of these cells has {denominator} = 0), or "
            "leave these arms out of the ratio metric",
        )
    few = cells[n < 2]
    if len(few):
        raise DesignError(
            f"{len(few)} cell(s) have a single {units[:-1]}: the delta-method variance of a "
            "ratio needs at least two per cell",
            columns=list(facs),
            rows=cell_frame(few.tolist(), facs).assign(n=n[n < 2].astype("int64")),
            fix="a ratio metric needs replicated cells; add units to these cells",
        )


def check_units_in_one_cluster(mixed: int, unit: str | None, cluster: str | None) -> None:
    """Clusters must group whole units (a unit's rows are summed before clustering)."""
    if mixed:
        raise DesignError(
            f"{mixed:,} unit(s) of {unit!r} lie in more than one cluster of {cluster!r}; clusters "
            "must group whole units",
            columns=[str(unit), str(cluster)],
            fix="cluster on a column that is constant within each unit (e.g. the user's home "
            "market)",
        )


def check_request(
    *,
    outcome: Any,
    factors: Any,
    unit: Any,
    cluster: Any,
    covariate: Any,
    allocation: Mapping[str, float] | None,
) -> tuple[str, ...]:
    """Column roles are strings, distinct and consistent; returns the factors as a tuple."""
    if isinstance(factors, str) or not isinstance(factors, Sequence):
        raise OptionError(
            f"factors must be a list of column names, got {factors!r}",
            fix=f"e.g. factors=[{factors!r}]"
            if isinstance(factors, str)
            else "e.g. ['E', 'R', 'K']",
        )
    facs = tuple(factors)
    if not facs:
        raise OptionError("factors is empty", fix="name at least one factor column")
    bad = [f for f in facs if not isinstance(f, str)]
    if bad:
        raise OptionError(f"factor names must be strings, got {bad}")
    dup = sorted({f for f in facs if facs.count(f) > 1})
    if dup:
        raise OptionError(
            f"factor(s) {dup} listed more than once", columns=dup, fix="list each factor once"
        )
    clash = [f for f in facs if f in RESERVED]
    if clash:
        raise OptionError(
            f"factor name(s) {clash} clash with columns of result.cell_means {list(RESERVED)}",
            columns=clash,
            fix="rename the factor column(s) before calling",
        )
    if len(facs) > MAX_FACTORS:
        raise OptionError(
            f"{len(facs)} factors give 2^{len(facs)} cells; at most {MAX_FACTORS} factors are supported",
            columns=list(facs),
        )
    roles = {"outcome": outcome, "unit": unit, "cluster": cluster, "covariate": covariate}
    for role, col in roles.items():
        if col is None and role != "outcome":
            continue
        if not isinstance(col, str):
            raise OptionError(f"{role} must be a column name (str), got {col!r}")
        if col in facs:
            raise OptionError(
                f"{role} {col!r} is also listed as a factor",
                columns=[col],
                fix=f"the {role} must be a different column from the factors",
            )
    if covariate is not None and covariate == outcome:
        raise OptionError(
            f"covariate {covariate!r} is the outcome itself",
            columns=[covariate],
            fix="use a pre-period measure of the outcome as the covariate",
        )
    for role in ("unit", "cluster"):
        if roles[role] is not None and roles[role] in (outcome, covariate):
            raise OptionError(
                f"{role} {roles[role]!r} is also the outcome or covariate", columns=[roles[role]]
            )
    if allocation is not None:
        if not isinstance(allocation, Mapping):
            raise OptionError(f"allocation must be a mapping factor → share, got {allocation!r}")
        unknown = [f for f in allocation if f not in facs]
        if unknown:
            raise OptionError(
                f"allocation names {unknown}, which are not factors",
                fix=f"use keys from {list(facs)}",
            )
        for f, share in allocation.items():
            try:
                ok = 0.0 < float(share) < 1.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise OptionError(
                    f"allocation[{f!r}]={share!r} must be a share strictly between 0 and 1",
                    columns=[f],
                )
    return facs


def check_vcov(vcov: Any, *, cluster: str | None, unit: str | None) -> None:
    """The covariance option, and that it fits the clustering requested."""
    if vcov is not None:
        check_option("vcov", vcov, Vcov)
    if cluster is not None and vcov not in (None, "CR1"):
        raise OptionError(
            f"cluster={cluster!r} was given with vcov={vcov!r}, which ignores clusters",
            columns=[cluster],
            fix="use vcov='CR1' (the default when cluster is given) or drop cluster=",
        )
    if vcov == "CR1" and cluster is None and unit is None:
        raise OptionError(
            "vcov='CR1' needs cluster= (or unit=) to know what to cluster on",
            fix="pass cluster='<column>', e.g. the market the users belong to",
        )


def check_factor_types(table: ir.Table, facs: Sequence[str]) -> None:
    """Factors must be integer or boolean columns: no silent coercion of floats or strings."""
    schema = table.schema()
    for f in facs:
        typ = schema[f]
        if typ.is_integer() or typ.is_boolean():
            continue
        values = table.select(f).distinct().limit(10).execute()[f].tolist()
        raise DataError(
            f"factor {f!r} is {typ} with values {values}{' …' if len(values) == 10 else ''}; "
            "factors must be 0/1 integers or booleans",
            columns=[f],
            fix=f"recode {f!r} to 0/1 integers (1 = the new component) before calling",
        )


def check_factor_values(
    table: ir.Table, frame: pd.DataFrame, facs: Sequence[str], outcome: str
) -> None:
    """No NULL factor and only the values 0/1 (or False/True), read off the per-cell frame."""
    for j, f in enumerate(facs):
        col = frame[f"factor{j}"]
        if col.isna().any():
            rows = table.filter(table[f].isnull()).select(*facs, outcome)
            n_null = int(frame.loc[col.isna(), "n"].sum())
            raise DataError(
                f"factor {f!r} is missing in {n_null:,} rows",
                columns=[f],
                rows=rows.limit(config.get().example_rows).execute(),
                fix="every row must record which arm it was in; drop or repair these rows explicitly",
            )
        values = sorted({v for v in col.tolist()})
        if not set(values) <= {0, 1}:
            extra = [v for v in values if v not in (0, 1)]
            rows = table.filter(~table[f].isin([0, 1])).select(*facs, outcome)
            raise DataError(
                f"factor {f!r} has values {values}; a two-level factor takes only 0 and 1 "
                f"(unexpected: {extra})",
                columns=[f],
                rows=rows.limit(config.get().example_rows).execute(),
                fix=f"recode {f!r} to 0/1 (1 = the new component), or split a multi-level factor "
                "into separate 0/1 factors",
            )


# -- is the requested covariance estimable from the cells observed? ------------------------------
def check_unreplicated(
    st: CellStats, *, covariate: str | None, cluster: str | None, facs: Sequence[str]
) -> None:
    """One row per cell: Lenth's pseudo SE needs enough effects and no covariate or clusters."""
    if covariate is not None or cluster is not None:
        raise DesignError(
            "the design is unreplicated (one row per cell): there is no residual variation "
            "to estimate a covariate slope or cluster-robust errors from",
            columns=[c for c in (covariate, cluster) if c],
            fix="drop covariate= / cluster= (Lenth's pseudo standard error is used), or "
            "replicate the cells",
        )
    if st.p < 4:
        raise DesignError(
            f"an unreplicated design with {st.p} cells leaves too few effects for Lenth's "
            "pseudo standard error",
            columns=list(facs),
            fix="replicate the cells",
        )


def check_residual_df(st: CellStats, facs: Sequence[str]) -> None:
    n, k = st.n_total, st.k_params
    if n - k <= 0:
        raise DesignError(
            f"{n} rows for {k} parameters leave no residual degrees of freedom",
            columns=list(facs),
            fix="more rows per cell are needed",
        )


def check_covariate_varies(st: CellStats, covariate: str) -> None:
    """A covariate constant within cells (or a function of the factors) cannot adjust anything."""
    w = st.within_ss_x
    scale_x = float(np.sum(st.n * (st.ss_x / st.n + st.mean_x**2)))
    if not np.isfinite(w) or w <= 1e-12 * max(scale_x, 1e-300):
        raise DesignError(
            f"covariate {covariate!r} does not vary within cells (it is constant, or a function "
            "of the factors), so it cannot adjust the outcome",
            columns=[covariate],
            fix="use a pre-period measure that varies across units, or drop covariate=",
        )


def check_cluster_count(g: int, cluster: str) -> None:
    if g < 2:
        raise DesignError(
            f"cluster column {cluster!r} has a single cluster; cluster-robust errors need "
            "at least two (and preferably many more)",
            columns=[cluster],
            fix="cluster on a coarser-than-unit column with several values, or use vcov='HC2'",
        )


def check_hc_cells(st: CellStats, vcov_type: str, power: int, facs: Sequence[str]) -> None:
    """HC2/HC3 divide by 1 - h, and a cell with one row has leverage 1."""
    if power and np.any(st.n == 1):
        ones = [c for c, m in zip(st.cells.tolist(), st.n.tolist(), strict=True) if m == 1]
        raise DesignError(
            f"{len(ones)} cell(s) have a single row, whose leverage is 1: {vcov_type} is undefined",
            columns=list(facs),
            rows=cell_frame(ones, facs).assign(n_rows=1),
            fix="use vcov='HC1' or 'iid', or add rows to these cells",
        )


def check_leverage(
    max_h: float, vcov_type: str, power: int, covariate: str, facs: Sequence[str]
) -> None:
    if power and max_h >= 1.0 - 1e-10:
        raise DesignError(
            f"some rows have leverage 1 (a covariate value alone in its cell): {vcov_type} is undefined",
            columns=[covariate, *facs],
            fix="use vcov='HC1', or check the covariate for extreme values",
        )
