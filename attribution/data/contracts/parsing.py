"""Finding and reading contract YAML files into the model.

Every error names the file, the offending key and the fix. Table checks are read through the
check registry (`checks.declare_check`), which knows each kind's keys and validates its parameters.

A contract may declare ``parameters`` (lists of names with a default, e.g. the components of a
study): a column template ``"{component}": {for_each: components, ...}`` becomes one column per
name, and ``${components}`` anywhere in a value is replaced by the list (the whole value) or by
the names joined with ", " (inside text). A study passes its own values; the defaults reproduce
the contract as it was before it had parameters.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
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
_TOP_KEYS = {"name", "version", "description", "parameters", "columns", "primary_key", "checks"}
_PARAMETER_KEYS = {"default", "description"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAMETER_REF = re.compile(r"\$\{([^{}]*)\}")  # ${components}
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # {component} in a column template
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


def load_contract(
    name_or_path: str | os.PathLike[str] | Contract,
    *,
    parameters: Mapping[str, Sequence[str]] | None = None,
) -> Contract:
    """A contract by name (``data_contracts/<name>.yaml``) or by path to a YAML file.

    `parameters` give the contract's declared parameters their values for this study, e.g.
    ``{"components": ["emb", "ret"]}`` (undeclared ones keep their default).
    Raises ContractError listing the available contracts when the name is unknown, naming the
    offending key when the YAML is malformed, and naming an unknown parameter.
    """
    if isinstance(name_or_path, Contract):
        if parameters is None:
            return name_or_path
        if name_or_path.template is None:
            raise ContractError(
                f"contract {name_or_path.name!r} was built without its YAML, so parameters "
                "cannot be applied to it",
                fix="pass the contract's name or path instead of the parsed Contract",
            )
        return parse_contract(
            name_or_path.template, source=name_or_path.source, parameters=parameters
        )
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
    contract = parse_contract(raw, source=str(path), parameters=parameters)
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


def parse_contract(
    raw: Any,
    *,
    source: str | None = None,
    parameters: Mapping[str, Sequence[str]] | None = None,
) -> Contract:
    """A `Contract` from the mapping a YAML file holds; `source` (the file) is named in errors.

    `parameters` override the defaults of the parameters the contract declares.
    """
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
    template = copy.deepcopy(raw)
    declared = _declared_parameters(raw.get("parameters"), source)
    values = _parameter_values(declared, parameters, name)
    raw = {
        k: v if k in ("name", "version", "parameters") else _substitute(v, values, k, source)
        for k, v in raw.items()
    }
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
    cols_raw = _expand_columns(cols_raw, values, source)
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
        parameters=tuple(values.items()),
        template=template,
    )


def _declared_parameters(raw: Any, source: str | None) -> dict[str, tuple[str, ...]]:
    """The `parameters:` block: name -> default list of names."""
    if raw is None:
        return {}
    example = "e.g. parameters: {components: {default: [E, R, K]}}"
    if not isinstance(raw, dict) or not raw:
        raise malformed(
            "parameters", "must be a mapping of parameter name to its default", example, source
        )
    out: dict[str, tuple[str, ...]] = {}
    for name, spec in raw.items():
        where = f"parameters.{name}"
        if not isinstance(name, str) or not _IDENT.fullmatch(name):
            raise malformed(where, "is not an identifier", example, source)
        if not isinstance(spec, dict):
            raise malformed(where, "must be a mapping with a 'default' list", example, source)
        unknown = sorted(set(map(str, spec)) - _PARAMETER_KEYS)
        if unknown:
            raise malformed(
                f"{where}.{unknown[0]}",
                "is not a parameter key",
                f"allowed keys: {sorted(_PARAMETER_KEYS)}",
                source,
            )
        if "default" not in spec:
            raise malformed(f"{where}.default", "is required", example, source)
        out[name] = read_names(spec["default"], f"{where}.default", source)
        if not isinstance(spec.get("description", ""), str):
            raise malformed(f"{where}.description", "must be text", "write a sentence", source)
    return out


def _parameter_values(
    declared: dict[str, tuple[str, ...]],
    given: Mapping[str, Sequence[str]] | None,
    contract: str,
) -> dict[str, tuple[str, ...]]:
    """The declared parameters' values: the defaults, overridden by `given` (checked)."""
    values = dict(declared)
    if given is None:
        return values
    if not isinstance(given, Mapping):
        raise ContractError(
            f"parameters must map parameter names to lists of names, got {type(given).__name__}",
            fix="e.g. parameters={'components': ['E', 'R']}",
        )
    for key, value in given.items():
        if key not in declared:
            raise ContractError(
                f"contract {contract!r} has no parameter {key!r}",
                fix=f"its parameters are {sorted(declared)}"
                if declared
                else "it declares none; leave parameters out",
            )
        ok = (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and len(value) > 0
            and all(isinstance(v, str) and v for v in value)
            and len(set(value)) == len(value)
        )
        if not ok:
            raise ContractError(
                f"parameter {key!r} of contract {contract!r} must be a non-empty list of "
                f"distinct names, got {value!r}",
                fix=f"e.g. parameters={{{key!r}: {list(declared[key])!r}}}",
            )
        values[key] = tuple(value)
    return values


def _substitute(value: Any, values: Mapping[str, tuple[str, ...]], where: str, source: Any) -> Any:
    """Replace ``${name}``: a whole value becomes the list (spliced into an enclosing list), a
    reference inside text becomes the names joined with ", "."""

    def known(ref: str, at: str) -> tuple[str, ...]:
        if ref not in values:
            raise malformed(
                at,
                f"refers to ${{{ref}}}, which is not a declared parameter",
                f"declare it under 'parameters' (declared: {sorted(values)})",
                source,
            )
        return values[ref]

    if isinstance(value, str):
        whole = _PARAMETER_REF.fullmatch(value)
        if whole:
            return list(known(whole.group(1), where))
        return _PARAMETER_REF.sub(lambda m: ", ".join(known(m.group(1), where)), value)
    if isinstance(value, list):
        out: list[Any] = []
        for i, v in enumerate(value):
            new = _substitute(v, values, f"{where}[{i}]", source)
            spliced = isinstance(v, str) and _PARAMETER_REF.fullmatch(v)
            if spliced:
                out.extend(new)
            else:
                out.append(new)
        return out
    if isinstance(value, dict):
        return {k: _substitute(v, values, f"{where}.{k}", source) for k, v in value.items()}
    return value


def _expand_columns(
    cols_raw: dict[str, Any], values: Mapping[str, tuple[str, ...]], source: str | None
) -> dict[str, Any]:
    """One column per name for each template ``"<..{slot}..>": {for_each: <parameter>, ...}``;
    ``{slot}`` in the template's text (its description) is replaced as well."""
    out: dict[str, Any] = {}

    def add(name: str, spec: Any, where: str) -> None:
        if name in out:
            raise malformed(
                where, f"declares column {name!r} twice", "give every column its own name", source
            )
        out[name] = spec

    for key, spec in cols_raw.items():
        where = f"columns.{key}"
        if not (isinstance(spec, dict) and "for_each" in spec):
            add(key, spec, where)
            continue
        param = spec["for_each"]
        if not isinstance(param, str) or param not in values:
            raise malformed(
                f"{where}.for_each",
                f"names {param!r}, which is not a declared parameter",
                f"declare it under 'parameters' (declared: {sorted(values)})",
                source,
            )
        slots = set(_SLOT.findall(key))
        if len(slots) != 1:
            raise malformed(
                where,
                "is a column template, so its name needs exactly one {placeholder}",
                'e.g. "exposure_{component}": {for_each: components, type: float64}',
                source,
            )
        slot = "{" + slots.pop() + "}"
        rest = {k: v for k, v in spec.items() if k != "for_each"}
        for item in values[param]:
            filled = {
                k: v.replace(slot, item) if isinstance(v, str) else v for k, v in rest.items()
            }
            add(key.replace(slot, item), filled, where)
    return out


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
