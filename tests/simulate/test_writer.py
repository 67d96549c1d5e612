"""Chunked writes: a failure midway leaves no half-written table behind."""

from __future__ import annotations

import pyarrow as pa
import pytest

import attribution as at
from attribution.errors import OptionError
from attribution.simulate.factorial import FACTORIAL_SCHEMA
from attribution.simulate.writer import check_table_name, write_arrow_chunks


def _chunks_then_fail():
    yield pa.table(
        {
            "user_id": pa.array([1], pa.int64()),
            "market": ["m00"],
            "segment": ["new"],
            "E": pa.array([0], pa.int8()),
            "R": pa.array([1], pa.int8()),
            "K": pa.array([0], pa.int8()),
            "pre_engagement": [1.0],
            "engagement": [2.0],
        },
        schema=FACTORIAL_SCHEMA.to_pyarrow(),
    )
    raise RuntimeError("generator broke")


def test_failed_write_drops_the_table(tmp_path):
    con = at.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(RuntimeError, match="generator broke"):
        write_arrow_chunks(con, "half", _chunks_then_fail(), schema=FACTORIAL_SCHEMA)
    assert "half" not in con.list_tables()
    con.disconnect()


@pytest.mark.parametrize("name", ["", "a-b", "drop table x", 3, None])
def test_table_names_must_be_identifiers(name):
    with pytest.raises(OptionError, match="table_name"):
        check_table_name(name)


def test_duckdb_progress_bar_setting_is_restored(tmp_path):
    from attribution.simulate import factorial_experiment

    con = at.connect(str(tmp_path / "p.duckdb"))

    def setting():
        return con.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]

    for value in ("true", "false"):
        con.con.execute(f"SET enable_progress_bar = {value}")
        factorial_experiment(100, seed=0, con=con)
        assert setting() is (value == "true")
    con.disconnect()
