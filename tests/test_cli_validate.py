"""`attribution validate <table> --contract <name>`: prints the report, exit 0 pass / 1 fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from attribution.cli import main
from tests.data.test_contracts import factorial_frame as _factorial_frame


def factorial_frame():
    """A valid 40-row factorial table (the contract tests' builder)."""
    return _factorial_frame(40, seed=11)


REPO = Path(__file__).resolve().parents[1]


def test_parquet_that_passes(tmp_path, capsys):
    path = tmp_path / "exp.parquet"
    factorial_frame().to_parquet(path)
    code = main(["validate", str(path), "--contract", "factorial_experiment"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("contract factorial_experiment v1.1.0 on 40 rows")
    assert "PASSED" in out.splitlines()[0]
    assert "ok   all_cells_populated" in out


def test_csv_that_fails(tmp_path, capsys):
    frame = factorial_frame()
    frame.loc[3, "segment"] = "vip"
    frame = frame[~((frame.E == 1) & (frame.R == 1) & (frame.K == 1))]
    path = tmp_path / "exp.csv"
    frame.to_csv(path, index=False)
    code = main(["validate", str(path), "--contract", "factorial_experiment"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED 2 of" in out.splitlines()[0]
    assert "FAIL segment.allowed (allowed) [segment] — 1 failing" in out
    assert "FAIL all_cells_populated (all_cells_present) [E, R, K] — 1 failing" in out
    assert "vip" in out


def test_table_in_a_duckdb_file(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    con = ibis.duckdb.connect(str(db))
    con.create_table("experiment", factorial_frame())
    con.disconnect()
    assert (
        main(["validate", "experiment", "--db", str(db), "--contract", "factorial_experiment"]) == 0
    )
    assert "PASSED" in capsys.readouterr().out
    assert main(["validate", "nope", "--db", str(db), "--contract", "factorial_experiment"]) == 1
    err = capsys.readouterr().err
    assert "table 'nope' not found" in err and "experiment" in err


def test_reference_tables_from_the_command_line(tmp_path, capsys):
    launches = pd.DataFrame(
        {
            "component": ["E", "R"],
            "unit": ["m00/home", "m09/home"],
            "start_date": pd.to_datetime(["2026-03-03", "2026-03-02"]),
            "start_period": [3, 2],
            "rollout_share": [1.0, 0.5],
        }
    )
    panel_units = pd.DataFrame({"unit": ["m00/home", "m01/home"]})
    launches.to_parquet(tmp_path / "launch.parquet")
    panel_units.to_parquet(tmp_path / "panel.parquet")
    args = ["validate", str(tmp_path / "launch.parquet"), "--contract", "launch_log"]
    assert main(args) == 0
    assert "skip unit_in_surface_panel" in capsys.readouterr().out
    ref = f"surface_panel={tmp_path / 'panel.parquet'}"
    assert main([*args, "--reference", ref]) == 1
    out = capsys.readouterr().out
    assert "FAIL unit_in_surface_panel (reference) [unit] — 1 failing" in out
    assert "m09/home" in out
    assert main([*args, "--reference", "surface_panel"]) == 1
    assert "is not NAME=SOURCE" in capsys.readouterr().err


def test_usage_errors_exit_1_with_a_message(tmp_path, capsys):
    path = tmp_path / "exp.parquet"
    factorial_frame().to_parquet(path)
    assert main(["validate", str(path), "--contract", "no_such_contract"]) == 1
    err = capsys.readouterr().err
    assert "ContractError: unknown contract 'no_such_contract'" in err
    assert "factorial_experiment" in err
    assert main(["validate", "experiment", "--contract", "factorial_experiment"]) == 1
    assert "--db" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "absent.parquet"), "--contract", "exposures"]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse: missing --contract is a usage error
        main(["validate", str(path)])
    assert stop.value.code == 2


def test_module_entry_point_subprocess(tmp_path):
    path = tmp_path / "exp.parquet"
    frame = factorial_frame()
    frame.loc[0, "engagement"] = np.inf
    frame.to_parquet(path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "attribution",
            "validate",
            str(path),
            "--contract",
            "factorial_experiment",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "FAIL engagement.finite (finite) [engagement] — 1 failing" in proc.stdout


def test_column_map_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "exp.parquet"
    factorial_frame().rename(columns={"engagement": "watch_time"}).to_parquet(path)
    args = ["validate", str(path), "--contract", "factorial_experiment"]
    assert main(args) == 1
    assert "FAIL engagement.present" in capsys.readouterr().out
    assert main([*args, "--column", "engagement=watch_time"]) == 0
    assert "engagement = table column 'watch_time'" in capsys.readouterr().out
    assert main([*args, "--column", "engagement"]) == 1
    assert "is not CONTRACT_NAME=TABLE_NAME" in capsys.readouterr().err
