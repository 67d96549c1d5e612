"""The check kinds: every rule a contract can state, each registered once.

A table-level kind is one function that runs the check as Ibis expressions in the engine, with
``@register_check(name, required=..., optional=..., params=...)`` naming its YAML keys and the
function that validates them (pandera's registered checks are the model). Parsing, the README's
list of kinds and `validate` all read this registry, so a new kind is added here and nowhere else.
Designs call the same registered checks through `table_check` and `run_check` (``check_panel`` runs
``unique`` and ``balanced_panel``), so a rule has one implementation whoever asks.

Column rules (``not_null``, ``finite``, ``allowed``, ``range``) are registered the same way with
``@column_rule``; each gives a row predicate, and `count_rows` counts all of them for all columns
in one aggregate query.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from attribution import config
from attribution.data.contracts.model import (
    ColumnSpec,
    ContractError,
    TableCheck,
    malformed,
    values_match,
)
from attribution.data.contracts.report import CheckResult
from attribution.data.engine import as_table
from attribution.data.roles import internal
from attribution.errors import DataError

__all__ = [
    "CheckArgs",
    "CheckContext",
    "CheckKind",
    "CheckParams",
    "ColumnRule",
    "check_kind",
    "check_kinds",
    "column_rule",
    "column_rules",
    "count_rows",
    "declare_check",
    "is_infinite",
    "is_missing",
    "read_names",
    "register_check",
    "run_check",
    "table_check",
]


# --------------------------------------------------------------------------------------------
# Expression building blocks (Spark-safe)
# --------------------------------------------------------------------------------------------


def is_infinite(col: ir.Value) -> ir.BooleanValue:
    """±inf test that works on every backend.

    ibis 12 compiles ``isinf()`` to FALSE on Spark, so compare against the infinities explicitly.
    """
    if not col.type().is_floating():
        return ibis.literal(False)
    return (col == float("inf")) | (col == float("-inf"))


def is_missing(col: ir.Value) -> ir.BooleanValue:
    """NULL, NaN or ±inf (for floating columns); NULL otherwise."""
    if col.type().is_floating():
        return col.isnull() | col.isnan() | is_infinite(col)
    return col.isnull()


def as_int(value: Any) -> int:
    """An engine count as int (NULL / NaN / NA, e.g. a sum over no rows, is 0)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return 0
    return int(value)


def _free_name(name: str, taken: Sequence[str]) -> str:
    """`name` for a count column in example rows, unless a user column already has it."""
    return name if name not in taken else f"{name} (count)"


def count_rows(
    table: ir.Table, predicates: Mapping[str, ir.BooleanValue]
) -> tuple[int, dict[str, int]]:
    """The table's row count and the number of rows matching each predicate: one aggregate query."""
    aggs: dict[str, Any] = {internal("n_rows"): table.count()}
    names = list(predicates)
    for i, name in enumerate(names):
        aggs[internal(f"c{i}")] = predicates[name].cast("int64").sum()
    counts = table.aggregate(**aggs).execute().iloc[0]
    return as_int(counts[internal("n_rows")]), {
        n: as_int(counts[internal(f"c{i}")]) for i, n in enumerate(names)
    }


# --------------------------------------------------------------------------------------------
# Column rules: a row predicate each, all counted in one query
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRule:
    """A rule on one column's values; the check id is ``<column>.<name>``, `n_failing` counts rows.

    `describe(col)` is the rule's message for that column, or None when the column does not ask
    for the rule; `violated(col, c)` is true on the rows that break it (never NULL).
    """

    name: str
    describe: Callable[[ColumnSpec], str | None]
    violated: Callable[[ColumnSpec, ir.Column], ir.BooleanValue]


_COLUMN_RULES: dict[str, ColumnRule] = {}


def column_rule(
    name: str, *, describe: Callable[[ColumnSpec], str | None]
) -> Callable[[Callable[[ColumnSpec, ir.Column], ir.BooleanValue]], Any]:
    """Register a column rule (its predicate is the decorated function); rules run in this order."""

    def register(fn: Callable[[ColumnSpec, ir.Column], ir.BooleanValue]) -> Any:
        if name in _COLUMN_RULES:
            raise ValueError(f"column rule {name!r} is already registered")

        def violated(col: ColumnSpec, c: ir.Column) -> ir.BooleanValue:
            return fn(col, c).fill_null(False)

        _COLUMN_RULES[name] = ColumnRule(name, describe, violated)
        return fn

    return register


def column_rules(col: ColumnSpec) -> list[tuple[ColumnRule, str]]:
    """The rules `col` asks for, each with its message."""
    out = []
    for rule in _COLUMN_RULES.values():
        message = rule.describe(col)
        if message is not None:
            out.append((rule, message))
    return out


def _absent(c: ir.Column) -> ir.BooleanValue:
    # NULL, or NaN in a floating column (is_infinite(NULL) is NULL, hence the fill)
    return is_missing(c) & ~is_infinite(c).fill_null(False)


@column_rule(
    "not_null",
    describe=lambda col: (
        None if col.nullable else f"{col.name} has no missing values (NULL or NaN)"
    ),
)
def _not_null(col: ColumnSpec, c: ir.Column) -> ir.BooleanValue:
    return _absent(c)


@column_rule(
    "finite", describe=lambda col: f"{col.name} is finite (no ±inf)" if col.finite else None
)
def _finite(col: ColumnSpec, c: ir.Column) -> ir.BooleanValue:
    # NaN is reported by not_null (pandas writes missing floats as NaN; engines differ on whether
    # NaN survives the transfer), so this rule counts only ±inf
    return is_infinite(c) if c.type().is_floating() else ibis.literal(False)


@column_rule(
    "allowed",
    describe=lambda col: (
        None if col.allowed is None else f"{col.name} is one of {list(col.allowed)}"
    ),
)
def _allowed(col: ColumnSpec, c: ir.Column) -> ir.BooleanValue:
    return ~_absent(c) & ~c.isin(list(col.allowed or ()))


@column_rule(
    "range",
    describe=lambda col: None if col.min is None and col.max is None else col.range_text(),
)
def _range(col: ColumnSpec, c: ir.Column) -> ir.BooleanValue:
    # NaN excluded (it is reported by not_null / finite), ±inf included
    bad = []
    if col.min is not None:
        bad.append(c < col.min if col.min_inclusive else c <= col.min)
    if col.max is not None:
        bad.append(c > col.max if col.max_inclusive else c >= col.max)
    return ~_absent(c) & ibis.or_(*bad)


# --------------------------------------------------------------------------------------------
# The table-check registry
# --------------------------------------------------------------------------------------------

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_COMMON_KEYS = ("id", "kind", "message")
_NOTHING = object()


@dataclass(frozen=True)
class CheckParams:
    """What a kind's parameter validation returns: the columns the check is about, its validated
    parameters and the message used when the contract gives none."""

    columns: tuple[str, ...]
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckContext:
    """What a running check may need besides the table and its declaration."""

    n_examples: int
    n_rows: int | None = None  # the table's row count, when already known
    references: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckKind:
    """A registered table-check kind (see `register_check`)."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    params: Callable[[CheckArgs], CheckParams]
    run: Callable[[ir.Table, TableCheck, CheckContext], CheckResult]
    typed: bool
    summary: str

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key a check of this kind may have in YAML."""
        return (*_COMMON_KEYS, *self.required, *self.optional)


_REGISTRY: dict[str, CheckKind] = {}

CheckFn = Callable[[ir.Table, TableCheck, CheckContext], CheckResult]


def register_check(
    name: str,
    *,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    params: Callable[[CheckArgs], CheckParams],
    typed: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Register a table-check kind: the decorated function runs it in the engine.

    `required` and `optional` are its YAML keys besides id, kind and message; `params` validates
    them (raising through `CheckArgs.fail`, which names the file and key) and returns the check's
    columns, parameters and default message. `typed` kinds compare against literal values or
    another table, so they are skipped when a column has the wrong type; the others only need
    the columns to exist. The function gets the table, the `TableCheck` and a `CheckContext`, and
    returns a `CheckResult` after pulling only counts and at most ``ctx.n_examples`` example rows.
    """
    if not _ID.fullmatch(name) or "-" in name:
        raise ValueError(f"check kind {name!r} must be an identifier")
    clash = set(required) & set(optional) or (set(required) | set(optional)) & set(_COMMON_KEYS)
    if clash:
        raise ValueError(f"check kind {name!r}: keys {sorted(clash)} are declared twice")

    def register(fn: CheckFn) -> CheckFn:
        if name in _REGISTRY:
            raise ValueError(f"check kind {name!r} is already registered")
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        _REGISTRY[name] = CheckKind(
            name=name,
            required=tuple(required),
            optional=tuple(optional),
            params=params,
            run=fn,
            typed=typed,
            summary=summary,
        )
        return fn

    return register


def check_kinds() -> tuple[str, ...]:
    """Names of the registered table-check kinds, in registration order."""
    return tuple(_REGISTRY)


def check_kind(name: str) -> CheckKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ContractError(
            f"{name!r} is not a check kind", fix=f"use one of {list(_REGISTRY)}"
        ) from None


def read_names(value: Any, where: str, source: str | None) -> tuple[str, ...]:
    """A column name or a non-empty list of distinct column names, as a YAML key gives them."""
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise malformed(
            where,
            f"must be a column name or a list of them, got {value!r}",
            "e.g. [E, R, K]",
            source,
        )
    if len(set(value)) != len(value):
        raise malformed(where, f"repeats a column: {value!r}", "list each column once", source)
    return tuple(value)


class CheckArgs:
    """A check's YAML mapping, as its kind's parameter validation reads it.

    Every reader raises a `ContractError` naming the file, the key and the fix; `columns` also
    checks the names against the contract's declared columns and records them as read.
    """

    def __init__(
        self,
        item: Mapping[str, Any],
        *,
        kind: str,
        where: str,
        source: str | None,
        column_types: Mapping[str, tuple[str, ...]] | None,
    ) -> None:
        self.item = item
        self.kind = kind
        self.where = where
        self.source = source
        self.column_types = column_types
        self.read: list[str] = []

    def fail(self, key: str | None, problem: str, fix: str) -> ContractError:
        where = self.where if key is None else f"{self.where}.{key}"
        return malformed(where, problem, fix, self.source)

    def get(self, key: str, default: Any = None) -> Any:
        return self.item.get(key, default)

    def names(self, key: str, default: Any = _NOTHING) -> tuple[str, ...]:
        """A column name or a non-empty list of distinct column names."""
        value = self.item[key] if default is _NOTHING else self.item.get(key, default)
        return read_names(value, f"{self.where}.{key}", self.source)

    def columns(self, key: str) -> tuple[str, ...]:
        """Like `names`, and each must be a declared column of the contract."""
        cols = self.names(key)
        if self.column_types is not None:
            undeclared = [c for c in cols if c not in self.column_types]
            if undeclared:
                raise self.fail(
                    key,
                    f"names undeclared column(s) {undeclared}",
                    f"declare them under 'columns' (declared: {sorted(self.column_types)})",
                )
        self.read.extend(c for c in cols if c not in self.read)
        return cols

    def integer(self, key: str, *, minimum: int, example: str, default: Any = _NOTHING) -> int:
        value = self.item[key] if default is _NOTHING else self.item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            what = "a positive integer" if minimum == 1 else "a non-negative integer"
            if minimum not in (0, 1):
                what = f"an integer >= {minimum}"
            raise self.fail(key, f"must be {what}, got {value!r}", f"e.g. {key}: {example}")
        return value

    def types(self, column: str) -> tuple[str, ...] | None:
        """The declared types of `column` (None when checks are built outside a contract)."""
        return None if self.column_types is None else self.column_types[column]


def declare_check(
    item: Any,
    *,
    where: str,
    source: str | None = None,
    column_types: Mapping[str, tuple[str, ...]] | None = None,
) -> TableCheck:
    """A `TableCheck` from its YAML mapping (``id``, ``kind``, the kind's keys, ``message``).

    `where` names the item in errors (``checks[2]``); `column_types` are the contract's declared
    columns, or None outside a contract (then column names are not checked against a declaration).
    """
    if not isinstance(item, Mapping):
        raise malformed(
            where, "must be a mapping with id, kind, ...", "e.g. {id: x, kind: min_rows}", source
        )
    for key in ("id", "kind"):
        if key not in item:
            raise malformed(f"{where}.{key}", "is required but missing", f"add '{key}:'", source)
    cid, name = item["id"], item["kind"]
    if not isinstance(cid, str) or not _ID.fullmatch(cid):
        raise malformed(
            f"{where}.id",
            f"must be an identifier without dots (those are column rules), got {cid!r}",
            "e.g. id: one_arm_per_user",
            source,
        )
    if not isinstance(name, str) or name not in _REGISTRY:
        raise malformed(
            f"{where}.kind",
            f"is {name!r}, not a check kind",
            f"use one of the registered kinds {list(_REGISTRY)}",
            source,
        )
    kind = _REGISTRY[name]
    unknown = sorted(set(map(str, item)) - set(kind.keys))
    if unknown:
        raise malformed(
            f"{where}.{unknown[0]}",
            f"is not a key of a {name!r} check",
            f"allowed keys: {sorted(kind.keys)}",
            source,
        )
    missing = [k for k in kind.required if k not in item]
    if missing:
        raise malformed(
            f"{where}.{missing[0]}", f"is required by a {name!r} check", "add it", source
        )
    message = item.get("message")
    if message is not None and not isinstance(message, str):
        raise malformed(f"{where}.message", "must be text", "write a sentence", source)
    args = CheckArgs(item, kind=name, where=where, source=source, column_types=column_types)
    got = kind.params(args)
    reads = tuple(dict.fromkeys([*got.columns, *args.read]))
    return TableCheck(
        id=cid,
        kind=name,
        columns=got.columns,
        message=(message or got.message).strip(),
        params=tuple(got.values.items()),
        reads=reads,
    )


def table_check(
    kind: str, params: Mapping[str, Any], *, id: str | None = None, message: str | None = None
) -> TableCheck:
    """A check built in code, with the same keys and validation as in a contract file.

    E.g. ``table_check("balanced_panel", {"unit": "unit", "time": "period"})``.
    """
    item: dict[str, Any] = {"id": id or kind, "kind": kind, **params}
    if message is not None:
        item["message"] = message
    return declare_check(item, where=f"{kind} check")


def run_check(
    table: ir.Table,
    check: TableCheck,
    *,
    n_examples: int | None = None,
    n_rows: int | None = None,
    references: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Run one registered check in the engine holding `table`.

    Only counts and at most `n_examples` (default ``config.example_rows``) rows come back.
    """
    kind = check_kind(check.kind)
    ctx = CheckContext(
        n_examples=config.get().example_rows if n_examples is None else n_examples,
        n_rows=n_rows,
        references=dict(references or {}),
    )
    return kind.run(table, check, ctx)


# --------------------------------------------------------------------------------------------
# The kinds
# --------------------------------------------------------------------------------------------


def _unique_params(args: CheckArgs) -> CheckParams:
    cols = args.columns("columns")
    return CheckParams(cols, f"({', '.join(cols)}) identifies each row")


@register_check("unique", required=("columns",), params=_unique_params)
def unique(t: ir.Table, check: TableCheck, ctx: CheckContext) -> CheckResult:
    """A combination of `columns` occurs more than once (`n_failing`: duplicated key values)."""
    keys = list(check.columns)
    n_rows = internal("n_rows")  # reserved: a key column may itself be called n_rows
    grouped = t.group_by(keys).aggregate(**{n_rows: t.count()})
    dups = grouped.filter(grouped[n_rows] > 1)
    count = as_int(dups.count().execute())
    examples = pd.DataFrame()
    if count and ctx.n_examples:
        examples = dups.order_by(ibis.desc(n_rows)).limit(ctx.n_examples).execute()
        examples = examples.rename(columns={n_rows: _free_name("n_rows", keys)})
    return CheckResult(
        check.id, check.kind, check.columns, count == 0, count, check.message, examples
    )


def _constant_within_params(args: CheckArgs) -> CheckParams:
    cols = args.columns("columns")
    within = args.columns("within")
    return CheckParams(
        cols, f"{', '.join(cols)} constant within each {', '.join(within)}", {"within": within}
    )


@register_check("constant_within", required=("columns", "within"), params=_constant_within_params)
def constant_within(t: ir.Table, check: TableCheck, ctx: CheckContext) -> CheckResult:
    """Some group of `within` has more than one distinct value of any of `columns`."""
    within, cols = list(check.param("within")), list(check.columns)

    def varies(c: str) -> ir.BooleanValue:
        # min != max is far cheaper than a per-group count distinct; both ignore NULLs
        col = t[c]
        if col.type().is_boolean():
            return col.nunique() > 1
        return col.min() != col.max()

    groups = t.group_by(within).aggregate(
        **{internal(f"v{i}"): varies(c).fill_null(False) for i, c in enumerate(cols)}
    )
    bad = groups.filter(ibis.or_(*[groups[internal(f"v{i}")] for i in range(len(cols))]))
    count = as_int(bad.count().execute())
    examples = pd.DataFrame()
    if count and ctx.n_examples:
        keys = bad.select(*within).limit(ctx.n_examples)
        examples = (
            t.semi_join(keys, within)
            .select(*within, *cols)
            .distinct()
            .order_by(within)
            .limit(ctx.n_examples)
            .execute()
        )
    return CheckResult(
        check.id, check.kind, check.columns, count == 0, count, check.message, examples
    )


def _balanced_panel_params(args: CheckArgs) -> CheckParams:
    unit, time = args.columns("unit"), args.columns("time")
    if len(unit) != 1 or len(time) != 1 or unit == time:
        raise args.fail(
            None, "needs one unit and one distinct time column", "e.g. unit: unit, time: period"
        )
    return CheckParams(
        (unit[0], time[0]),
        f"every {unit[0]} observed in every {time[0]}",
        {"unit": unit[0], "time": time[0]},
    )


@register_check("balanced_panel", required=("unit", "time"), params=_balanced_panel_params)
def balanced_panel(t: ir.Table, check: TableCheck, ctx: CheckContext) -> CheckResult:
    """Some unit is not observed in every distinct `time` value (`n_failing`: units with gaps).

    One query gives the units, periods, observed unit-periods, rows and short units (`stats`);
    a second fetches example units only when some are short.
    """
    unit, time = check.param("unit"), check.param("time")
    observed, total, rows = internal("observed"), internal("total"), internal("rows")
    per_unit = t.group_by(unit).aggregate(**{observed: t[time].nunique(), rows: t.count()})
    panel = per_unit.cross_join(t.aggregate(**{total: t[time].nunique()}))
    short = panel[observed] < panel[total]
    names = ("n_units", "n_periods", "n_cells", "n_rows", "n_short")
    row = (
        panel.aggregate(
            **{
                internal("n_units"): panel.count(),
                internal("n_periods"): panel[total].max(),
                internal("n_cells"): panel[observed].sum(),
                internal("n_rows"): panel[rows].sum(),
                internal("n_short"): short.cast("int64").sum(),
            }
        )
        .execute()
        .iloc[0]
    )
    stats = {k: as_int(row[internal(k)]) for k in names}
    count = stats["n_short"]
    examples = pd.DataFrame()
    message = check.message
    if count:
        if ctx.n_examples:
            examples = (
                panel.filter(short)
                .select(unit, observed, total)
                .order_by([observed, unit])
                .limit(ctx.n_examples)
                .execute()
                .rename(
                    columns={
                        observed: _free_name("periods_observed", [unit]),
                        total: _free_name("periods_total", [unit]),
                    }
                )
            )
        n_units, n_periods = stats["n_units"], stats["n_periods"]
        message += (
            f" ({count:,} of {n_units:,} units miss some of the {n_periods:,} periods; "
            f"{n_units * n_periods - stats['n_cells']:,} unit-period cells absent)"
        )
    return CheckResult(
        check.id, check.kind, check.columns, count == 0, count, message, examples, stats=stats
    )


def _all_cells_present_params(args: CheckArgs) -> CheckParams:
    cols = args.columns("columns")
    levels = args.get("levels", [0, 1])
    if (
        not isinstance(levels, list | tuple)
        or len(levels) < 2
        or len(set(map(repr, levels))) != len(levels)
    ):
        raise args.fail(
            "levels", f"must list ≥ 2 distinct values, got {levels!r}", "e.g. levels: [0, 1]"
        )
    min_count = args.integer("min_count", minimum=1, example="1", default=1)
    for c in cols:
        types = args.types(c)
        if types is not None and not values_match(types, levels):
            raise args.fail(
                "levels",
                f"values {levels!r} do not match column {c!r} of type {' or '.join(types)}",
                "use numbers for numeric columns, text for string columns",
            )
    return CheckParams(
        cols,
        f"each of the {len(levels) ** len(cols)} combinations of {', '.join(cols)} "
        f"has at least {min_count} row(s)",
        {"levels": tuple(levels), "min_count": min_count},
    )


def _norm(value: Any) -> Any:
    """Compare engine values with YAML levels: numbers as float, everything else as text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


@register_check(
    "all_cells_present",
    required=("columns",),
    optional=("levels", "min_count"),
    params=_all_cells_present_params,
    typed=True,
)
def all_cells_present(t: ir.Table, check: TableCheck, ctx: CheckContext) -> CheckResult:
    """Some combination of `levels` across `columns` has fewer than `min_count` rows."""
    cols = list(check.columns)
    levels = list(check.param("levels"))
    min_count = check.param("min_count")
    inside = ibis.and_(*[t[c].isin(levels) for c in cols])
    # bounded by len(levels) ** len(cols) rows
    sub = t.filter(inside)
    n = internal("n")
    observed = sub.group_by(cols).aggregate(**{n: sub.count()}).execute()
    seen = {
        tuple(_norm(v) for v in row[:-1]): int(row[-1])
        for row in observed[[*cols, n]].itertuples(index=False)
    }
    missing = []
    for cell in itertools.product(levels, repeat=len(cols)):
        n = seen.get(tuple(_norm(v) for v in cell), 0)
        if n < min_count:
            missing.append((*cell, n))
    examples = (
        pd.DataFrame(missing, columns=[*cols, _free_name("n_rows", cols)])
        if missing
        else pd.DataFrame()
    )
    n_cells = len(levels) ** len(cols)
    message = check.message
    if missing:
        message += f" ({len(missing)} of {n_cells} cells below {min_count} row(s))"
    return CheckResult(
        check.id, check.kind, check.columns, not missing, len(missing), message, examples
    )


def _min_rows_params(args: CheckArgs) -> CheckParams:
    n = args.integer("min_rows", minimum=0, example="8")
    return CheckParams((), f"at least {n:,} rows", {"min_rows": n})


@register_check("min_rows", required=("min_rows",), params=_min_rows_params)
def min_rows(t: ir.Table, check: TableCheck, ctx: CheckContext) -> CheckResult:
    """The table has fewer than `min_rows` rows (`n_failing`: rows short)."""
    n_rows = as_int(t.count().execute()) if ctx.n_rows is None else ctx.n_rows
    short = max(check.param("min_rows") - n_rows, 0)
    message = check.message + ("" if not short else f" (table has {n_rows:,})")
    return CheckResult(check.id, check.kind, (), short == 0, short, message)


def _reference_params(args: CheckArgs) -> CheckParams:
    cols = args.columns("columns")
    table = args.get("table")
    if not isinstance(table, str) or not table:
        raise args.fail(
            "table", f"must name the referenced table, got {table!r}", "e.g. table: surface_panel"
        )
    ref_cols = args.names("ref_columns", list(cols))
    if len(ref_cols) != len(cols):
        raise args.fail(
            "ref_columns",
            "must pair one-to-one with columns",
            "list as many ref_columns as columns",
        )
    return CheckParams(
        cols,
        f"every ({', '.join(cols)}) occurs in {table}.({', '.join(ref_cols)})",
        {"table": table, "ref_columns": ref_cols},
    )


@register_check(
    "reference",
    required=("columns", "table"),
    optional=("ref_columns",),
    params=_reference_params,
    typed=True,
)
def reference(t: ir.Table, check: TableCheck, ctx: CheckContext) -> CheckResult:
    """A non-null value of `columns` is absent from `table.ref_columns` (distinct orphan keys)."""
    name, ref_columns = check.param("table"), check.param("ref_columns")
    if name not in ctx.references:
        return CheckResult(
            check.id,
            check.kind,
            check.columns,
            True,
            0,
            f"{check.message} (skipped: pass references={{{name!r}: table}} to run it)",
            skipped=True,
        )
    ref = as_table(ctx.references[name])
    ref_schema = ref.schema()
    absent = [c for c in ref_columns if c not in ref_schema]
    if absent:
        raise DataError(
            f"reference table {name!r} lacks column(s) {absent} needed by check {check.id!r}",
            columns=absent,
            fix=f"its columns are {list(ref_schema.names)}",
        )
    b1, b2 = _own_backend(t), _own_backend(ref)
    if b1 is not None and b2 is not None and b1 is not b2:
        raise DataError(
            f"check {check.id!r}: the table and reference table {name!r} live in "
            "different engines, so they cannot be joined",
            columns=list(check.columns),
            fix="put both tables in the same backend (or pass the reference as a pandas frame)",
        )
    cols = list(check.columns)
    pairs = list(zip(cols, ref_columns, strict=True))
    bad_types = [
        f"{c} is {t[c].type()} but {name}.{rc} is {ref[rc].type()}"
        for c, rc in pairs
        if not _comparable(t[c].type(), ref[rc].type())
    ]
    if bad_types:
        raise DataError(
            f"check {check.id!r} cannot compare keys: " + "; ".join(bad_types),
            columns=cols,
            fix="cast the reference table's key column(s) to the same type",
        )
    keys = t.filter(ibis.and_(*[t[c].notnull() for c in cols])).select(*cols).distinct()
    ref_keys = ref.select(**{c: ref[rc] for c, rc in pairs}).distinct()
    orphans = keys.anti_join(ref_keys, cols)
    count = as_int(orphans.count().execute())
    examples = pd.DataFrame()
    if count and ctx.n_examples:
        examples = orphans.order_by(cols).limit(ctx.n_examples).execute()
    return CheckResult(
        check.id, check.kind, check.columns, count == 0, count, check.message, examples
    )


def _comparable(a: dt.DataType, b: dt.DataType) -> bool:
    if a.is_numeric() and b.is_numeric():
        return True
    if a.is_string() and b.is_string():
        return True
    if a.is_temporal() and b.is_temporal():
        return True
    return a == b


def _own_backend(t: ir.Table) -> Any:
    try:
        return t._find_backend(use_default=False)
    except Exception:
        return None
