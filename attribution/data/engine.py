"""Connecting to an engine and turning any input into an Ibis table.

Every design calls `as_table` first, so pandas frames, Ibis tables on DuckDB or Spark, and file paths
all follow the same code path; aggregation then runs inside the engine that holds the data.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from attribution import config
from attribution.errors import DataError, DataTooLarge
from attribution.results import DataFingerprint

__all__ = [
    "Data",
    "accurate_sum",
    "as_table",
    "backend_name",
    "connect",
    "fetch",
    "fingerprint",
    "has_compensated_sum",
    "require_columns",
    "spark_session",
]

# ibis 12 reads pandas' deprecated `future.infer_string` option on every string column it returns, so
# each query result would print pandas' "future.infer_string is deprecated" warning. The warning is
# about ibis's code, not the user's: silence exactly that message from that module, nothing else.
warnings.filterwarnings(
    "ignore",
    message=r"The 'future\.infer_string' option is deprecated",
    module=r"ibis\.formats\.pandas",
)

Data = pd.DataFrame | ir.Table
"""What every design accepts: a pandas DataFrame or an Ibis table (DuckDB, Spark, ...)."""

_local = threading.local()


def connect(target: Any = None, *, create: bool = True) -> BaseBackend:
    """An Ibis backend.

    - ``None`` → a new in-memory DuckDB;
    - a path ending in ``.duckdb`` → that DuckDB file (created with its folder if absent, unless
      ``create=False``, which refuses a missing file and leaves the disk untouched);
    - ``"spark"`` → a local Spark session (``local[*]``) through Ibis;
    - a ``pyspark.sql.SparkSession`` → Ibis on that session;
    - an Ibis backend → returned unchanged.

    A path that is a folder, not a DuckDB file, or not writable raises a DataError naming it.
    """
    if target is None:
        return ibis.duckdb.connect()
    if isinstance(target, BaseBackend):
        return target
    if isinstance(target, str | os.PathLike):
        text = os.fspath(target)
        if text == "spark":
            return ibis.pyspark.connect(spark_session())
        if text == ":memory:":
            return ibis.duckdb.connect()
        if text.endswith(".duckdb"):
            return _connect_duckdb_file(Path(text), create=create)
        raise DataError(
            f"cannot connect to {text!r}",
            fix="pass None (in-memory DuckDB), a path ending in '.duckdb', 'spark', a SparkSession "
            "or an Ibis backend",
        )
    if type(target).__name__ == "SparkSession":
        return ibis.pyspark.connect(target)
    raise DataError(
        f"cannot connect to an object of type {type(target).__name__}",
        fix="pass None, a '.duckdb' path, 'spark', a SparkSession or an Ibis backend",
    )


def _connect_duckdb_file(path: Path, *, create: bool) -> BaseBackend:
    """Open a DuckDB file, turning every way it can fail into a DataError naming the path."""
    import duckdb

    where = str(path)
    if path.is_dir():
        raise DataError(
            f"{where!r} is a folder, not a DuckDB file", fix="pass a file path ending in .duckdb"
        )
    if not path.exists():
        if not create:
            raise DataError(
                f"DuckDB file {where!r} does not exist",
                fix="check the path (nothing was created)",
            )
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(
                f"cannot create the folder {str(parent)!r} for {where!r}: {exc.strerror or exc}",
                fix="choose a path in a writable folder",
            ) from exc
        if not os.access(parent, os.W_OK):
            raise DataError(
                f"cannot create {where!r}: the folder is not writable",
                fix="choose a path in a writable folder",
            )
    try:
        return ibis.duckdb.connect(where)
    except (duckdb.Error, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot open {where!r} as a DuckDB database: {first}",
            fix="pass a DuckDB database file (another process may hold its lock, or the file is "
            "not a DuckDB file)",
        ) from exc


def spark_session(app_name: str = "attribution") -> Any:
    """A local SparkSession tuned for tests and laptops (UTC, no UI, few shuffle partitions)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault(
        "SPARK_LOCAL_IP", "127.0.0.1"
    )  # the loopback; never bind a public interface
    return (
        SparkSession.builder.master(os.environ.get("ATTRIBUTION_SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.catalogImplementation", "in-memory")  # no Hive metastore / derby files
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="attribution-spark-warehouse-"))
        .config("spark.driver.memory", os.environ.get("ATTRIBUTION_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def _memory_backend() -> BaseBackend:
    """One private in-memory DuckDB per thread for pandas inputs."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = ibis.duckdb.connect()
    return con


def as_table(data: Any, *, backend: BaseBackend | None = None) -> ir.Table:
    """An Ibis table for `data` without copying or modifying it.

    Accepts an Ibis table (returned as is), a pandas DataFrame (scanned in place by DuckDB), a
    pyarrow Table, or a path to a ``.parquet`` / ``.csv`` file (read lazily by `backend`).
    """
    if isinstance(data, ir.Table):
        return data
    if isinstance(data, pd.DataFrame):
        if not all(isinstance(c, str) for c in data.columns):
            bad = [c for c in data.columns if not isinstance(c, str)]
            raise DataError(
                f"column names must be strings; got {bad[:5]}",
                fix="rename the columns, e.g. df.columns = df.columns.astype(str)",
            )
        if data.columns.duplicated().any():
            dup = list(data.columns[data.columns.duplicated()])
            raise DataError(f"duplicated column names {dup}", columns=dup, fix="rename them")
        blank = [c for c in data.columns if not c.strip()]
        if blank:
            raise DataError(
                f"{len(blank)} column name(s) are empty or blank",
                fix="give every column a name, e.g. df = df.rename(columns={'': 'x'})",
            )
        _say_categoricals(data)
        return ibis.memtable(data)
    if type(data).__module__.startswith("pyarrow"):
        return ibis.memtable(data)
    if isinstance(data, str | os.PathLike):
        return _read_file(Path(data), backend or _memory_backend())
    raise DataError(
        f"expected a pandas DataFrame or an Ibis table, got {type(data).__name__}",
        fix="pass a DataFrame, an Ibis table (e.g. attribution.connect().table('name')) or a file path",
    )


def _say_categoricals(frame: pd.DataFrame) -> None:
    """Categorical columns with numeric categories are read by their values, not their codes: say so.

    (String categories are read as strings, which each design's type checks then accept or refuse.)
    """
    from attribution.errors import AttributionWarning

    numeric = [
        c
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
        and pd.api.types.is_numeric_dtype(frame[c].dtype.categories.dtype)
    ]
    if numeric:
        warnings.warn(
            f"categorical column(s) {numeric} are read by their values (the categories), not by "
            "their category codes",
            AttributionWarning,
            stacklevel=3,
        )


def _read_file(path: Path, con: BaseBackend) -> ir.Table:
    """A lazily read .parquet / .csv file; unreadable, empty or corrupt files raise a DataError."""
    where = str(path)
    if not path.exists():
        raise DataError(f"file {where!r} does not exist", fix="check the path")
    if path.is_dir():
        raise DataError(f"{where!r} is a folder", fix="pass a .parquet or .csv file")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffix not in (".parquet", ".csv", ".csv.gz"):
        raise DataError(f"cannot read {where!r}", fix="use a .parquet or .csv file")
    if path.stat().st_size == 0:
        raise DataError(f"file {where!r} is empty", fix="write the table again")
    try:
        table = con.read_parquet(path) if suffix == ".parquet" else con.read_csv(path)
        table.schema()  # the engine reads the file's metadata now, not at the first query
    except Exception as exc:  # every engine has its own error types: name the file either way
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot read {where!r} as {suffix.lstrip('.')}: {first}",
            fix="check that the file is complete and in the format its name says",
        ) from exc
    return table


@ibis.udf.agg.builtin(name="fsum")
def _duckdb_fsum(x: float) -> float:  # type: ignore[empty-body]
    """DuckDB's compensated (Kahan–Babuška) sum."""


def accurate_sum(table: ir.Table, value: ir.NumericValue) -> ir.FloatingValue:
    """Σ value, compensated where the engine offers it (DuckDB's ``fsum``), else the plain sum.

    Engines add floats across threads in a varying order, so a plain SUM of a million values near 10
    differs between two runs by about 1e-14 relative; an effect that is a difference of two such means
    inherits that error magnified by mean / effect. The compensated sum is exact to about one ulp of
    the total, so reruns agree to about 1e-16 relative and estimates to 1e-12. Spark has no
    compensated sum: there the plain sum (and its last-bit differences) remains.
    """
    if has_compensated_sum(table):
        return _duckdb_fsum(value.cast("float64"))
    return value.cast("float64").sum()


def has_compensated_sum(table: ir.Table) -> bool:
    """Whether `accurate_sum` is compensated (deterministic to about one ulp) on this table's engine."""
    return backend_name(table) in ("duckdb", "memory")


def backend_name(table: ir.Table) -> str:
    """'duckdb', 'pyspark', ... for a table; 'memory' for pandas-backed memtables."""
    try:
        return table._find_backend(use_default=True).name
    except Exception:
        return "memory"


def require_columns(
    table: ir.Table,
    columns: Mapping[str, str] | Iterable[str],
    *,
    role: str = "",
) -> None:
    """Raise DataError naming every missing or mistyped column.

    `columns` maps a column name to a kind: ``"numeric"``, ``"integer"``, ``"binary"`` (numeric or
    boolean; values are checked elsewhere), ``"temporal"``, ``"string"``, ``"any"``. An iterable of
    names means kind ``"any"``.
    """
    spec = dict(columns) if isinstance(columns, Mapping) else dict.fromkeys(columns, "any")
    schema = table.schema()
    missing = [c for c in spec if c is not None and c not in schema]
    if missing:
        raise DataError(
            f"{role + ': ' if role else ''}column(s) {missing} not in the table",
            columns=missing,
            fix=f"available columns are {list(schema.names)}",
        )
    wrong = []
    for name, kind in spec.items():
        if name is None or kind == "any":
            continue
        typ = schema[name]
        if not _kind_ok(typ, kind):
            wrong.append(f"{name!r} is {typ} but must be {kind}")
    if wrong:
        bad = [w.split("'")[1] for w in wrong]
        raise DataError(
            f"{role + ': ' if role else ''}mistyped column(s): " + "; ".join(wrong),
            columns=bad,
            fix="cast the column(s) to the required type before calling",
        )


def _kind_ok(typ: dt.DataType, kind: str) -> bool:
    if kind == "numeric":
        return typ.is_numeric() or typ.is_boolean()
    if kind == "integer":
        return typ.is_integer()
    if kind == "binary":
        return typ.is_numeric() or typ.is_boolean()
    if kind == "temporal":
        return typ.is_temporal()
    if kind == "string":
        return typ.is_string()
    if kind == "key":  # something you can group by
        return typ.is_integer() or typ.is_string() or typ.is_temporal() or typ.is_boolean()
    raise ValueError(f"unknown column kind {kind!r}")


def fetch(expr: ir.Table, *, what: str, max_rows: int | None = None) -> pd.DataFrame:
    """Execute `expr` into pandas, refusing (before pulling) if it has more than `max_rows` rows.

    Use for unit-level pulls that a design really needs; aggregates can be executed directly.
    """
    limit = max_rows if max_rows is not None else config.get().max_pull_rows
    n = int(expr.count().execute())
    if n > limit:
        raise DataTooLarge(
            f"{what} needs {n:,} unit-level rows in memory, above the limit of {limit:,}",
            fix="aggregate first, sample, or raise the limit with "
            "attribution.config.options(max_pull_rows=...)",
        )
    return expr.execute()


def fingerprint(
    table: ir.Table,
    *,
    n_rows: int | None = None,
    contract: tuple[str, str] | None = None,
    source: str | None = None,
) -> DataFingerprint:
    """Row count, schema and backend of the data an estimate used."""
    if n_rows is None:
        n_rows = int(table.count().execute())
    return DataFingerprint(
        n_rows=int(n_rows),
        columns={k: str(v) for k, v in table.schema().items()},
        backend=backend_name(table),
        source=source,
        contract=contract[0] if contract else None,
        contract_version=contract[1] if contract else None,
    )
