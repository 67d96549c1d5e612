"""Data contracts: declarative YAML descriptions of an input table, checked inside the engine.

A contract (``data_contracts/<name>.yaml``, format in ``data_contracts/README.md``) lists the
columns with their types and value rules, the primary key and table-level checks (one arm per
user, balanced panel, every factorial cell populated, ...). `validate` turns every rule into an
Ibis expression, so DuckDB or Spark does the counting where the data live; only counts and a few
example rows per failed check come back. All column-level rules are counted in one aggregate query.

The report's contract name and version go into an estimate's provenance::

    report = validate(table, "factorial_experiment")
    fingerprint(table, contract=report.contract_id)
    result_checks = (report.as_check(), ...)

Modules: `model` (the dataclasses), `parsing` (YAML → model), `checks` (the registry of check
kinds), `report` (ContractReport and its rendering), `api` (`validate`).
"""

from attribution.data.contracts.api import validate
from attribution.data.contracts.checks import (
    CheckArgs,
    CheckContext,
    CheckKind,
    CheckParams,
    check_kind,
    check_kinds,
    register_check,
    run_check,
    table_check,
)
from attribution.data.contracts.model import (
    TYPE_NAMES,
    ColumnSpec,
    Contract,
    ContractError,
    TableCheck,
)
from attribution.data.contracts.parsing import (
    ENV_VAR,
    available_contracts,
    contracts_dir,
    load_contract,
    parse_contract,
)
from attribution.data.contracts.report import CheckResult, ContractReport

CHECK_KINDS: tuple[str, ...] = check_kinds()
"""The built-in table-check kinds (`check_kinds()` also lists kinds registered later)."""

__all__ = [
    "CHECK_KINDS",
    "ENV_VAR",
    "TYPE_NAMES",
    "CheckArgs",
    "CheckContext",
    "CheckKind",
    "CheckParams",
    "CheckResult",
    "ColumnSpec",
    "Contract",
    "ContractError",
    "ContractReport",
    "TableCheck",
    "available_contracts",
    "check_kind",
    "check_kinds",
    "contracts_dir",
    "load_contract",
    "parse_contract",
    "register_check",
    "run_check",
    "table_check",
    "validate",
]
