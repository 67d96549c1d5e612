"""The data layer: connect(), as_table(), column checks, engine-side missing/duplicate checks."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.data import (
    as_table,
    backend_name,
    fetch,
    fingerprint,
    require_columns,
    require_complete,
    require_unique,
)
from attribution.data.panel import check_panel
from attribution.errors import DataError, DataTooLarge
from tests.conftest import put


def test_connect_targets(tmp_path) -> None:
    assert at.connect().name == "duckdb"
    path = tmp_path / "sub" / "x.duckdb"
    con = at.connect(path)
    con.create_table("t", pd.DataFrame({"a": [1]}))
    assert path.exists() and at.connect(str(path)).list_tables() == ["t"]
    assert at.connect(con) is con
    with pytest.raises(DataError, match="cannot connect"):
        at.connect("postgres://nowhere")
    with pytest.raises(DataError):
        at.connect(42)


@pytest.mark.spark
def test_connect_spark(spark_backend) -> None:
    assert spark_backend.name == "pyspark"
    t = put(spark_backend, pd.DataFrame({"a": [1, 2]}))
    assert backend_name(t) == "pyspark" and int(t.count().execute()) == 2


def test_as_table_does_not_copy_or_mutate(tmp_path) -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, np.nan]})
    before = df.copy()
    t = as_table(df)
    assert int(t.count().execute()) == 3
    pd.testing.assert_frame_equal(df, before)
    assert as_table(t) is t
    df.to_parquet(tmp_path / "x.parquet")
    assert int(as_table(tmp_path / "x.parquet").count().execute()) == 3
    with pytest.raises(DataError, match="does not exist"):
        as_table(tmp_path / "missing.parquet")
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        as_table([1, 2])
    with pytest.raises(DataError, match="column names must be strings"):
        as_table(pd.DataFrame({0: [1]}))


def test_require_columns_names_missing_and_mistyped() -> None:
    t = as_table(pd.DataFrame({"y": [1.0], "s": ["a"], "i": [1]}))
    require_columns(t, {"y": "numeric", "s": "string", "i": "integer"})
    with pytest.raises(DataError, match=r"\['z'\]") as e:
        require_columns(t, {"y": "numeric", "z": "any"})
    assert e.value.columns == ("z",)
    with pytest.raises(DataError, match="'s' is string but must be numeric") as e:
        require_columns(t, {"s": "numeric"})
    assert e.value.columns == ("s",)


def test_require_complete_counts_nan_null_inf(engine) -> None:
    df = pd.DataFrame({"y": [1.0, np.nan, np.inf, -np.inf, 2.0], "x": [1.0, 2, 3, 4, 5]})
    t = as_table(engine(df))
    require_complete(t, ["x"])
    with pytest.raises(DataError, match="'y': 3 rows") as e:
        require_complete(t, ["x", "y"])
    assert e.value.columns == ("y",) and len(e.value.rows) == 3


def test_require_unique_and_panel_checks(engine) -> None:
    df = pd.DataFrame({"u": [1, 1, 2, 2, 2, 3], "t": [1, 2, 1, 2, 2, 1], "y": np.arange(6.0)})
    t = as_table(engine(df))
    with pytest.raises(DataError, match="1 duplicated") as e:
        require_unique(t, ["u", "t"], what="(unit, time) rows")
    assert e.value.rows.iloc[0].to_dict() == {"u": 2, "t": 2, "n_rows": 2}
    ok = as_table(engine(df.drop_duplicates(["u", "t"])))
    with pytest.raises(DataError, match="1 of 3 units") as e:
        check_panel(ok, unit="u", time="t")
    assert list(e.value.rows["u"]) == [3]
    shape = check_panel(ok, unit="u", time="t", require_balanced=False)
    assert shape.n_units == 3 and not shape.balanced and list(shape.periods) == [1, 2]


def test_fetch_refuses_large_pulls() -> None:
    t = ibis.memtable(pd.DataFrame({"a": range(100)}))
    assert len(fetch(t, what="test")) == 100
    with pytest.raises(DataTooLarge, match="100 unit-level rows"):
        fetch(t, what="test", max_rows=10)
    with at.config.options(max_pull_rows=50), pytest.raises(DataTooLarge):
        fetch(t, what="test")


def test_fingerprint_records_rows_schema_backend() -> None:
    fp = fingerprint(as_table(pd.DataFrame({"a": [1, 2]})), contract=("c", "1.0.0"))
    assert fp.n_rows == 2 and fp.columns == {"a": "int64"} and fp.contract_version == "1.0.0"
    assert fp.backend == "duckdb"


def test_check_panel_counts_and_empty_panel(engine) -> None:
    df = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2, 1, 2], "y": [0.0, 1.0, 2.0, 3.0]})
    t = as_table(engine(df))
    shape = check_panel(t, unit="u", time="t")
    assert (shape.n_units, shape.n_rows, shape.balanced) == (2, 4, True)
    with pytest.raises(DataError, match="the panel is empty"):
        check_panel(t.filter(t.u < 0), unit="u", time="t")
