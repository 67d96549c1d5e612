"""Data contracts: declarative YAML descriptions of an input table, checked inside the engine.

A contract (``data_contracts/<name>.yaml``, format in ``data_contracts/README.md``) lists the
columns with their types and value rules, the primary key and table-level checks (one arm per
user, balanced panel, every factorial cell populated, ...). `validate` turns every rule into an
Ibis expression, so DuckDB or Spark does the counting where the data live; only counts and a few
example rows per failed check come back. All column-level rules are counted in one aggregate query.

The report's contract name and version go into an estimate's provenance::

    report = validate(table, "factorial_experiment")
    fingerprint(table, contract=report.contract_id)
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import yaml

from attribution import config
from attribution.data.checks import duplicated_keys, is_infinite, is_missing
from attribution.data.engine import as_table, backend_name
from attribution.errors import ContractViolation, DataError, OptionError
from attribution.resources import resource_dir
from attribution.results import to_jsonable

__all__ = [
    "CHECK_KINDS",
    "CheckResult",
    "ColumnSpec",
    "Contract",
    "ContractError",
    "ContractReport",
    "TableCheck",
    "available_contracts",
    "contracts_dir",
    "load_contract",
    "validate",
]

ENV_VAR = "ATTRIBUTION_CONTRACTS_DIR"


class ContractError(OptionError):
    """A data contract is unknown or its YAML is malformed (the message names the bad key)."""


# --------------------------------------------------------------------------------------------
# The contract model
# --------------------------------------------------------------------------------------------

_EXACT_TYPES: dict[str, type[dt.DataType]] = {
    "int8": dt.Int8,
    "int16": dt.Int16,
    "int32": dt.Int32,
    "int64": dt.Int64,
    "uint8": dt.UInt8,
    "uint16": dt.UInt16,
    "uint32": dt.UInt32,
    "uint64": dt.UInt64,
    "float32": dt.Float32,
    "float64": dt.Float64,
    "decimal": dt.Decimal,
    "string": dt.String,
    "date": dt.Date,
    "timestamp": dt.Timestamp,
    "boolean": dt.Boolean,
}
_FAMILIES: dict[str, Any] = {
    "integer": lambda t: t.is_integer(),
    "floating": lambda t: t.is_floating(),
    "numeric": lambda t: t.is_numeric() and not t.is_boolean(),
    "temporal": lambda t: t.is_temporal(),
    "any": lambda t: True,
}
_NUMERIC_TYPES = {
    *(k for k in _EXACT_TYPES if k.startswith(("int", "uint", "float"))),
    "decimal",
    "integer",
    "floating",
    "numeric",
}
TYPE_NAMES: tuple[str, ...] = (*_EXACT_TYPES, *_FAMILIES)

CHECK_KINDS: tuple[str, ...] = (
    "unique",
    "constant_within",
    "balanced_panel",
    "all_cells_present",
    "min_rows",
    "reference",
)
"""Table-level check kinds a contract may declare."""

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_TOP_KEYS = {"name", "version", "description", "columns", "primary_key", "checks"}
_COLUMN_KEYS = {
    "type",
    "nullable",
    "allowed",
    "min",
    "max",
    "min_inclusive",
    "max_inclusive",
    "finite",
    "description",
}
# keys each check kind accepts besides id, kind, message
_CHECK_KEYS: dict[str, set[str]] = {
    "unique": {"columns"},
    "constant_within": {"columns", "within"},
    "balanced_panel": {"unit", "time"},
    "all_cells_present": {"columns", "levels", "min_count"},
    "min_rows": {"min_rows"},
    "reference": {"columns", "table", "ref_columns"},
}
_CHECK_REQUIRED: dict[str, set[str]] = {
    "unique": {"columns"},
    "constant_within": {"columns", "within"},
    "balanced_panel": {"unit", "time"},
    "all_cells_present": {"columns"},
    "min_rows": {"min_rows"},
    "reference": {"columns", "table"},
}


@dataclass(frozen=True)
class ColumnSpec:
    """Rules for one column: type (exact or family, any-of), nullability, allowed values, range."""

    name: str
    types: tuple[str, ...]
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    finite: bool = False
    description: str = ""

    def type_ok(self, dtype: dt.DataType) -> bool:
        for name in self.types:
            if name in _FAMILIES:
                if _FAMILIES[name](dtype):
                    return True
            elif isinstance(dtype, _EXACT_TYPES[name]):
                return True
        return False

    @property
    def type_text(self) -> str:
        return " or ".join(self.types)

    def range_text(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{self.name} {'>=' if self.min_inclusive else '>'} {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.name} {'<=' if self.max_inclusive else '<'} {self.max:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class TableCheck:
    """One table-level check as declared in the contract."""

    id: str
    kind: str
    columns: tuple[str, ...]
    message: str
    within: tuple[str, ...] = ()
    levels: tuple[Any, ...] = (0, 1)
    min_count: int = 1
    min_rows: int = 0
    table: str | None = None
    ref_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    """A parsed, validated data contract (see data_contracts/README.md for the YAML format)."""

    name: str
    version: str
    description: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    checks: tuple[TableCheck, ...]
    source: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def to_frame(self) -> pd.DataFrame:
        """The column rules as a table (for reports and notebooks)."""
        return pd.DataFrame(
            {
                "column": [c.name for c in self.columns],
                "type": [c.type_text for c in self.columns],
                "nullable": [c.nullable for c in self.columns],
                "finite": [c.finite for c in self.columns],
                "allowed": [", ".join(map(str, c.allowed or ())) for c in self.columns],
                "range": [c.range_text() for c in self.columns],
                "primary_key": [c.name in self.primary_key for c in self.columns],
                "description": [c.description for c in self.columns],
            }
        )

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def contracts_dir() -> Path:
    """The folder holding the contract YAML files.

    ``$ATTRIBUTION_CONTRACTS_DIR`` if set, else the repository's ``data_contracts`` folder, else the
    copy a wheel installs under ``<prefix>/share/attribution/`` (see `attribution.resources`).
    """
    path = resource_dir("data_contracts", env_var=ENV_VAR)
    if path is None:
        raise ContractError(
            "cannot find the data_contracts folder (neither in the source tree nor installed)",
            fix=f"set {ENV_VAR} to the folder holding the contract .yaml files, or pass a path",
        )
    if not path.is_dir():
        raise ContractError(
            f"{ENV_VAR}={os.environ.get(ENV_VAR)!r} is not a directory",
            fix=f"point {ENV_VAR} at the folder holding the contract .yaml files, or unset it",
        )
    return path


def available_contracts() -> tuple[str, ...]:
    """Names of the contracts in `contracts_dir()`."""
    return tuple(sorted(p.stem for p in contracts_dir().glob("*.yaml")))


def load_contract(name_or_path: str | os.PathLike[str] | Contract) -> Contract:
    """A contract by name (``data_contracts/<name>.yaml``) or by path to a YAML file.

    Raises ContractError listing the available contracts when the name is unknown, and naming
    the offending key when the YAML is malformed.
    """
    if isinstance(name_or_path, Contract):
        return name_or_path
    if not isinstance(name_or_path, str | os.PathLike):
        raise ContractError(
            f"a contract is named by a string or a path, got {type(name_or_path).__name__}",
            fix="pass e.g. 'factorial_experiment' or 'path/to/contract.yaml'",
        )
    text = os.fspath(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, os.PathLike)
        or text.endswith((".yaml", ".yml"))
        or os.sep in text
        or "/" in text
    )
    expected_name = None
    if looks_like_path:
        path = Path(text)
        if not path.is_file():
            raise ContractError(
                f"contract file {text!r} does not exist",
                fix="check the path, or name a shipped contract: " + ", ".join(_safe_available()),
            )
    else:
        path = contracts_dir() / f"{text}.yaml"
        expected_name = text
        if not path.is_file():
            raise ContractError(
                f"unknown contract {text!r}",
                fix="use one of: " + ", ".join(_safe_available()) + " (or pass a path to a .yaml)",
            )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(
            f"contract {str(path)!r} is not valid YAML: {exc}",
            fix="correct the YAML syntax at the position shown",
        ) from exc
    contract = _parse(raw, source=str(path))
    if expected_name is not None and contract.name != expected_name:
        raise ContractError(
            f"contract file {str(path)!r} declares name {contract.name!r}, not {expected_name!r}",
            fix="make the 'name' key match the file name",
        )
    return contract


def _safe_available() -> tuple[str, ...]:
    try:
        return available_contracts()
    except ContractError:
        return ()


def _bad(where: str, problem: str, fix: str, source: str | None) -> ContractError:
    origin = f" in {source!r}" if source else ""
    return ContractError(f"malformed contract{origin}: key {where!r} {problem}", fix=fix)


def _names(value: Any, where: str, source: str | None) -> tuple[str, ...]:
    """A column name or a non-empty list of distinct column names."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _bad(
            where,
            f"must be a column name or a list of them, got {value!r}",
            "e.g. [E, R, K]",
            source,
        )
    if len(set(value)) != len(value):
        raise _bad(where, f"repeats a column: {value!r}", "list each column once", source)
    return tuple(value)


def _number(value: Any, where: str, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(where, f"must be a number, got {value!r}", "write a plain number", source)
    return float(value)


def _flag(value: Any, where: str, source: str | None) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, f"must be true or false, got {value!r}", "write true or false", source)
    return value


def _parse(raw: Any, *, source: str | None) -> Contract:
    if not isinstance(raw, dict):
        raise ContractError(
            f"malformed contract{f' in {source!r}' if source else ''}: the top level must be a "
            f"mapping, got {type(raw).__name__}",
            fix="start the file with 'name:', 'version:', 'columns:' ...",
        )
    unknown = sorted(set(map(str, raw)) - _TOP_KEYS)
    if unknown:
        raise _bad(
            unknown[0], "is not a contract key", f"allowed keys: {sorted(_TOP_KEYS)}", source
        )
    for key in ("name", "version", "columns"):
        if key not in raw:
            raise _bad(key, "is required but missing", f"add '{key}:' to the contract", source)
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise _bad("name", f"must be an identifier, got {name!r}", "e.g. name: my_table", source)
    version = raw["version"]
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise _bad(
            "version",
            f"must be a semantic version string like '1.0.0', got {version!r}",
            'quote it: version: "1.0.0"',
            source,
        )
    description = raw.get("description", "") or ""
    if not isinstance(description, str):
        raise _bad("description", "must be text", "write a sentence", source)

    cols_raw = raw["columns"]
    if not isinstance(cols_raw, dict) or not cols_raw:
        raise _bad(
            "columns",
            "must be a non-empty mapping of column name to its rules",
            "e.g. columns: {user_id: {type: int64}}",
            source,
        )
    for k in cols_raw:
        if not isinstance(k, str):
            raise _bad(
                f"columns.{k}",
                f"is read as {type(k).__name__} {k!r}, not a column name",
                "quote it, e.g. 'on': (YAML reads yes/no/on/off/true/false as booleans, 1 as a number)",
                source,
            )
    columns = tuple(_parse_column(k, v, source) for k, v in cols_raw.items())
    declared = {c.name for c in columns}

    def known(cols: tuple[str, ...], where: str) -> tuple[str, ...]:
        undeclared = [c for c in cols if c not in declared]
        if undeclared:
            raise _bad(
                where,
                f"names undeclared column(s) {undeclared}",
                f"declare them under 'columns' (declared: {sorted(declared)})",
                source,
            )
        return cols

    primary_key: tuple[str, ...] = ()
    if raw.get("primary_key") is not None:
        primary_key = known(_names(raw["primary_key"], "primary_key", source), "primary_key")

    checks_raw = raw.get("checks") or []
    if not isinstance(checks_raw, list):
        raise _bad("checks", "must be a list of checks", "write '- id: ...' items", source)
    checks = []
    seen: set[str] = {"primary_key"} if primary_key else set()
    for i, item in enumerate(checks_raw):
        check = _parse_check(
            item, f"checks[{i}]", source, known, {c.name: c.types for c in columns}
        )
        if check.id in seen:
            raise _bad(
                f"checks[{i}].id",
                f"repeats id {check.id!r}",
                "give every check its own id ('primary_key' is used by primary_key)",
                source,
            )
        seen.add(check.id)
        checks.append(check)
    return Contract(
        name=name,
        version=version,
        description=description.strip(),
        columns=columns,
        primary_key=primary_key,
        checks=tuple(checks),
        source=source,
    )


def _parse_column(name: str, spec: Any, source: str | None) -> ColumnSpec:
    where = f"columns.{name}"
    if isinstance(spec, str):  # shorthand: `col: int64`
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise _bad(where, "must be a mapping of rules", "e.g. {type: float64, min: 0}", source)
    unknown = sorted(set(map(str, spec)) - _COLUMN_KEYS)
    if unknown:
        raise _bad(
            f"{where}.{unknown[0]}",
            "is not a column rule",
            f"allowed rules: {sorted(_COLUMN_KEYS)}",
            source,
        )
    if "type" not in spec:
        raise _bad(f"{where}.type", "is required", f"one of {list(TYPE_NAMES)}", source)
    types_raw = spec["type"]
    types = (types_raw,) if isinstance(types_raw, str) else types_raw
    if (
        not isinstance(types, list | tuple)
        or not types
        or not all(isinstance(t, str) and t in TYPE_NAMES for t in types)
    ):
        raise _bad(
            f"{where}.type",
            f"must be a type name or list of them, got {types_raw!r}",
            f"use {list(TYPE_NAMES)}",
            source,
        )
    types = tuple(types)
    numeric = all(t in _NUMERIC_TYPES for t in types)
    nullable = _flag(spec.get("nullable", False), f"{where}.nullable", source)
    finite = _flag(spec.get("finite", False), f"{where}.finite", source)
    min_inc = _flag(spec.get("min_inclusive", True), f"{where}.min_inclusive", source)
    max_inc = _flag(spec.get("max_inclusive", True), f"{where}.max_inclusive", source)
    lo = _number(spec["min"], f"{where}.min", source) if spec.get("min") is not None else None
    hi = _number(spec["max"], f"{where}.max", source) if spec.get("max") is not None else None
    if (finite or lo is not None or hi is not None) and not numeric:
        key = "finite" if finite else ("min" if lo is not None else "max")
        raise _bad(
            f"{where}.{key}",
            f"applies only to numeric types, but the column is {' or '.join(types)}",
            "remove the rule or give the column a numeric type",
            source,
        )
    if lo is not None and hi is not None and lo > hi:
        raise _bad(f"{where}.min", f"({lo:g}) exceeds max ({hi:g})", "swap them", source)
    allowed = None
    if spec.get("allowed") is not None:
        values = spec["allowed"]
        if not isinstance(values, list) or not values:
            raise _bad(f"{where}.allowed", "must be a non-empty list", "e.g. [0, 1]", source)
        if not _values_match(types, values):
            raise _bad(
                f"{where}.allowed",
                f"values {values!r} do not match the column type {' or '.join(types)}",
                "list numbers for numeric columns, text for string columns "
                "(quote yes/no/on/off, which YAML reads as booleans)",
                source,
            )
        allowed = tuple(values)
    description = spec.get("description", "") or ""
    if not isinstance(description, str):
        raise _bad(f"{where}.description", "must be text", "write a sentence", source)
    return ColumnSpec(
        name=name,
        types=types,
        nullable=nullable,
        allowed=allowed,
        min=lo,
        max=hi,
        min_inclusive=min_inc,
        max_inclusive=max_inc,
        finite=finite,
        description=description.strip(),
    )


def _values_match(types: tuple[str, ...], values: list[Any]) -> bool:
    """Literal values comparable with a column of these types (numbers, text or booleans)."""
    if all(t in _NUMERIC_TYPES for t in types):
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if types == ("string",):
        return all(isinstance(v, str) for v in values)
    if types == ("boolean",):
        return all(isinstance(v, bool) for v in values)
    return False


def _parse_check(
    item: Any,
    where: str,
    source: str | None,
    known: Any,
    column_types: Mapping[str, tuple[str, ...]],
) -> TableCheck:
    if not isinstance(item, dict):
        raise _bad(
            where, "must be a mapping with id, kind, ...", "e.g. {id: x, kind: min_rows}", source
        )
    for key in ("id", "kind"):
        if key not in item:
            raise _bad(f"{where}.{key}", "is required but missing", f"add '{key}:'", source)
    cid, kind = item["id"], item["kind"]
    if not isinstance(cid, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", cid):
        raise _bad(
            f"{where}.id",
            f"must be an identifier without dots (those are column rules), got {cid!r}",
            "e.g. id: one_arm_per_user",
            source,
        )
    if kind not in CHECK_KINDS:
        raise _bad(
            f"{where}.kind",
            f"is {kind!r}, not a check kind",
            f"use one of {list(CHECK_KINDS)}",
            source,
        )
    allowed = _CHECK_KEYS[kind] | {"id", "kind", "message"}
    unknown = sorted(set(map(str, item)) - allowed)
    if unknown:
        raise _bad(
            f"{where}.{unknown[0]}",
            f"is not a key of a {kind!r} check",
            f"allowed keys: {sorted(allowed)}",
            source,
        )
    missing = sorted(_CHECK_REQUIRED[kind] - set(item))
    if missing:
        raise _bad(f"{where}.{missing[0]}", f"is required by a {kind!r} check", "add it", source)
    message = item.get("message")
    if message is not None and not isinstance(message, str):
        raise _bad(f"{where}.message", "must be text", "write a sentence", source)
    kw: dict[str, Any] = {}
    if kind == "unique":
        cols = known(_names(item["columns"], f"{where}.columns", source), f"{where}.columns")
        default = f"({', '.join(cols)}) identifies each row"
    elif kind == "constant_within":
        cols = known(_names(item["columns"], f"{where}.columns", source), f"{where}.columns")
        within = known(_names(item["within"], f"{where}.within", source), f"{where}.within")
        kw["within"] = within
        default = f"{', '.join(cols)} constant within each {', '.join(within)}"
    elif kind == "balanced_panel":
        unit = known(_names(item["unit"], f"{where}.unit", source), f"{where}.unit")
        time = known(_names(item["time"], f"{where}.time", source), f"{where}.time")
        if len(unit) != 1 or len(time) != 1 or unit == time:
            raise _bad(
                where,
                "needs one unit and one distinct time column",
                "e.g. unit: unit, time: period",
                source,
            )
        cols = (unit[0], time[0])
        default = f"every {unit[0]} observed in every {time[0]}"
    elif kind == "all_cells_present":
        cols = known(_names(item["columns"], f"{where}.columns", source), f"{where}.columns")
        levels = item.get("levels", [0, 1])
        if (
            not isinstance(levels, list)
            or len(levels) < 2
            or len(set(map(repr, levels))) != len(levels)
        ):
            raise _bad(
                f"{where}.levels",
                f"must list ≥ 2 distinct values, got {levels!r}",
                "e.g. levels: [0, 1]",
                source,
            )
        min_count = item.get("min_count", 1)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise _bad(
                f"{where}.min_count",
                f"must be a positive integer, got {min_count!r}",
                "e.g. min_count: 1",
                source,
            )
        for c in cols:
            if not _values_match(column_types[c], levels):
                raise _bad(
                    f"{where}.levels",
                    f"values {levels!r} do not match column {c!r} of type "
                    f"{' or '.join(column_types[c])}",
                    "use numbers for numeric columns, text for string columns",
                    source,
                )
        kw.update(levels=tuple(levels), min_count=min_count)
        default = (
            f"each of the {len(levels) ** len(cols)} combinations of {', '.join(cols)} "
            f"has at least {min_count} row(s)"
        )
    elif kind == "min_rows":
        n = item["min_rows"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _bad(
                f"{where}.min_rows",
                f"must be a non-negative integer, got {n!r}",
                "e.g. min_rows: 8",
                source,
            )
        cols = ()
        kw["min_rows"] = n
        default = f"at least {n:,} rows"
    else:  # reference
        cols = known(_names(item["columns"], f"{where}.columns", source), f"{where}.columns")
        table = item["table"]
        if not isinstance(table, str) or not table:
            raise _bad(
                f"{where}.table",
                f"must name the referenced table, got {table!r}",
                "e.g. table: surface_panel",
                source,
            )
        ref_cols = _names(item.get("ref_columns", list(cols)), f"{where}.ref_columns", source)
        if len(ref_cols) != len(cols):
            raise _bad(
                f"{where}.ref_columns",
                "must pair one-to-one with columns",
                "list as many ref_columns as columns",
                source,
            )
        kw.update(table=table, ref_columns=ref_cols)
        default = f"every ({', '.join(cols)}) occurs in {table}.({', '.join(ref_cols)})"
    return TableCheck(id=cid, kind=kind, columns=cols, message=(message or default).strip(), **kw)


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: how many rows / groups / cells fail and a few examples.

    `n_failing` counts rows for column rules, key values for `unique`, groups for
    `constant_within`, units for `balanced_panel`, cells for `all_cells_present`, distinct keys for
    `reference`, missing rows for `min_rows` and 1 for a missing or mistyped column.
    A check that could not run (its column is missing, or a reference table was not given) is
    `skipped`; it does not count as failed.
    """

    id: str
    kind: str
    columns: tuple[str, ...]
    passed: bool
    n_failing: int
    message: str
    examples: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    skipped: bool = False

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "columns": list(self.columns),
            "passed": bool(self.passed),
            "skipped": bool(self.skipped),
            "n_failing": int(self.n_failing),
            "message": self.message,
            "examples": to_jsonable(self.examples),
        }


@dataclass(frozen=True)
class ContractReport:
    """Every check of a contract against one table; `passed` if no check failed."""

    contract: str
    version: str
    n_rows: int
    checks: tuple[CheckResult, ...]
    backend: str = "memory"
    column_map: Mapping[str, str] = field(default_factory=dict)
    """Contract column name → the table's column name, where they differ."""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def contract_id(self) -> tuple[str, str]:
        """(name, version), as `fingerprint(table, contract=...)` takes it."""
        return (self.contract, self.version)

    def __getitem__(self, check_id: str) -> CheckResult:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(f"no check {check_id!r}; checks: {[c.id for c in self.checks]}")

    def to_frame(self) -> pd.DataFrame:
        """One row per check: id, kind, columns, passed, n_failing, message (+ status)."""
        return pd.DataFrame(
            {
                "id": [c.id for c in self.checks],
                "kind": [c.kind for c in self.checks],
                "columns": [", ".join(c.columns) for c in self.checks],
                "passed": [bool(c.passed) for c in self.checks],
                "n_failing": [int(c.n_failing) for c in self.checks],
                "message": [c.message for c in self.checks],
                "status": [c.status for c in self.checks],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "n_rows": int(self.n_rows),
            "backend": self.backend,
            "column_map": dict(self.column_map),
            "passed": self.passed,
            "n_failed": len(self.failures),
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_text(self, only_failures: bool = False) -> str:
        n_skip = sum(c.skipped for c in self.checks)
        head = (
            f"contract {self.contract} v{self.version} on {self.n_rows:,} rows ({self.backend}): "
            + (
                "PASSED"
                if self.passed
                else f"FAILED {len(self.failures)} of {len(self.checks)} checks"
            )
            + (f", {n_skip} skipped" if n_skip else "")
        )
        lines = [head]
        if self.column_map:
            mapped = ", ".join(f"{k} = table column {v!r}" for k, v in self.column_map.items())
            lines.append(f"  columns mapped: {mapped}")
        for c in self.checks:
            if only_failures and c.passed:
                continue
            tag = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[c.status]
            count = f" — {c.n_failing:,} failing" if not c.passed else ""
            cols = f" [{', '.join(c.columns)}]" if c.columns else ""
            lines.append(f"  {tag} {c.id} ({c.kind}){cols}{count}: {c.message}")
            if not c.passed and len(c.examples):
                lines.append("       example rows:")
                body = c.examples.to_string(index=False, max_rows=config.get().example_rows)
                lines.extend("         " + line for line in body.splitlines())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        status = "passed" if self.passed else f"failed {len(self.failures)} check(s)"
        title = html.escape(
            f"contract {self.contract} v{self.version} on {self.n_rows:,} rows: {status}"
        )
        rows = []
        for c in self.checks:
            color = {"passed": "#2e7d32", "failed": "#c62828", "skipped": "#777"}[c.status]
            ex = ""
            if not c.passed and len(c.examples):
                ex = (
                    "<details><summary>examples</summary>"
                    + c.examples.to_html(index=False, border=0)
                    + "</details>"
                )
            rows.append(
                f"<tr><td style='color:{color}'>{c.status}</td><td>{html.escape(c.id)}</td>"
                f"<td>{html.escape(c.kind)}</td><td>{html.escape(', '.join(c.columns))}</td>"
                f"<td>{c.n_failing:,}</td><td>{html.escape(c.message)}{ex}</td></tr>"
            )
        return (
            f"<div><strong>{title}</strong><table><thead><tr><th>status</th><th>id</th>"
            "<th>kind</th><th>columns</th><th>failing</th><th>message</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table></div>"
        )


# --------------------------------------------------------------------------------------------
# Validation (every check is an Ibis expression run in the engine)
# --------------------------------------------------------------------------------------------


def validate(
    table: Any,
    contract: str | os.PathLike[str] | Contract,
    *,
    raise_on_failure: bool = True,
    references: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
) -> ContractReport:
    """Check `table` (pandas DataFrame, Ibis table or file path) against a data contract.

    Every rule runs in the engine that holds the table; only counts and at most
    ``config.example_rows`` example rows per failed check come back. Missing or mistyped columns
    are reported as failed checks. `references` maps a table name used by a ``reference`` check
    to that table (same engine); reference checks without it are skipped. `columns` maps
    contract column names to the table's own names where they differ (designs take column names
    as arguments), e.g. ``columns={"engagement": "watch_time"}``; check ids keep the contract's
    names, example rows show the table's.
    Raises ContractViolation (carrying the report) if a check fails and `raise_on_failure`.
    """
    spec = load_contract(contract)
    t = as_table(table)
    column_map = _check_column_map(columns, spec, t)
    if column_map:
        names = t.schema()
        # a contract column mapped to an absent table column is missing, even if the table
        # happens to have a column with the contract's name
        shadowed = [k for k, v in column_map.items() if v not in names and k in names]
        t = t.drop(*shadowed) if shadowed else t
        t = t.rename({k: v for k, v in column_map.items() if v in names})
    if references is not None and not isinstance(references, Mapping):
        raise OptionError(
            f"references must map table names to tables, got {type(references).__name__}",
            fix="e.g. references={'surface_panel': panel}",
        )
    refs = dict(references or {})
    n_ex = config.get().example_rows
    schema = t.schema()

    results: dict[str, CheckResult] = {}
    order: list[str] = []
    usable: set[str] = set()  # columns present with the right type
    present: set[str] = set()

    def add(res: CheckResult) -> None:
        results[res.id] = res
        order.append(res.id)

    # 1. schema: presence and type (no query)
    for col in spec.columns:
        if col.name not in schema:
            add(
                CheckResult(
                    id=f"{col.name}.present",
                    kind="column_present",
                    columns=(col.name,),
                    passed=False,
                    n_failing=1,
                    message=f"column {_shown(col.name, column_map)} is missing "
                    f"(table has {[_table_name(n, column_map) for n in schema.names]})",
                )
            )
            continue
        present.add(col.name)
        actual = schema[col.name]
        ok = col.type_ok(actual)
        add(
            CheckResult(
                id=f"{col.name}.type",
                kind="type",
                columns=(col.name,),
                passed=ok,
                n_failing=0 if ok else 1,
                message=f"{col.name} is {col.type_text}"
                + ("" if ok else f", but the table has {actual}"),
            )
        )
        if ok:
            usable.add(col.name)

    # 2. column value rules: one aggregate query for all counts
    key_cols = [k for k in spec.primary_key if k in present]
    planned: list[tuple[str, str, str, str, Any]] = []  # id, kind, column, message, predicate
    skipped_cols: list[tuple[str, str, str, str]] = []
    for col in spec.columns:
        rules = _column_rules(col)
        if col.name not in usable:
            why = "column is missing" if col.name not in present else "column has the wrong type"
            skipped_cols.extend(
                (f"{col.name}.{r}", r, col.name, f"{m} (skipped: {why})") for r, m in rules
            )
            continue
        c = t[col.name]
        for rule, msg in rules:
            planned.append((f"{col.name}.{rule}", rule, col.name, msg, _predicate(rule, col, c)))
    aggs = {"__n_rows": t.count()}
    for i, (_, _, _, _, pred) in enumerate(planned):
        aggs[f"__c{i}"] = pred.cast("int64").sum()
    counts = t.aggregate(**aggs).execute().iloc[0]
    n_rows = int(counts["__n_rows"])
    for i, (cid, rule, name, msg, pred) in enumerate(planned):
        n_bad = _as_int(counts[f"__c{i}"])
        examples = pd.DataFrame()
        if n_bad:
            show = list(dict.fromkeys([*[k for k in key_cols if k != name], name]))
            examples = t.filter(pred).select(*show).order_by(show).limit(n_ex).execute()
        add(CheckResult(cid, rule, (name,), n_bad == 0, n_bad, msg, examples))
    for cid, rule, name, msg in skipped_cols:
        add(CheckResult(cid, rule, (name,), True, 0, msg, skipped=True))

    # 3. table-level checks
    table_checks = list(spec.checks)
    if spec.primary_key:
        table_checks.insert(
            0,
            TableCheck(
                id="primary_key",
                kind="unique",
                columns=spec.primary_key,
                message=f"primary key: one row per ({', '.join(spec.primary_key)})",
            ),
        )
    for check in table_checks:
        add(_run_table_check(t, check, n_rows, present, usable, refs, n_ex))

    report = ContractReport(
        contract=spec.name,
        version=spec.version,
        n_rows=n_rows,
        checks=tuple(_unmap(results[i], column_map) for i in order),
        backend=backend_name(t),
        column_map=column_map,
    )
    if raise_on_failure and not report.passed:
        raise ContractViolation(report)
    return report


def _check_column_map(
    columns: Mapping[str, str] | None, spec: Contract, t: ir.Table
) -> dict[str, str]:
    """Validate `columns=` (contract name → table name); identity entries are dropped."""
    if columns is None:
        return {}
    if not isinstance(columns, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise OptionError(
            "columns must map contract column names to the table's column names (text to text)",
            fix='e.g. columns={"engagement": "watch_time"}',
        )
    unknown = [k for k in columns if k not in spec.column_names]
    if unknown:
        raise OptionError(
            f"columns= names {unknown}, which contract {spec.name!r} does not declare",
            columns=unknown,
            fix=f"the contract's columns are {list(spec.column_names)}",
        )
    mapping = {k: v for k, v in columns.items() if k != v}
    targets = list(mapping.values())
    if len(set(targets)) != len(targets):
        raise OptionError(
            "columns= maps two contract columns to the same table column",
            columns=sorted({v for v in targets if targets.count(v) > 1}),
            fix="map each contract column to its own table column",
        )
    schema = t.schema()
    clash = [k for k, v in mapping.items() if k in schema and v in schema and k not in targets]
    if clash:
        raise OptionError(
            f"the table already has column(s) {clash} besides the ones mapped onto them",
            columns=clash,
            fix="drop or rename the table's own column(s) first, or remove them from columns=",
        )
    return mapping


def _shown(name: str, column_map: Mapping[str, str]) -> str:
    if name in column_map:
        return f"{column_map[name]!r} (contract column {name!r})"
    return repr(name)


def _table_name(name: str, column_map: Mapping[str, str]) -> str:
    return column_map.get(name, name)


def _unmap(res: CheckResult, column_map: Mapping[str, str]) -> CheckResult:
    """Show example rows under the table's own column names."""
    if not column_map or res.examples.empty:
        return res
    back = {k: v for k, v in column_map.items() if k in res.examples.columns}
    if not back:
        return res
    return dataclasses.replace(res, examples=res.examples.rename(columns=back))


def _column_rules(col: ColumnSpec) -> list[tuple[str, str]]:
    rules: list[tuple[str, str]] = []
    if not col.nullable:
        rules.append(("not_null", f"{col.name} has no missing values (NULL or NaN)"))
    if col.finite:
        rules.append(("finite", f"{col.name} is finite (no ±inf)"))
    if col.allowed is not None:
        rules.append(("allowed", f"{col.name} is one of {list(col.allowed)}"))
    if col.min is not None or col.max is not None:
        rules.append(("range", col.range_text()))
    return rules


def _predicate(rule: str, col: ColumnSpec, c: ir.Column) -> ir.BooleanValue:
    """True on rows that break `rule` (NULL-safe: never NULL)."""
    floating = c.type().is_floating()
    # NULL, or NaN in a floating column (is_infinite(NULL) is NULL, hence the fill)
    absent = is_missing(c) & ~is_infinite(c).fill_null(False)
    if rule == "not_null":
        pred = absent
    elif rule == "finite":
        # NaN is reported by not_null (pandas writes missing floats as NaN; engines differ on
        # whether NaN survives the transfer), so this rule counts only ±inf
        pred = is_infinite(c) if floating else ibis.literal(False)
    elif rule == "allowed":
        pred = ~absent & ~c.isin(list(col.allowed or ()))
    else:  # range; NaN excluded (it is reported by not_null / finite), ±inf included
        bad = []
        if col.min is not None:
            bad.append(c < col.min if col.min_inclusive else c <= col.min)
        if col.max is not None:
            bad.append(c > col.max if col.max_inclusive else c >= col.max)
        pred = ~absent & ibis.or_(*bad)
    return pred.fill_null(False)


def _as_int(value: Any) -> int:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return 0
    return int(value)


def _run_table_check(
    t: ir.Table,
    check: TableCheck,
    n_rows: int,
    present: set[str],
    usable: set[str],
    refs: Mapping[str, Any],
    n_ex: int,
) -> CheckResult:
    needed = list(check.columns) + list(check.within)
    missing = [c for c in needed if c not in present]
    # literal comparisons need the declared type; key-based checks only need the column
    wrong = [c for c in needed if c in present and c not in usable]
    if missing or (wrong and check.kind in ("all_cells_present", "reference")):
        why = f"column(s) {missing} missing" if missing else f"column(s) {wrong} mistyped"
        return CheckResult(
            check.id,
            check.kind,
            check.columns,
            True,
            0,
            f"{check.message} (skipped: {why})",
            skipped=True,
        )
    kind = check.kind
    if kind == "min_rows":
        short = max(check.min_rows - n_rows, 0)
        msg = check.message + ("" if not short else f" (table has {n_rows:,})")
        return CheckResult(check.id, kind, (), short == 0, short, msg)
    if kind == "unique":
        count, sample = duplicated_keys(t, list(check.columns), n_ex)
        return CheckResult(check.id, kind, check.columns, count == 0, count, check.message, sample)
    if kind == "constant_within":
        return _constant_within(t, check, n_ex)
    if kind == "balanced_panel":
        return _balanced_panel(t, check, n_ex)
    if kind == "all_cells_present":
        return _all_cells_present(t, check)
    return _reference(t, check, refs, n_ex)


def _constant_within(t: ir.Table, check: TableCheck, n_ex: int) -> CheckResult:
    within, cols = list(check.within), list(check.columns)

    def varies(c: str) -> ir.BooleanValue:
        # min != max is far cheaper than a per-group count distinct; both ignore NULLs
        col = t[c]
        if col.type().is_boolean():
            return col.nunique() > 1
        return col.min() != col.max()

    groups = t.group_by(within).aggregate(
        **{f"__v{i}": varies(c).fill_null(False) for i, c in enumerate(cols)}
    )
    bad = groups.filter(ibis.or_(*[groups[f"__v{i}"] for i in range(len(cols))]))
    count = _as_int(bad.count().execute())
    examples = pd.DataFrame()
    if count:
        keys = bad.select(*within).limit(n_ex)
        examples = (
            t.semi_join(keys, within)
            .select(*within, *cols)
            .distinct()
            .order_by(within)
            .limit(n_ex)
            .execute()
        )
    return CheckResult(
        check.id, check.kind, check.columns, count == 0, count, check.message, examples
    )


def _balanced_panel(t: ir.Table, check: TableCheck, n_ex: int) -> CheckResult:
    unit, time = check.columns
    per_unit = t.group_by(unit).aggregate(periods_observed=t[time].nunique())
    stats = (
        per_unit.aggregate(
            n_units=per_unit.count(),
            n_cells=per_unit["periods_observed"].sum(),
        )
        .execute()
        .iloc[0]
    )
    n_periods = _as_int(t[time].nunique().execute())
    n_units, n_cells = _as_int(stats["n_units"]), _as_int(stats["n_cells"])
    short = per_unit.filter(per_unit["periods_observed"] < n_periods)
    count = _as_int(short.count().execute()) if n_units else 0
    examples = pd.DataFrame()
    message = check.message
    if count:
        examples = short.order_by([short["periods_observed"], short[unit]]).limit(n_ex).execute()
        examples["periods_total"] = n_periods
        message += (
            f" ({count:,} of {n_units:,} units miss some of the {n_periods:,} periods; "
            f"{n_units * n_periods - n_cells:,} unit-period cells absent)"
        )
    return CheckResult(check.id, check.kind, check.columns, count == 0, count, message, examples)


def _norm(value: Any) -> Any:
    """Compare engine values with YAML levels: numbers as float, everything else as text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def _all_cells_present(t: ir.Table, check: TableCheck) -> CheckResult:
    cols = list(check.columns)
    levels = list(check.levels)
    inside = ibis.and_(*[t[c].isin(levels) for c in cols])
    # bounded by len(levels) ** len(cols) rows
    sub = t.filter(inside)
    observed = sub.group_by(cols).aggregate(__n=sub.count()).execute()
    seen = {
        tuple(_norm(v) for v in row[:-1]): int(row[-1])
        for row in observed[[*cols, "__n"]].itertuples(index=False)
    }
    missing = []
    for cell in itertools.product(levels, repeat=len(cols)):
        n = seen.get(tuple(_norm(v) for v in cell), 0)
        if n < check.min_count:
            missing.append((*cell, n))
    examples = pd.DataFrame(missing, columns=[*cols, "n_rows"]) if missing else pd.DataFrame()
    n_cells = len(levels) ** len(cols)
    message = check.message
    if missing:
        message += f" ({len(missing)} of {n_cells} cells below {check.min_count} row(s))"
    return CheckResult(
        check.id, check.kind, check.columns, not missing, len(missing), message, examples
    )


def _reference(t: ir.Table, check: TableCheck, refs: Mapping[str, Any], n_ex: int) -> CheckResult:
    if check.table not in refs:
        return CheckResult(
            check.id,
            check.kind,
            check.columns,
            True,
            0,
            f"{check.message} (skipped: pass references={{{check.table!r}: table}} to run it)",
            skipped=True,
        )
    ref = as_table(refs[check.table])
    ref_schema = ref.schema()
    absent = [c for c in check.ref_columns if c not in ref_schema]
    if absent:
        raise DataError(
            f"reference table {check.table!r} lacks column(s) {absent} needed by check {check.id!r}",
            columns=absent,
            fix=f"its columns are {list(ref_schema.names)}",
        )
    b1, b2 = _own_backend(t), _own_backend(ref)
    if b1 is not None and b2 is not None and b1 is not b2:
        raise DataError(
            f"check {check.id!r}: the table and reference table {check.table!r} live in "
            "different engines, so they cannot be joined",
            columns=list(check.columns),
            fix="put both tables in the same backend (or pass the reference as a pandas frame)",
        )
    cols = list(check.columns)
    keys = t.filter(ibis.and_(*[t[c].notnull() for c in cols])).select(*cols).distinct()
    ref_keys = ref.select(
        **{c: ref[rc] for c, rc in zip(cols, check.ref_columns, strict=True)}
    ).distinct()
    bad_types = [
        f"{c} is {t[c].type()} but {check.table}.{rc} is {ref[rc].type()}"
        for c, rc in zip(cols, check.ref_columns, strict=True)
        if not _comparable(t[c].type(), ref[rc].type())
    ]
    if bad_types:
        raise DataError(
            f"check {check.id!r} cannot compare keys: " + "; ".join(bad_types),
            columns=cols,
            fix="cast the reference table's key column(s) to the same type",
        )
    orphans = keys.anti_join(ref_keys, cols)
    count = _as_int(orphans.count().execute())
    examples = orphans.order_by(cols).limit(n_ex).execute() if count else pd.DataFrame()
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
