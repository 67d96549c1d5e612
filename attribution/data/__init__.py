"""The data layer: engines, input tables, engine-side checks and data contracts."""

from attribution.data.checks import is_infinite, is_missing, require_complete, require_unique
from attribution.data.engine import (
    Data,
    as_table,
    backend_name,
    connect,
    fetch,
    fingerprint,
    require_columns,
    spark_session,
)

__all__ = [
    "Data",
    "as_table",
    "backend_name",
    "connect",
    "fetch",
    "fingerprint",
    "is_infinite",
    "is_missing",
    "require_columns",
    "require_complete",
    "require_unique",
    "spark_session",
]
