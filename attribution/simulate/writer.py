"""Writing simulated tables into an engine chunk by chunk, so large tables never sit in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from attribution.errors import OptionError

__all__ = [
    "check_con",
    "check_table_name",
    "to_pandas",
    "write_arrow_chunks",
    "write_frame",
]


def check_con(con: Any) -> BaseBackend | None:
    """`con` must be None or an Ibis backend (use attribution.connect(...) to make one)."""
    if con is None or isinstance(con, BaseBackend):
        return con
    raise OptionError(
        f"con must be an Ibis backend or None, got {type(con).__name__}",
        fix="pass attribution.connect('file.duckdb'), attribution.connect('spark') or None",
    )


def check_table_name(name: Any, what: str = "table_name") -> str:
    if not isinstance(name, str) or not name or not name.replace("_", "").isalnum():
        raise OptionError(
            f"{what}={name!r} must be a non-empty identifier (letters, digits, underscores)",
            fix="e.g. table_name='factorial_experiment'",
        )
    return name


def _is_duckdb(con: BaseBackend) -> bool:
    return getattr(con, "name", "") == "duckdb"


def write_arrow_chunks(
    con: BaseBackend,
    name: str,
    chunks: Iterable[pa.Table],
    *,
    schema: ibis.Schema,
    progress: Callable[[int], None] | None = None,
) -> ir.Table:
    """Create (replace) table `name` in `con` with `schema`, then append each arrow chunk.

    DuckDB gets a zero-copy fast path (the arrow chunk is scanned directly by an INSERT); any other
    Ibis backend goes through ``con.insert``.
    """
    con.create_table(name, schema=schema, overwrite=True)
    try:
        _append(con, name, chunks, schema, progress)
    except BaseException:
        con.drop_table(name, force=True)  # never leave a half-written table behind
        raise
    return con.table(name)


def _append(
    con: BaseBackend,
    name: str,
    chunks: Iterable[pa.Table],
    schema: ibis.Schema,
    progress: Callable[[int], None] | None,
) -> None:
    if _is_duckdb(con):
        # DuckDB draws its own progress bar for inserts over ~2 s; ours is the one line on stderr.
        # Switch it off for the write and restore the caller's setting afterwards.
        raw = con.con
        before = raw.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
        raw.execute("SET enable_progress_bar = false")
        try:
            _append_rows(con, name, chunks, schema, progress)
        finally:
            raw.execute(f"SET enable_progress_bar = {'true' if before else 'false'}")
    else:
        _append_rows(con, name, chunks, schema, progress)


def _append_rows(
    con: BaseBackend,
    name: str,
    chunks: Iterable[pa.Table],
    schema: ibis.Schema,
    progress: Callable[[int], None] | None,
) -> None:
    done = 0
    for chunk in chunks:
        if _is_duckdb(con):
            raw = con.con
            view = f"__attribution_sim_chunk_{name}"
            raw.register(view, chunk)
            try:
                cols = ", ".join(f'"{c}"' for c in schema.names)
                raw.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM "{view}"')
            finally:
                raw.unregister(view)
        else:
            con.insert(name, chunk.to_pandas())
        done += chunk.num_rows
        if progress is not None:
            progress(done)


def write_frame(
    con: BaseBackend, name: str, frame: pd.DataFrame, *, schema: ibis.Schema
) -> ir.Table:
    """Create (replace) a small table from a pandas frame with an explicit schema."""
    con.create_table(name, schema=schema, overwrite=True)
    if len(frame):
        con.insert(name, frame[list(schema.names)])
    return con.table(name)


def to_pandas(chunks: Iterable[pa.Table]) -> pd.DataFrame:
    """Concatenate arrow chunks into one pandas frame (strings as pandas' default str dtype)."""
    table = pa.concat_tables(list(chunks))
    return table.to_pandas()
