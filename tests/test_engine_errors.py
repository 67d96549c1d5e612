"""Engine and file errors become typed DataErrors naming the path and the fix (hardening class 6),
and the CLI prints one line, never a traceback, and creates nothing it was not asked to."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import attribution as at
from attribution.cli import main


def _bad_targets(tmp_path):
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("this is not a database")
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    return {
        "not a DuckDB file": (not_duckdb, "cannot open"),
        "a folder": (folder, "is a folder"),
        "an unwritable folder": (locked / "x.duckdb", "not writable"),
    }


@pytest.mark.parametrize("case", ["not a DuckDB file", "a folder", "an unwritable folder"])
def test_connect_bad_paths(tmp_path, case):
    path, match = _bad_targets(tmp_path)[case]
    if case == "an unwritable folder" and os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    with pytest.raises(at.DataError, match=match) as err:
        at.connect(str(path))
    assert str(path) in str(err.value) and err.value.fix


def test_connect_create_false_leaves_disk_untouched(tmp_path):
    target = tmp_path / "new" / "missing.duckdb"
    with pytest.raises(at.DataError, match="does not exist"):
        at.connect(str(target), create=False)
    assert not target.parent.exists()


@pytest.mark.parametrize("kind", ["empty", "corrupt", "folder", "csv-as-parquet"])
def test_unreadable_files(tmp_path, kind):
    path = tmp_path / "t.parquet"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        pd.DataFrame({"a": range(100)}).to_parquet(path)
        path.write_bytes(path.read_bytes()[:-40])
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_text("a,b\n1,2\n")
    with pytest.raises(at.DataError) as err:
        at.as_table(str(path))
    assert str(path) in str(err.value)


def test_cli_validate_missing_db_creates_nothing(tmp_path, capsys):
    db = tmp_path / "sub" / "missing.duckdb"
    code = main(["validate", "t", "--contract", "factorial_experiment", "--db", str(db)])
    assert code == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not db.exists() and not db.parent.exists()


def test_cli_one_line_never_a_traceback(tmp_path, capsys):
    bad = tmp_path / "t.parquet"
    bad.write_bytes(b"PAR1 garbage")
    assert main(["validate", str(bad), "--contract", "factorial_experiment"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: DataError") and str(bad) in err
    with pytest.raises(at.DataError):  # --debug shows the real error
        main(["--debug", "validate", str(bad), "--contract", "factorial_experiment"])
    with pytest.raises(at.DataError):
        main(["validate", str(bad), "--contract", "factorial_experiment", "--debug"])


def test_blank_column_names_are_refused():
    frame = pd.DataFrame({"": [1.0, 2.0], "y": [1.0, 2.0]})
    with pytest.raises(at.DataError, match="empty or blank"):
        at.as_table(frame)


def test_numeric_categoricals_are_read_by_value_and_said_so():
    frame = pd.DataFrame({"E": pd.Categorical([1, 0, 1], categories=[1, 0]), "y": [1.0, 2.0, 3.0]})
    with pytest.warns(at.errors.AttributionWarning, match=r"'E'.*by their values"):
        table = at.as_table(frame)
    assert table.execute()["E"].tolist() == [1, 0, 1]  # values, not the codes [0, 1, 0]
