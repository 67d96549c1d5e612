"""Typed errors. Every error a user can hit says what is wrong, where (columns, rows) and how to fix it.

Hierarchy::

    AttributionError
      DataError            the input table is unusable (missing/mistyped column, NaN, empty, duplicates)
        ContractViolation  a table failed its data contract (carries the full report)
        DataTooLarge       a design would pull more rows out of the engine than allowed
      DesignError          the table is fine but the design cannot be estimated from it
      OptionError          an option value outside its vocabulary or range
        StudySpecError     a study spec (YAML) is wrong; names the file, the line and the fix
      EstimationError      the numerics failed (singular matrix, optimiser did not converge)
      ReportError          a report notebook failed to execute or render
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = [
    "AttributionError",
    "AttributionWarning",
    "ContractViolation",
    "DataError",
    "DataTooLarge",
    "DesignError",
    "DesignWarning",
    "EstimationError",
    "OptionError",
    "ReportError",
    "StudySpecError",
]


class AttributionWarning(UserWarning):
    """Something the user should know that does not stop the estimate (e.g. a failed SRM check)."""


class DesignWarning(AttributionWarning):
    """The design can be estimated but its comparisons may be contaminated (e.g. close launches)."""


class AttributionError(Exception):
    """Base of every error raised on purpose by `attribution`.

    Parameters
    ----------
    message: what went wrong, in one sentence.
    columns: the columns involved.
    rows: a few example rows that show the problem (printed with the message).
    fix: what the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        columns: Sequence[str] = (),
        rows: pd.DataFrame | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.columns = tuple(columns)
        self.rows = rows
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.columns:
            parts.append("columns: " + ", ".join(repr(c) for c in self.columns))
        if self.rows is not None and len(self.rows):
            parts.append("example rows:\n" + _indent(self.rows.to_string(index=False, max_rows=10)))
        if self.fix:
            parts.append("fix: " + self.fix)
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "message": self.message,
            "columns": list(self.columns),
            "fix": self.fix,
        }


class DataError(AttributionError, ValueError):
    """The input table cannot be used as given."""


class ContractViolation(DataError):
    """A table failed one or more checks of its data contract; `.report` lists every failure."""

    def __init__(self, report: Any) -> None:  # report: attribution.data.contracts.ContractReport
        self.report = report
        failed = report.failures
        super().__init__(
            f"table failed {len(failed)} check(s) of contract {report.contract!r} "
            f"(version {report.version}):\n" + report.to_text(only_failures=True),
            columns=sorted({c for f in failed for c in f.columns}),
            fix="correct the rows listed above, or fix the contract if it is wrong",
        )


class DataTooLarge(DataError):
    """Pulling unit-level rows out of the engine would exceed `config.max_pull_rows`."""


class DesignError(AttributionError, ValueError):
    """The data are valid but the requested design cannot be estimated from them."""


class OptionError(AttributionError, ValueError):
    """An option is outside its vocabulary or range."""


class StudySpecError(OptionError):
    """A study spec is wrong: the message names the file and the line to fix (``path``, ``line``)."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None,
        fix: str | None = None,
        columns: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}", columns=columns, fix=fix)


class EstimationError(AttributionError, RuntimeError):
    """The numerical estimation failed."""


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


class ReportError(AttributionError, RuntimeError):
    """A report template failed to execute or render; the message carries the failing cell's error."""
