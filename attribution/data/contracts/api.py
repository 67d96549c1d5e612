"""`validate`: a table against a contract, every rule run in the engine that holds the table.

Schema first (no query), then all column rules counted in one aggregate query, then each table
check through the registry (`checks.run_check`). Only counts and a few example rows come back.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from attribution import config
from attribution.data.contracts.checks import (
    check_kind,
    column_rules,
    count_rows,
    declare_check,
    run_check,
)
from attribution.data.contracts.model import Contract, TableCheck
from attribution.data.contracts.parsing import load_contract
from attribution.data.contracts.report import CheckResult, ContractReport
from attribution.data.engine import as_table, backend_name
from attribution.errors import ContractViolation, OptionError

__all__ = ["validate"]


def validate(
    table: Any,
    contract: str | os.PathLike[str] | Contract,
    *,
    raise_on_failure: bool = True,
    references: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
    parameters: Mapping[str, Sequence[str]] | None = None,
) -> ContractReport:
    """Check `table` (pandas DataFrame, Ibis table or file path) against a data contract.

    Every rule runs in the engine that holds the table; only counts and at most
    ``config.example_rows`` example rows per failed check come back. Missing or mistyped columns
    are reported as failed checks. `references` maps a table name used by a ``reference`` check
    to that table (same engine); reference checks without it are skipped. `columns` maps
    contract column names to the table's own names where they differ (designs take column names
    as arguments), e.g. ``columns={"engagement": "watch_time"}``; check ids keep the contract's
    names, example rows show the table's. `parameters` give the contract's declared parameters
    their values, e.g. ``parameters={"components": ["emb", "ret"]}`` for a study whose component
    columns are emb and ret (see `load_contract`); `columns` then names the expanded columns.
    Raises ContractViolation (carrying the report) if a check fails and `raise_on_failure`.
    """
    spec = load_contract(contract, parameters=parameters)
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

    results: list[CheckResult] = []
    usable: set[str] = set()  # columns present with the right type
    present: set[str] = set()

    # 1. schema: presence and type (no query)
    for col in spec.columns:
        if col.name not in schema:
            results.append(
                CheckResult(
                    id=f"{col.name}.present",
                    kind="column_present",
                    columns=(col.name,),
                    passed=False,
                    n_failing=1,
                    message=f"column {_shown(col.name, column_map)} is missing "
                    f"(table has {[column_map.get(n, n) for n in schema.names]})",
                )
            )
            continue
        present.add(col.name)
        actual = schema[col.name]
        ok = col.type_ok(actual)
        results.append(
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
    planned: dict[str, tuple[str, str, str, ir.BooleanValue]] = {}  # id -> rule, column, msg, pred
    skipped: list[CheckResult] = []
    for col in spec.columns:
        rules = column_rules(col)
        if col.name not in usable:
            why = "column is missing" if col.name not in present else "column has the wrong type"
            skipped.extend(
                CheckResult(
                    f"{col.name}.{r.name}",
                    r.name,
                    (col.name,),
                    True,
                    0,
                    f"{m} (skipped: {why})",
                    skipped=True,
                )
                for r, m in rules
            )
            continue
        c = t[col.name]
        for rule, msg in rules:
            planned[f"{col.name}.{rule.name}"] = (rule.name, col.name, msg, rule.violated(col, c))
    n_rows, counts = count_rows(t, {cid: p[3] for cid, p in planned.items()})
    for cid, (rule, name, msg, pred) in planned.items():
        n_bad = counts[cid]
        examples = pd.DataFrame()
        if n_bad:
            show = list(dict.fromkeys([*[k for k in key_cols if k != name], name]))
            examples = t.filter(pred).select(*show).order_by(show).limit(n_ex).execute()
        results.append(CheckResult(cid, rule, (name,), n_bad == 0, n_bad, msg, examples))
    results.extend(skipped)

    # 3. table-level checks, each through the registry
    table_checks = list(spec.checks)
    if spec.primary_key:
        table_checks.insert(
            0,
            declare_check(
                {
                    "id": "primary_key",
                    "kind": "unique",
                    "columns": list(spec.primary_key),
                    "message": f"primary key: one row per ({', '.join(spec.primary_key)})",
                },
                where="primary_key",
                source=spec.source,
                column_types=spec.column_types,
            ),
        )
    for check in table_checks:
        results.append(_run_or_skip(t, check, n_rows, present, usable, refs, n_ex))

    report = ContractReport(
        contract=spec.name,
        version=spec.version,
        n_rows=n_rows,
        checks=tuple(_unmap(r, column_map) for r in results),
        backend=backend_name(t),
        column_map=column_map,
    )
    if raise_on_failure and not report.passed:
        raise ContractViolation(report)
    return report


def _run_or_skip(
    t: ir.Table,
    check: TableCheck,
    n_rows: int,
    present: set[str],
    usable: set[str],
    refs: Mapping[str, Any],
    n_ex: int,
) -> CheckResult:
    needed = check.reads or check.columns
    missing = [c for c in needed if c not in present]
    # kinds comparing with literals or another table need the declared type; the others only
    # need the column
    wrong = [c for c in needed if c in present and c not in usable]
    if missing or (wrong and check_kind(check.kind).typed):
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
    return run_check(t, check, n_examples=n_ex, n_rows=n_rows, references=refs)


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


def _unmap(res: CheckResult, column_map: Mapping[str, str]) -> CheckResult:
    """Show example rows under the table's own column names."""
    if not column_map or res.examples.empty:
        return res
    back = {k: v for k, v in column_map.items() if k in res.examples.columns}
    if not back:
        return res
    return dataclasses.replace(res, examples=res.examples.rename(columns=back))
