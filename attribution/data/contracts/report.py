"""What validating a table against a contract returns, and how it is shown (text, table, HTML, JSON).

`ContractReport.as_check()` condenses the report into one `attribution.results.Check`, so a design
result can carry the contract among its diagnostics.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from attribution import config
from attribution.results import Check, to_jsonable

__all__ = ["CheckResult", "ContractReport"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: how many rows / groups / cells fail and a few examples.

    `n_failing` counts rows for column rules, key values for `unique`, groups for
    `constant_within`, units for `balanced_panel`, cells for `all_cells_present`, distinct keys for
    `reference`, missing rows for `min_rows` and 1 for a missing or mistyped column.
    A check that could not run (its column is missing, or a reference table was not given) is
    `skipped`; it does not count as failed. `stats` holds counts a kind computes on the way
    (``balanced_panel``: n_units, n_periods, n_cells, n_rows, n_short).
    """

    id: str
    kind: str
    columns: tuple[str, ...]
    passed: bool
    n_failing: int
    message: str
    examples: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    skipped: bool = False
    stats: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "kind": self.kind,
            "columns": list(self.columns),
            "passed": bool(self.passed),
            "skipped": bool(self.skipped),
            "n_failing": int(self.n_failing),
            "message": self.message,
            "examples": to_jsonable(self.examples),
        }
        if self.stats:
            out["stats"] = {k: int(v) for k, v in self.stats.items()}
        return out


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

    def as_check(self) -> Check:
        """The whole report as one diagnostic for a result's ``checks``.

        Named ``data contract <name> v<version>``; the detail says how many checks ran and which
        failed, with their counts.
        """
        n = len(self.checks)
        n_skip = sum(c.skipped for c in self.checks)
        skipped = f" ({n_skip} skipped)" if n_skip else ""
        if self.passed:
            detail = f"{n} checks, all passed{skipped}"
        else:
            failed = "; ".join(f"{c.id} ({c.n_failing:,} failing)" for c in self.failures)
            detail = f"{len(self.failures)} of {n} FAILED: {failed}{skipped}"
        return Check(
            name=f"data contract {self.contract} v{self.version}",
            passed=self.passed,
            detail=detail,
        )

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
