"""The contract model: what a parsed data contract holds (columns, primary key, table checks).

Plain frozen dataclasses with no knowledge of YAML or engines, so every other module of the
package (parsing, checks, report, api) can depend on this one and on nothing else here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.datatypes as dt
import pandas as pd

from attribution.errors import OptionError

__all__ = [
    "TYPE_NAMES",
    "ColumnSpec",
    "Contract",
    "ContractError",
    "TableCheck",
    "malformed",
]


class ContractError(OptionError):
    """A data contract is unknown or its YAML is malformed (the message names the bad key)."""


def malformed(where: str, problem: str, fix: str, source: str | None) -> ContractError:
    """The one shape of a malformed-contract error: file, key, problem and fix."""
    origin = f" in {source!r}" if source else ""
    return ContractError(f"malformed contract{origin}: key {where!r} {problem}", fix=fix)


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
NUMERIC_TYPES = frozenset(
    {
        *(k for k in _EXACT_TYPES if k.startswith(("int", "uint", "float"))),
        "decimal",
        "integer",
        "floating",
        "numeric",
    }
)
TYPE_NAMES: tuple[str, ...] = (*_EXACT_TYPES, *_FAMILIES)


def values_match(types: tuple[str, ...], values: list[Any] | tuple[Any, ...]) -> bool:
    """Literal values comparable with a column of these types (numbers, text or booleans)."""
    if all(t in NUMERIC_TYPES for t in types):
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if types == ("string",):
        return all(isinstance(v, str) for v in values)
    if types == ("boolean",):
        return all(isinstance(v, bool) for v in values)
    return False


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
    """One table-level check as declared in the contract.

    `columns` are the columns the check is about (shown in reports), `reads` every column of the
    table it reads (a check whose columns are missing is skipped), `params` the kind's validated
    parameters as (key, value) pairs; what they mean is up to the registered kind
    (`attribution.data.contracts.checks`). Parameters read as attributes too (``check.within``).
    """

    id: str
    kind: str
    columns: tuple[str, ...]
    message: str
    params: tuple[tuple[str, Any], ...] = ()
    reads: tuple[str, ...] = ()

    def param(self, key: str, default: Any = None) -> Any:
        for k, v in self.params:
            if k == key:
                return v
        return default

    def __getattr__(self, name: str) -> Any:
        # `check.within`, `check.levels`, ... as before the kinds moved into a registry.
        # Only reached for names that are not fields; never recurse while unpickling.
        if name.startswith("_") or "params" not in self.__dict__:
            raise AttributeError(name)
        for k, v in self.__dict__["params"]:
            if k == name:
                return v
        raise AttributeError(f"a {self.__dict__.get('kind')!r} check has no parameter {name!r}")


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
    parameters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """The values the contract's declared parameters took (defaults or the study's)."""
    template: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """The YAML mapping before parameters were expanded, so the contract can be re-parametrised."""

    @property
    def parameter_values(self) -> dict[str, tuple[str, ...]]:
        return dict(self.parameters)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def column_types(self) -> Mapping[str, tuple[str, ...]]:
        return {c.name: c.types for c in self.columns}

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
