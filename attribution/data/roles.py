"""Reserved internal column names: a design renames the columns it needs at entry, so no user column
name can ever meet a name the engine queries use internally (hardening class 1), and errors raised
after the rename speak the user's names again (class 9).

A design validates the request with the user's names, then calls `select_roles`, which selects only the
columns it needs and renames them to ``__at_<role>``; every intermediate column and aggregate the
design creates also starts with ``__at_`` (`internal`). Inside ``with roles.user_names():`` any
`AttributionError` naming an internal column is rewritten to name the user's column.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence

import ibis.expr.types as ir

from attribution.errors import AttributionError, DataError

__all__ = ["RESERVED_PREFIX", "Roles", "internal", "select_roles"]

RESERVED_PREFIX = "__at_"
"""Every internal column and aggregate name starts with this; user columns may not."""


def internal(name: str) -> str:
    """The reserved internal name for an intermediate column or aggregate (``__at_<name>``)."""
    return f"{RESERVED_PREFIX}{name}"


@dataclasses.dataclass(frozen=True)
class Roles:
    """The renamed table and the map between internal and user names."""

    table: ir.Table
    """The selected columns under their internal names."""
    source: ir.Table
    """The table as the user passed it (for provenance: its schema, not the internal one)."""
    names: Mapping[str, str | tuple[str, ...] | None]
    """role → internal name(s), e.g. {"outcome": "__at_outcome", "covariates": ("__at_covariates_0",)}."""
    user: Mapping[str, str]
    """internal name → the user's column name."""

    def __getitem__(self, role: str) -> str:
        value = self.names[role]
        if not isinstance(value, str):
            raise KeyError(f"role {role!r} holds several columns: use .many({role!r})")
        return value

    def many(self, role: str) -> tuple[str, ...]:
        value = self.names[role]
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    def to_user(self, text: str) -> str:
        """`text` with every internal name replaced by the user's column name."""
        return _replace(text, self.user)

    @contextlib.contextmanager
    def user_names(self) -> Iterator[None]:
        """Errors raised and warnings emitted inside speak the user's column names, never the
        internal ones (warnings are re-emitted, translated, under the caller's filters)."""
        with warnings.catch_warnings(record=True) as caught:  # the caller's filters still apply
            try:
                yield
            except AttributionError as exc:
                if not _mentions_internal(exc, self.user):
                    raise
                raise _renamed(exc, self.user) from exc.__cause__
            finally:
                pending = list(caught)
        for w in pending:
            message = w.message
            if isinstance(message, Warning) and RESERVED_PREFIX in str(message):
                message = w.category(_replace(str(message), self.user))
            warnings.warn_explicit(message, w.category, w.filename, w.lineno, source=w.source)


def select_roles(
    table: ir.Table, roles: Mapping[str, str | Sequence[str] | None], *, keep_order: bool = True
) -> Roles:
    """Select the columns a design needs, renamed to reserved internal names.

    `roles` maps a role ("outcome", "unit", "time", "covariates", ...) to a user column, a sequence of
    them, or None (role not used). One user column may fill several roles (it is selected once per
    role). Columns starting with the reserved prefix are refused.
    """
    schema = table.schema()
    clash = [c for c in schema.names if c.startswith(RESERVED_PREFIX)]
    if clash:
        raise DataError(
            f"column name(s) {clash} start with {RESERVED_PREFIX!r}, which attribution reserves "
            "for its internal columns",
            columns=clash,
            fix="rename those columns",
        )
    selection: dict[str, ir.Value] = {}
    names: dict[str, str | tuple[str, ...] | None] = {}
    user: dict[str, str] = {}
    for role, cols in roles.items():
        if cols is None:
            names[role] = None
            continue
        many = not isinstance(cols, str)
        listed = [cols] if isinstance(cols, str) else list(cols)
        out = []
        for i, col in enumerate(listed):
            if col not in schema:
                raise DataError(
                    f"{role}: column {col!r} not in the table",
                    columns=[col],
                    fix=f"available columns are {list(schema.names)}",
                )
            name = internal(f"{role}_{i}" if many else role)
            selection[name] = table[col]
            user[name] = col
            out.append(name)
        names[role] = tuple(out) if many else out[0]
    return Roles(table=table.select(**selection), source=table, names=names, user=user)


def _pattern(user: Mapping[str, str]) -> re.Pattern[str]:
    keys = sorted(user, key=len, reverse=True)  # longest first: __at_x_10 before __at_x_1
    return re.compile("|".join(re.escape(k) for k in keys))


def _replace(text: str, user: Mapping[str, str]) -> str:
    if not user or RESERVED_PREFIX not in text:
        return text
    return _pattern(user).sub(lambda m: user[m.group(0)], text)


def _mentions_internal(exc: AttributionError, user: Mapping[str, str]) -> bool:
    if RESERVED_PREFIX in exc.message or RESERVED_PREFIX in (exc.fix or ""):
        return True
    if any(c in user for c in exc.columns):
        return True
    return exc.rows is not None and any(str(c) in user for c in exc.rows.columns)


def _renamed(exc: AttributionError, user: Mapping[str, str]) -> AttributionError:
    """A copy of `exc` (same type) with internal names replaced by the user's."""
    rows = None if exc.rows is None else exc.rows.rename(columns=lambda c: user.get(c, c))
    new = type(exc).__new__(type(exc))
    new.__dict__.update(exc.__dict__)
    AttributionError.__init__(
        new,
        _replace(exc.message, user),
        columns=[user.get(c, c) for c in exc.columns],
        rows=rows,
        fix=None if exc.fix is None else _replace(exc.fix, user),
    )
    return new
