"""Data contracts: loading and validating the YAML, and every check passing and failing in the engine."""

from __future__ import annotations

import datetime as _dt
import itertools
import json

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution import config
from attribution.data.contracts import (
    CHECK_KINDS,
    ColumnSpec,
    ContractError,
    ContractReport,
    available_contracts,
    contracts_dir,
    load_contract,
    validate,
)
from attribution.data.engine import fingerprint
from attribution.errors import ContractViolation, DataError, OptionError
from tests.conftest import put

CONTRACTS = (
    "exposures",
    "factorial_experiment",
    "launch_log",
    "launch_train",
    "launches",
    "surface_panel",
)


# ------------------------------------------------------------------------------------------
# valid tables, built here (tables.md), and a pandas / DuckDB engine fixture
# ------------------------------------------------------------------------------------------


def factorial_frame(n: int = 64, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cells = np.array(list(itertools.product([0, 1], repeat=3)))
    arm = cells[np.arange(n) % 8]
    return pd.DataFrame(
        {
            "user_id": np.arange(1, n + 1, dtype="int64"),
            "market": [f"m{i % 4:02d}" for i in range(n)],
            "segment": np.array(["new", "casual", "heavy"])[np.arange(n) % 3],
            "E": arm[:, 0].astype("int8"),
            "R": arm[:, 1].astype("int8"),
            "K": arm[:, 2].astype("int8"),
            "pre_engagement": rng.gamma(2.0, 1.0, n),
            "engagement": rng.gamma(2.0, 1.0, n),
        }
    )


def panel_frame(n_units: int = 3, n_periods: int = 4, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    start = _dt.date(2026, 3, 1)
    for u in range(n_units):
        market, surface = f"m{u:02d}", ("home", "search", "watch_next")[u % 3]
        for p in range(1, n_periods + 1):
            rows.append(
                {
                    "unit": f"{market}/{surface}",
                    "market": market,
                    "surface": surface,
                    "period": p,
                    "date": pd.Timestamp(start + _dt.timedelta(days=p - 1)),
                    "engagement": float(rng.normal(5, 1)),
                    "users": int(rng.integers(100, 200)),
                    "E": 1.0 if (u == 0 and p >= 3) else 0.0,
                    "R": 0.5 if (u == 1 and p >= 2) else 0.0,
                    "K": 0.0,
                }
            )
    return pd.DataFrame(rows)


def launch_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "component": ["E", "R"],
            "unit": ["m00/home", "m01/search"],
            "start_date": pd.to_datetime(["2026-03-03", "2026-03-02"]),
            "start_period": [3, 2],
            "rollout_share": [1.0, 0.5],
        }
    )


def exposures_frame(n: int = 30, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": np.arange(n, dtype="int64"),
            "segment": np.array(["new", "casual", "heavy"])[np.arange(n) % 3],
            "activity": rng.gamma(2.0, 1.0, n),
            "pre_engagement": rng.gamma(2.0, 1.0, n),
            "exposure_E": rng.uniform(0, 1, n),
            "exposure_R": rng.uniform(0, 1, n),
            "exposure_K": rng.uniform(0, 1, n),
            "engagement": rng.gamma(2.0, 1.0, n),
        }
    )


def launch_train_frames() -> dict[str, pd.DataFrame]:
    """The two tables of the launch-train scenario (simulated: small and deterministic)."""
    from attribution.simulate import launch_train

    sim = launch_train(200, n_weeks=3, seed=3)
    return {name: sim.table(name) for name in ("launch_train", "launches")}


VALID = {
    "factorial_experiment": factorial_frame,
    "surface_panel": panel_frame,
    "launch_log": launch_frame,
    "exposures": exposures_frame,
    "launch_train": lambda: launch_train_frames()["launch_train"],
    "launches": lambda: launch_train_frames()["launches"],
}
VERSIONS = {"launch_log": "1.0.0", "launch_train": "1.0.0", "launches": "1.0.0"}
"""Contract versions that are not 1.1.0."""


@pytest.fixture(params=["pandas", "duckdb"])
def eng(request, duckdb_backend):
    """pandas and DuckDB (Spark gets one dedicated test below, to keep the suite fast)."""
    if request.param == "pandas":
        return lambda frame: frame
    return lambda frame: _put(duckdb_backend, frame)


_names = itertools.count()


def _put(backend, frame: pd.DataFrame):
    """Copy `frame` into `backend` as a fresh table (so the checks run on a real engine table)."""
    return backend.create_table(f"contract_t{next(_names)}", frame, overwrite=True)


def failing(report: ContractReport) -> dict[str, int]:
    return {c.id: c.n_failing for c in report.failures}


# ------------------------------------------------------------------------------------------
# loading contracts
# ------------------------------------------------------------------------------------------


def test_shipped_contracts_load_and_match_tables_md():
    assert available_contracts() == CONTRACTS
    fx = load_contract("factorial_experiment")
    assert fx.version == "1.1.0"
    assert fx.primary_key == ("user_id",)
    assert fx.column_names == (
        "user_id",
        "market",
        "segment",
        "E",
        "R",
        "K",
        "pre_engagement",
        "engagement",
    )
    assert fx.column("segment").allowed == ("new", "casual", "heavy")
    assert fx.column("engagement").finite and fx.column("engagement").min == 0
    assert {c.kind for c in fx.checks} == {"constant_within", "all_cells_present", "min_rows"}
    sp = load_contract("surface_panel")
    assert sp.primary_key == ("unit", "period")
    assert "balanced_panel" in {c.kind for c in sp.checks}
    assert sp.column("users").min == 0 and not sp.column("users").min_inclusive
    ll = load_contract("launch_log")
    assert ll.primary_key == ("component", "unit")
    share = ll.column("rollout_share")
    assert (share.min, share.min_inclusive, share.max, share.max_inclusive) == (0, False, 1, True)
    ex = load_contract("exposures")
    assert ex.column("exposure_K").max == 1
    table = ex.to_frame()
    assert table["column"].tolist() == list(ex.column_names)
    row = table.set_index("column").loc["exposure_K"]
    assert (row["type"], row["range"], row["finite"]) == (
        "float64",
        "exposure_K >= 0 and exposure_K <= 1",
        True,
    )
    assert table.set_index("column").loc["user_id", "primary_key"]
    for name in CONTRACTS:  # every check kind the format offers is used or tested below
        for check in load_contract(name).checks:
            assert check.kind in CHECK_KINDS


def test_load_by_path_and_env_var(tmp_path, monkeypatch):
    src = contracts_dir() / "exposures.yaml"
    by_path = load_contract(src)
    assert by_path.name == "exposures" and by_path.source == str(src)
    (tmp_path / "mine.yaml").write_text(
        'name: mine\nversion: "0.2.1"\ncolumns:\n  x: {type: numeric, min: 0}\n'
    )
    monkeypatch.setenv("ATTRIBUTION_CONTRACTS_DIR", str(tmp_path))
    assert available_contracts() == ("mine",)
    assert load_contract("mine").version == "0.2.1"
    monkeypatch.setenv("ATTRIBUTION_CONTRACTS_DIR", str(tmp_path / "nope"))
    with pytest.raises(ContractError, match="ATTRIBUTION_CONTRACTS_DIR"):
        load_contract("mine")


def test_unknown_contract_lists_the_available_ones():
    with pytest.raises(ContractError) as err:
        load_contract("factorial_experimnet")
    assert "factorial_experimnet" in str(err.value)
    for name in CONTRACTS:
        assert name in err.value.fix
    assert isinstance(err.value, OptionError)  # typed, catchable as an option problem
    with pytest.raises(ContractError, match="does not exist"):
        load_contract("no/such/file.yaml")
    with pytest.raises(ContractError, match="string or a path"):
        load_contract(42)  # type: ignore[arg-type]


GOOD = {
    "name": "t",
    "version": "1.0.0",
    "columns": {"id": {"type": "int64"}, "x": {"type": "float64"}, "s": {"type": "string"}},
}


def _with(**changes):
    import copy

    doc = copy.deepcopy(GOOD)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = doc
        for p in parents:
            node = node[p]
        node[leaf] = value
    return doc


MALFORMED = [
    (_with(colour="red"), "'colour'"),
    ({k: v for k, v in GOOD.items() if k != "version"}, "'version'"),
    (_with(version=1.0), "'version'"),
    (_with(version="one"), "'version'"),
    (_with(name="has space"), "'name'"),
    (_with(columns={}), "'columns'"),
    (_with(columns__x={"type": "float64", "minimum": 0}), "'columns.x.minimum'"),
    (_with(columns__x={"nullable": True}), "'columns.x.type'"),
    (_with(columns__x={"type": "double"}), "'columns.x.type'"),
    (_with(columns__x={"type": "float64", "nullable": "no"}), "'columns.x.nullable'"),
    (_with(columns__x={"type": "float64", "min": "zero"}), "'columns.x.min'"),
    (_with(columns__x={"type": "float64", "min": 2, "max": 1}), "'columns.x.min'"),
    (_with(columns__s={"type": "string", "min": 0}), "'columns.s.min'"),
    (_with(columns__s={"type": "string", "finite": True}), "'columns.s.finite'"),
    (_with(columns__s={"type": "string", "allowed": [1, 2]}), "'columns.s.allowed'"),
    (_with(columns__x={"type": "float64", "allowed": []}), "'columns.x.allowed'"),
    (_with(primary_key=["id", "nope"]), "'primary_key'"),
    (_with(checks={"id": "a"}), "'checks'"),
    (_with(checks=[{"kind": "min_rows", "min_rows": 1}]), "'checks[0].id'"),
    (_with(checks=[{"id": "a", "kind": "teleport"}]), "'checks[0].kind'"),
    (_with(checks=[{"id": "x.type", "kind": "min_rows", "min_rows": 1}]), "'checks[0].id'"),
    (_with(checks=[{"id": "a", "kind": "min_rows", "min_rows": 1, "cols": 1}]), "'checks[0].cols'"),
    (_with(checks=[{"id": "a", "kind": "min_rows"}]), "'checks[0].min_rows'"),
    (_with(checks=[{"id": "a", "kind": "min_rows", "min_rows": -1}]), "'checks[0].min_rows'"),
    (_with(checks=[{"id": "a", "kind": "unique", "columns": ["zz"]}]), "'checks[0].columns'"),
    (
        _with(checks=[{"id": "a", "kind": "constant_within", "columns": ["x"], "within": []}]),
        "'checks[0].within'",
    ),
    (
        _with(checks=[{"id": "a", "kind": "all_cells_present", "columns": ["x"], "levels": [1]}]),
        "'checks[0].levels'",
    ),
    (
        _with(checks=[{"id": "a", "kind": "all_cells_present", "columns": ["s", "id"]}]),
        "'checks[0].levels'",
    ),
    (
        _with(
            checks=[
                {"id": "a", "kind": "reference", "columns": ["id"], "table": "o", "ref_columns": []}
            ]
        ),
        "'checks[0].ref_columns'",
    ),
    (
        _with(
            checks=[
                {"id": "a", "kind": "min_rows", "min_rows": 1},
                {"id": "a", "kind": "min_rows", "min_rows": 2},
            ]
        ),
        "'checks[1].id'",
    ),
    (
        _with(
            primary_key=["id"], checks=[{"id": "primary_key", "kind": "min_rows", "min_rows": 1}]
        ),
        "'checks[0].id'",
    ),
]


@pytest.mark.parametrize(("doc", "key"), MALFORMED, ids=[k for _, k in MALFORMED])
def test_malformed_contract_names_the_bad_key(tmp_path, doc, key):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ContractError) as err:
        load_contract(path)
    assert key in str(err.value)
    assert str(path) in str(err.value)


def test_yaml_boolean_column_names_are_caught(tmp_path):
    path = tmp_path / "yn.yaml"
    path.write_text('name: yn\nversion: "1.0.0"\ncolumns:\n  on: float64\n')
    with pytest.raises(ContractError, match=r"'columns\.True'(.|\n)*quote it"):
        load_contract(path)
    path.write_text('name: yn\nversion: "1.0.0"\ncolumns:\n  "on": float64\n')
    assert load_contract(path).column_names == ("on",)


def test_malformed_yaml_syntax_and_top_level(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncolumns: [a: b: c\n")
    with pytest.raises(ContractError, match="not valid YAML"):
        load_contract(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ContractError, match="top level must be a mapping"):
        load_contract(path)


def test_file_name_must_match_declared_name(tmp_path, monkeypatch):
    (tmp_path / "alpha.yaml").write_text('name: beta\nversion: "1.0.0"\ncolumns: {x: int64}\n')
    monkeypatch.setenv("ATTRIBUTION_CONTRACTS_DIR", str(tmp_path))
    with pytest.raises(ContractError, match="declares name 'beta'"):
        load_contract("alpha")


def test_type_names_exact_families_and_any_of():
    spec = ColumnSpec(name="x", types=("integer",))
    assert spec.type_ok(ibis.dtype("int8")) and spec.type_ok(ibis.dtype("int64"))
    assert not spec.type_ok(ibis.dtype("float64"))
    exact = ColumnSpec(name="x", types=("int64",))
    assert exact.type_ok(ibis.dtype("int64")) and not exact.type_ok(ibis.dtype("int32"))
    either = ColumnSpec(name="d", types=("date", "timestamp"))
    assert either.type_ok(ibis.dtype("date")) and either.type_ok(ibis.dtype("timestamp"))
    assert not either.type_ok(ibis.dtype("string"))
    num = ColumnSpec(name="x", types=("numeric",))
    assert num.type_ok(ibis.dtype("float32")) and not num.type_ok(ibis.dtype("boolean"))


# ------------------------------------------------------------------------------------------
# valid tables pass on every engine
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONTRACTS)
def test_valid_tables_pass(eng, name):
    frame = VALID[name]()
    refs = {"surface_panel": eng(panel_frame())} if name == "launch_log" else None
    report = validate(eng(frame), name, references=refs)
    assert report.passed, report.to_text(only_failures=True)
    assert report.n_rows == len(frame)
    assert report.contract == name and report.version == VERSIONS.get(name, "1.1.0")
    assert not any(c.skipped for c in report.checks)
    assert all(c.n_failing == 0 and c.examples.empty for c in report.checks)


def test_caller_frame_is_not_mutated():
    frame = factorial_frame()
    frame.loc[0, "engagement"] = np.inf
    before = frame.copy()
    validate(frame, "factorial_experiment", raise_on_failure=False)
    pd.testing.assert_frame_equal(frame, before)


def test_date_column_accepts_python_dates_and_rejects_text(eng):
    frame = panel_frame()
    frame["date"] = frame["date"].dt.date  # object column of datetime.date -> Ibis date
    assert validate(eng(frame), "surface_panel").passed
    frame["date"] = frame["date"].astype(str)
    report = validate(eng(frame), "surface_panel", raise_on_failure=False)
    assert failing(report) == {"date.type": 1}
    assert "string" in report["date.type"].message


# ------------------------------------------------------------------------------------------
# each failure names the check, the count and example rows
# ------------------------------------------------------------------------------------------


def test_nan_and_inf_in_non_null_finite_columns(eng):
    frame = factorial_frame()
    frame.loc[[2, 9], "engagement"] = np.nan
    frame.loc[4, "pre_engagement"] = np.inf
    frame.loc[5, "pre_engagement"] = -np.inf
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert failing(report) == {
        "engagement.not_null": 2,
        "pre_engagement.finite": 2,
        "pre_engagement.range": 1,  # -inf < 0
    }
    ex = report["engagement.not_null"].examples
    assert list(ex.columns) == ["user_id", "engagement"]
    assert sorted(ex["user_id"]) == [3, 10]
    ex = report["pre_engagement.finite"].examples
    assert sorted(ex["user_id"]) == [5, 6]
    assert set(np.abs(ex["pre_engagement"])) == {np.inf}
    assert report["pre_engagement.range"].examples["user_id"].tolist() == [6]


def test_values_outside_allowed_set_and_range(eng):
    frame = factorial_frame()
    frame.loc[0, "segment"] = "vip"
    frame.loc[1, "E"] = 2
    frame.loc[2, "engagement"] = -0.5
    frame.loc[3, "market"] = None
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    got = failing(report)
    # 8 users per cell, so moving one user out of a cell leaves every cell populated
    assert got == {
        "segment.allowed": 1,
        "E.allowed": 1,
        "engagement.range": 1,
        "market.not_null": 1,
    }
    assert report["segment.allowed"].examples.to_dict("records") == [
        {"user_id": 1, "segment": "vip"}
    ]
    assert report["E.allowed"].examples["E"].tolist() == [2]
    assert report["engagement.range"].message == "engagement >= 0"


def test_duplicate_keys_and_unit_in_two_arms(eng):
    frame = factorial_frame()
    twin = frame.iloc[[0]].copy()  # user 1 again, same arm: a duplicate row
    moved = frame.iloc[[1]].copy()  # user 2 again, in another arm
    moved["E"] = np.int8(1 - moved["E"].iloc[0])
    frame = pd.concat([frame, twin, moved], ignore_index=True)
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert failing(report) == {"primary_key": 2, "one_arm_per_user": 1}
    dups = report["primary_key"].examples
    assert sorted(dups["user_id"]) == [1, 2] and set(dups["n_rows"]) == {2}
    arms = report["one_arm_per_user"].examples
    assert arms["user_id"].tolist() == [2, 2]
    assert sorted(arms["E"]) == [0, 1]


def test_missing_cell(eng):
    frame = factorial_frame()
    frame = frame[~((frame.E == 1) & (frame.R == 0) & (frame.K == 1))]
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert failing(report) == {"all_cells_populated": 1}
    res = report["all_cells_populated"]
    assert res.examples.to_dict("records") == [{"E": 1, "R": 0, "K": 1, "n_rows": 0}]
    assert "1 of 8 cells" in res.message


def test_missing_column_is_a_failure_not_a_crash(eng):
    frame = factorial_frame().drop(columns=["K", "engagement"])
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert failing(report) == {"K.present": 1, "engagement.present": 1}
    assert "'K' is missing" in report["K.present"].message
    for cid in ("K.not_null", "K.allowed", "engagement.range", "one_arm_per_user"):
        assert report[cid].skipped and report[cid].passed
        assert "skipped" in report[cid].message
    assert report["all_cells_populated"].skipped


def test_mistyped_columns(eng):
    frame = factorial_frame()
    frame["engagement"] = frame["engagement"].astype(str)
    frame["E"] = frame["E"].astype("float64")
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert failing(report) == {"engagement.type": 1, "E.type": 1}
    assert "float64" in report["E.type"].message and "integer" in report["E.type"].message
    assert report["E.allowed"].skipped and report["all_cells_populated"].skipped
    # key-based checks still run on a mistyped column
    assert not report["one_arm_per_user"].skipped


def test_empty_table(eng):
    frame = factorial_frame().iloc[0:0]
    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert report.n_rows == 0
    assert failing(report) == {"all_cells_populated": 8, "min_rows": 8}
    assert "table has 0" in report["min_rows"].message


def test_unbalanced_panel_and_panel_rules(eng):
    frame = panel_frame(n_units=3, n_periods=4)
    frame = frame.drop(index=[5, 6]).reset_index(drop=True)  # unit 2 loses periods 2 and 3
    report = validate(eng(frame), "surface_panel", raise_on_failure=False)
    assert failing(report) == {"balanced_panel": 1}
    res = report["balanced_panel"]
    assert res.examples.to_dict("records") == [
        {"unit": "m01/search", "periods_observed": 2, "periods_total": 4}
    ]
    assert "2 unit-period cells absent" in res.message


def test_panel_duplicates_two_markets_and_share_range(eng):
    frame = panel_frame(n_units=3, n_periods=4)
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # (unit, period) twice
    frame.loc[5, "market"] = "m99"  # unit m01/search now in two markets
    frame.loc[7, "E"] = 1.5
    frame.loc[8, "users"] = 0  # users must be > 0 (exclusive minimum)
    frame.loc[9, "period"] = 0
    frame.loc[10, "date"] = pd.Timestamp("2030-01-01")  # period 3 now has two dates
    report = validate(eng(frame), "surface_panel", raise_on_failure=False)
    got = failing(report)
    assert got["primary_key"] == 1
    assert got["unit_in_one_market_surface"] == 1
    assert got["E.range"] == 1 and got["users.range"] == 1 and got["period.range"] == 1
    assert got["one_date_per_period"] == 1
    assert report["E.range"].message == "E >= 0 and E <= 1"
    assert report["users.range"].message == "users > 0"
    assert set(report["unit_in_one_market_surface"].examples["market"]) == {"m01", "m99"}


def test_launch_log_reference_and_exclusive_share(eng):
    panel = eng(panel_frame())
    frame = launch_frame()
    skipped = validate(eng(frame), "launch_log")
    assert skipped.passed and skipped["unit_in_surface_panel"].skipped
    assert "references=" in skipped["unit_in_surface_panel"].message
    bad = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    bad.loc[2, ["component", "unit", "rollout_share"]] = ["K", "m42/home", 0.0]
    report = validate(
        eng(bad), "launch_log", raise_on_failure=False, references={"surface_panel": panel}
    )
    assert failing(report) == {"unit_in_surface_panel": 1, "rollout_share.range": 1}
    assert report["unit_in_surface_panel"].examples["unit"].tolist() == ["m42/home"]
    assert report["rollout_share.range"].message == "rollout_share > 0 and rollout_share <= 1"


def test_reference_errors():
    frame = launch_frame()
    with pytest.raises(DataError, match="lacks column"):
        validate(frame, "launch_log", references={"surface_panel": pd.DataFrame({"u": ["x"]})})
    with pytest.raises(DataError, match="cannot compare keys: unit is string"):
        validate(frame, "launch_log", references={"surface_panel": pd.DataFrame({"unit": [1]})})
    with pytest.raises(OptionError, match="references must map"):
        validate(frame, "launch_log", references=[panel_frame()])  # type: ignore[arg-type]
    a, b = ibis.duckdb.connect(), ibis.duckdb.connect()
    try:
        # a pandas reference joins with a DuckDB table
        mixed = validate(
            a.create_table("l0", frame), "launch_log", references={"surface_panel": panel_frame()}
        )
        assert mixed.passed and not mixed["unit_in_surface_panel"].skipped
        with pytest.raises(DataError, match="different engines"):
            validate(
                a.create_table("l", frame),
                "launch_log",
                references={"surface_panel": b.create_table("p", panel_frame())},
            )
    finally:
        a.disconnect()
        b.disconnect()


def test_exposure_share_above_one(eng):
    frame = exposures_frame()
    frame.loc[[3, 4, 5], "exposure_R"] = [1.2, 1.0, -0.1]
    report = validate(eng(frame), "exposures", raise_on_failure=False)
    assert failing(report) == {"exposure_R.range": 2}
    assert sorted(report["exposure_R.range"].examples["user_id"]) == [3, 5]


# ------------------------------------------------------------------------------------------
# raising, report formats, provenance
# ------------------------------------------------------------------------------------------


def test_raise_on_failure_lists_every_failed_check():
    frame = factorial_frame()
    frame.loc[0, "engagement"] = np.inf
    frame.loc[1, "segment"] = "vip"
    with pytest.raises(ContractViolation) as err:
        validate(frame, "factorial_experiment")
    text = str(err.value)
    assert "failed 2 check(s) of contract 'factorial_experiment' (version 1.1.0)" in text
    assert "engagement.finite (finite) [engagement] — 1 failing" in text
    assert "segment.allowed (allowed) [segment] — 1 failing" in text
    assert "vip" in text and "inf" in text  # the example rows
    assert "ok  " not in text  # only failures
    assert err.value.columns == ("engagement", "segment")
    assert isinstance(err.value.report, ContractReport) and not err.value.report.passed


def test_report_formats_and_provenance(eng):
    frame = factorial_frame()
    frame.loc[0, "engagement"] = np.inf
    table = eng(frame)
    report = validate(table, "factorial_experiment", raise_on_failure=False)
    df = report.to_frame()
    assert list(df.columns[:6]) == ["id", "kind", "columns", "passed", "n_failing", "message"]
    assert len(df) == len(report.checks)
    assert df.set_index("id").loc["engagement.finite", "n_failing"] == 1
    d = report.to_dict()
    json.dumps(d)  # JSON-safe, including the inf example
    failed = next(c for c in d["checks"] if c["id"] == "engagement.finite")
    assert failed["examples"] == [{"user_id": 1, "engagement": None}]
    assert d["passed"] is False and d["n_failed"] == 1
    html = report._repr_html_()
    assert "engagement.finite" in html and "failed" in html
    text = report.to_text()
    assert text.splitlines()[0].startswith("contract factorial_experiment v1.1.0 on 64 rows")
    assert report.to_text().count("\n  ok   ") == len(report.checks) - 1
    assert report.contract_id == ("factorial_experiment", "1.1.0")
    fp = fingerprint(at.as_table(table), contract=report.contract_id)
    assert (fp.contract, fp.contract_version) == ("factorial_experiment", "1.1.0")
    with pytest.raises(KeyError, match="no check"):
        report["nope"]


def test_example_rows_follow_config():
    frame = factorial_frame()
    frame.loc[:20, "segment"] = "vip"
    with config.options(example_rows=2):
        report = validate(frame, "factorial_experiment", raise_on_failure=False)
    assert report["segment.allowed"].n_failing == 21
    assert len(report["segment.allowed"].examples) == 2


def test_validate_via_top_level_api_and_path(tmp_path):
    path = tmp_path / "f.parquet"
    factorial_frame().to_parquet(path)
    assert at.validate(str(path), "factorial_experiment").passed


# ------------------------------------------------------------------------------------------
# engine-side: no full pull, and the checks compile on Spark
# ------------------------------------------------------------------------------------------


def test_two_million_rows_stay_in_duckdb(monkeypatch):
    con = ibis.duckdb.connect()
    try:
        big = con.create_table(
            "big",
            con.sql(
                """
                select range::BIGINT + 1 as user_id,
                       'm' || lpad((range % 20)::VARCHAR, 2, '0') as market,
                       case range % 3 when 0 then 'new' when 1 then 'casual' else 'heavy' end
                           as segment,
                       ((range // 4) % 2)::TINYINT as E,
                       ((range // 2) % 2)::TINYINT as R,
                       (range % 2)::TINYINT as K,
                       (range % 97)::DOUBLE / 10 as pre_engagement,
                       case when range % 1000 = 7 then 'nan'::DOUBLE
                            when range % 1000 = 8 then -1.0
                            else (range % 89)::DOUBLE end as engagement
                from range(2000000)
                union all  -- one user twice, in two arms
                select 5, 'm05', 'casual', 1, 1, 1, 1.0, 1.0
                """
            ),
        )
        pulled: list[int] = []
        original = ir.Table.execute

        def spy(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            pulled.append(len(out))
            return out

        monkeypatch.setattr(ir.Table, "execute", spy)
        report = validate(big, "factorial_experiment", raise_on_failure=False)
    finally:
        con.disconnect()
    n_ex = config.get().example_rows
    assert report.n_rows == 2_000_001
    assert failing(report) == {
        "engagement.not_null": 2000,
        "engagement.range": 2000,
        "primary_key": 1,
        "one_arm_per_user": 1,
    }
    assert all(len(c.examples) <= n_ex for c in report.checks)
    assert max(pulled) <= 8  # at most the 2^3 cell counts come back; never the table


@pytest.mark.spark
def test_factorial_contract_on_spark(spark_backend):
    """Every kind of rule in the factorial contract compiles and counts correctly on Spark."""
    frame = factorial_frame(n=24)
    frame.loc[0, "engagement"] = np.inf
    frame.loc[1, "pre_engagement"] = np.nan
    frame.loc[2, "segment"] = "vip"
    moved = frame.iloc[[3]].copy()
    moved["K"] = np.int8(1 - moved["K"].iloc[0])
    frame = pd.concat([frame, moved], ignore_index=True)
    report = validate(put(spark_backend, frame), "factorial_experiment", raise_on_failure=False)
    assert report.backend == "pyspark" and report.n_rows == 25
    assert failing(report) == {
        "engagement.finite": 1,
        "pre_engagement.not_null": 1,
        "segment.allowed": 1,
        "primary_key": 1,
        "one_arm_per_user": 1,
    }
    assert not any(c.skipped for c in report.checks)
    assert report["all_cells_populated"].passed and report["E.allowed"].passed
    assert report["engagement.finite"].examples["user_id"].tolist() == [1]
    assert report["one_arm_per_user"].examples["user_id"].tolist() == [4, 4]


# ------------------------------------------------------------------------------------------
# users' own column names
# ------------------------------------------------------------------------------------------


def test_columns_map_contract_names_to_the_tables_names(eng):
    frame = factorial_frame().rename(columns={"engagement": "watch_time", "user_id": "uid"})
    mapping = {"engagement": "watch_time", "user_id": "uid"}
    report = validate(eng(frame), "factorial_experiment", columns=mapping)
    assert report.passed and report.column_map == mapping
    assert "engagement = table column 'watch_time'" in report.to_text()
    frame.loc[2, "watch_time"] = -1.0
    report = validate(eng(frame), "factorial_experiment", columns=mapping, raise_on_failure=False)
    assert failing(report) == {"engagement.range": 1}
    assert report["engagement.range"].examples.to_dict("records") == [
        {"uid": 3, "watch_time": -1.0}
    ]
    # without the map the renamed columns are missing
    plain = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    assert {"engagement.present", "user_id.present"} <= set(failing(plain))


def test_columns_map_to_an_absent_column_is_reported_missing():
    frame = factorial_frame()  # has 'engagement' but not 'watch_time'
    report = validate(
        frame, "factorial_experiment", columns={"engagement": "watch_time"}, raise_on_failure=False
    )
    assert failing(report) == {"engagement.present": 1}
    assert "'watch_time' (contract column 'engagement') is missing" in report.failures[0].message


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        ({"nope": "x"}, "does not declare"),
        ({"E": "flag", "R": "flag"}, "same table column"),
        ({"engagement": "pre_engagement"}, "already has column"),
        (["engagement"], "must map"),
        ({"engagement": 3}, "must map"),
    ],
)
def test_bad_columns_map(columns, match):
    with pytest.raises(OptionError, match=match):
        validate(factorial_frame(), "factorial_experiment", columns=columns)


def test_columns_map_can_swap_names():
    frame = factorial_frame().rename(columns={"E": "R", "R": "E"})
    frame["E"] = frame["E"].astype("float64")  # table's E (the contract's R) is mistyped
    report = validate(
        frame, "factorial_experiment", columns={"E": "R", "R": "E"}, raise_on_failure=False
    )
    assert failing(report) == {"R.type": 1}


# ------------------------------------------------------------------------------------------
# the simulator writes tables that satisfy the contracts (tables.md is shared by both)
# ------------------------------------------------------------------------------------------


def test_simulated_tables_satisfy_their_contracts():
    from attribution import simulate

    fx = simulate.factorial_experiment(800, seed=5).table()
    assert validate(fx, "factorial_experiment").passed
    rollout = simulate.staggered_rollout(seed=5)
    panel = rollout.table("surface_panel")
    assert validate(panel, "surface_panel").passed
    report = validate(
        rollout.table("launch_log"), "launch_log", references={"surface_panel": panel}
    )
    assert report.passed and not report["unit_in_surface_panel"].skipped
    assert validate(simulate.single_market_launch(seed=5).table(), "surface_panel").passed
    assert validate(simulate.observational_exposure(500, seed=5).table(), "exposures").passed


# ------------------------------------------------------------------------------------------
# engine counts agree with a direct pandas count on randomly corrupted tables
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_counts_match_pandas_on_random_corruption(eng, seed):
    rng = np.random.default_rng(seed)
    frame = factorial_frame(n=2000, seed=seed)
    n = len(frame)

    def pick(k: int) -> np.ndarray:
        return rng.choice(n, size=k, replace=False)

    frame.loc[pick(int(rng.integers(1, 30))), "engagement"] = np.nan
    frame.loc[pick(int(rng.integers(1, 30))), "engagement"] = np.inf
    frame.loc[pick(int(rng.integers(1, 30))), "pre_engagement"] = -rng.uniform(0.1, 1.0)
    frame.loc[pick(int(rng.integers(1, 30))), "segment"] = "vip"
    frame.loc[pick(int(rng.integers(1, 30))), "E"] = 3
    dup = frame.iloc[pick(int(rng.integers(1, 20)))].copy()  # same users, other R arm
    dup["R"] = (1 - dup["R"]).astype("int8")
    frame = pd.concat([frame, dup], ignore_index=True)

    report = validate(eng(frame), "factorial_experiment", raise_on_failure=False)
    eng_ = frame["engagement"]
    counts = frame.groupby("user_id").size()
    arms = frame.groupby("user_id")[["E", "R", "K"]].nunique().max(axis=1)
    expected = {
        "engagement.not_null": int(eng_.isna().sum()),
        "engagement.finite": int(np.isinf(eng_).sum()),
        "engagement.range": 0,  # +inf >= 0 and NaN is not compared
        "pre_engagement.range": int((frame["pre_engagement"] < 0).sum()),
        "segment.allowed": int((~frame["segment"].isin(["new", "casual", "heavy"])).sum()),
        "E.allowed": int((~frame["E"].isin([0, 1])).sum()),
        "primary_key": int((counts > 1).sum()),
        "one_arm_per_user": int((arms > 1).sum()),
    }
    got = {c.id: c.n_failing for c in report.checks if c.id in expected}
    assert got == expected
    assert report.n_rows == len(frame)
