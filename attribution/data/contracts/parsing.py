"""Finding and reading contract YAML files into the model.

Every error names the file, the offending key and the fix. Table checks are read through the
check registry (`checks.declare_check`), which knows each kind's keys and validates its parameters.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from attribution.data.contracts.checks import declare_check, read_names
from attribution.data.contracts.model import (
    NUMERIC_TYPES,
    TYPE_NAMES,
    ColumnSpec,
    Contract,
    ContractError,
    TableCheck,
    malformed,
    values_match,
)
from attribution.resources import resource_dir

__all__ = ["ENV_VAR", "available_contracts", "contracts_dir", "load_contract", "parse_contract"]

ENV_VAR = "ATTRIBUTION_CONTRACTS_DIR"

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
    import yaml  # here, not at module level: `import attribution` stays free of it

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(
            f"contract {str(path)!r} is not valid YAML: {exc}",
            fix="correct the YAML syntax at the position shown",
        ) from exc
    contract = parse_contract(raw, source=str(path))
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


def _number(value: Any, where: str, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise malformed(where, f"must be a number, got {value!r}", "write a plain number", source)
    return float(value)


def _flag(value: Any, where: str, source: str | None) -> bool:
    if not isinstance(value, bool):
        raise malformed(
            where, f"must be true or false, got {value!r}", "write true or false", source
        )
    return value


def parse_contract(raw: Any, *, source: str | None = None) -> Contract:
    """A `Contract` from the mapping a YAML file holds; `source` (the file) is named in errors."""
    if not isinstance(raw, dict):
        raise ContractError(
            f"malformed contract{f' in {source!r}' if source else ''}: the top level must be a "
            f"mapping, got {type(raw).__name__}",
            fix="start the file with 'name:', 'version:', 'columns:' ...",
        )
    unknown = sorted(set(map(str, raw)) - _TOP_KEYS)
    if unknown:
        raise malformed(
            unknown[0], "is not a contract key", f"allowed keys: {sorted(_TOP_KEYS)}", source
        )
    for key in ("name", "version", "columns"):
        if key not in raw:
            raise malformed(key, "is required but missing", f"add '{key}:' to the contract", source)
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise malformed(
            "name", f"must be an identifier, got {name!r}", "e.g. name: my_table", source
        )
    version = raw["version"]
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise malformed(
            "version",
            f"must be a semantic version string like '1.0.0', got {version!r}",
            'quote it: version: "1.0.0"',
            source,
        )
    description = raw.get("description", "") or ""
    if not isinstance(description, str):
        raise malformed("description", "must be text", "write a sentence", source)

    cols_raw = raw["columns"]
    if not isinstance(cols_raw, dict) or not cols_raw:
        raise malformed(
            "columns",
            "must be a non-empty mapping of column name to its rules",
            "e.g. columns: {user_id: {type: int64}}",
            source,
        )
    for k in cols_raw:
        if not isinstance(k, str):
            raise malformed(
                f"columns.{k}",
                f"is read as {type(k).__name__} {k!r}, not a column name",
                "quote it, e.g. 'on': (YAML reads yes/no/on/off/true/false as booleans, 1 as a number)",
                source,
            )
    columns = tuple(_parse_column(k, v, source) for k, v in cols_raw.items())
    column_types = {c.name: c.types for c in columns}

    primary_key: tuple[str, ...] = ()
    if raw.get("primary_key") is not None:
        primary_key = read_names(raw["primary_key"], "primary_key", source)
        undeclared = [c for c in primary_key if c not in column_types]
        if undeclared:
            raise malformed(
                "primary_key",
                f"names undeclared column(s) {undeclared}",
                f"declare them under 'columns' (declared: {sorted(column_types)})",
                source,
            )

    checks_raw = raw.get("checks") or []
    if not isinstance(checks_raw, list):
        raise malformed("checks", "must be a list of checks", "write '- id: ...' items", source)
    checks: list[TableCheck] = []
    seen: set[str] = {"primary_key"} if primary_key else set()
    for i, item in enumerate(checks_raw):
        check = declare_check(item, where=f"checks[{i}]", source=source, column_types=column_types)
        if check.id in seen:
            raise malformed(
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
        raise malformed(where, "must be a mapping of rules", "e.g. {type: float64, min: 0}", source)
    unknown = sorted(set(map(str, spec)) - _COLUMN_KEYS)
    if unknown:
        raise malformed(
            f"{where}.{unknown[0]}",
            "is not a column rule",
            f"allowed rules: {sorted(_COLUMN_KEYS)}",
            source,
        )
    if "type" not in spec:
        raise malformed(f"{where}.type", "is required", f"one of {list(TYPE_NAMES)}", source)
    types_raw = spec["type"]
    types = (types_raw,) if isinstance(types_raw, str) else types_raw
    if (
        not isinstance(types, list | tuple)
        or not types
        or not all(isinstance(t, str) and t in TYPE_NAMES for t in types)
    ):
        raise malformed(
            f"{where}.type",
            f"must be a type name or list of them, got {types_raw!r}",
            f"use {list(TYPE_NAMES)}",
            source,
        )
    types = tuple(types)
    numeric = all(t in NUMERIC_TYPES for t in types)
    nullable = _flag(spec.get("nullable", False), f"{where}.nullable", source)
    finite = _flag(spec.get("finite", False), f"{where}.finite", source)
    min_inc = _flag(spec.get("min_inclusive", True), f"{where}.min_inclusive", source)
    max_inc = _flag(spec.get("max_inclusive", True), f"{where}.max_inclusive", source)
    lo = _number(spec["min"], f"{where}.min", source) if spec.get("min") is not None else None
    hi = _number(spec["max"], f"{where}.max", source) if spec.get("max") is not None else None
    if (finite or lo is not None or hi is not None) and not numeric:
        key = "finite" if finite else ("min" if lo is not None else "max")
        raise malformed(
            f"{where}.{key}",
            f"applies only to numeric types, but the column is {' or '.join(types)}",
            "remove the rule or give the column a numeric type",
            source,
        )
    if lo is not None and hi is not None and lo > hi:
        raise malformed(f"{where}.min", f"({lo:g}) exceeds max ({hi:g})", "swap them", source)
    allowed = None
    if spec.get("allowed") is not None:
        values = spec["allowed"]
        if not isinstance(values, list) or not values:
            raise malformed(f"{where}.allowed", "must be a non-empty list", "e.g. [0, 1]", source)
        if not values_match(types, values):
            raise malformed(
                f"{where}.allowed",
                f"values {values!r} do not match the column type {' or '.join(types)}",
                "list numbers for numeric columns, text for string columns "
                "(quote yes/no/on/off, which YAML reads as booleans)",
                source,
            )
        allowed = tuple(values)
    description = spec.get("description", "") or ""
    if not isinstance(description, str):
        raise malformed(f"{where}.description", "must be text", "write a sentence", source)
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
