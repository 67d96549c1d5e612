"""The check registry: each kind declared once, documented in the README, shared with the designs."""

from __future__ import annotations

import pickle
import re

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest
import yaml

from attribution.data import checks as data_checks
from attribution.data.contracts import (
    CHECK_KINDS,
    CheckParams,
    CheckResult,
    ContractError,
    check_kind,
    check_kinds,
    contracts_dir,
    load_contract,
    register_check,
    run_check,
    table_check,
    validate,
)
from attribution.data.contracts import checks as registry
from attribution.data.panel import check_panel
from attribution.errors import DataError
from attribution.results import Check
from tests.data.test_contracts import factorial_frame, panel_frame

README = contracts_dir() / "README.md"


def _readme_kinds() -> dict[str, str]:
    """Kind name → its row in the README's table of table-level check kinds."""
    section = README.read_text(encoding="utf-8").split("### Table-level check kinds", 1)[1]
    section = section.split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([a-z_]+)`\s*\|", line)
        if m:
            rows[m.group(1)] = line
    return rows


def test_every_registered_kind_is_in_the_readme_with_its_keys():
    rows = _readme_kinds()
    assert set(check_kinds()) == set(rows), "README's kinds table and the registry differ"
    for name in check_kinds():
        kind = check_kind(name)
        keys_cell = rows[name].split("|")[2]
        for key in (*kind.required, *kind.optional):
            assert f"`{key}`" in keys_cell, f"README row of {name!r} does not list key {key!r}"
    assert check_kinds() == CHECK_KINDS


def test_unknown_kind_names_the_file_and_lists_the_registered_kinds(tmp_path):
    path = tmp_path / "teleport.yaml"
    doc = {
        "name": "teleport",
        "version": "1.0.0",
        "columns": {"x": "int64"},
        "checks": [{"id": "a", "kind": "teleport"}],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ContractError) as err:
        load_contract(path)
    text = str(err.value)
    assert str(path) in text and "'checks[0].kind'" in text and "'teleport'" in text
    for name in check_kinds():
        assert name in err.value.fix


def test_shipped_contracts_load_through_the_registry():
    sp = load_contract("surface_panel")
    panel = next(c for c in sp.checks if c.kind == "balanced_panel")
    assert panel.columns == ("unit", "period") and panel.param("unit") == "unit"
    one = next(c for c in sp.checks if c.id == "unit_in_one_market_surface")
    assert one.within == ("unit",)  # parameters still read as attributes
    assert set(one.reads) >= {"market", "surface", "unit"}
    ll = load_contract("launch_log")
    ref = next(c for c in ll.checks if c.kind == "reference")
    assert (ref.table, ref.ref_columns) == ("surface_panel", ("unit",))
    with pytest.raises(AttributeError):
        ref.within  # noqa: B018
    # contracts stay hashable and picklable values
    fx = load_contract("factorial_experiment")
    assert pickle.loads(pickle.dumps(fx)) == fx
    hash(fx)


def test_table_check_in_code_validates_like_a_file():
    check = table_check("balanced_panel", {"unit": "u", "time": "t"})
    assert (check.id, check.columns, check.message) == (
        "balanced_panel",
        ("u", "t"),
        "every u observed in every t",
    )
    with pytest.raises(ContractError, match="one unit and one distinct time column"):
        table_check("balanced_panel", {"unit": "u", "time": "u"})
    with pytest.raises(ContractError, match="is not a key of a 'unique' check"):
        table_check("unique", {"columns": ["u"], "within": ["t"]})
    with pytest.raises(ContractError, match="not a check kind"):
        table_check("teleport", {})


def test_balanced_panel_is_one_query_and_reports_stats(monkeypatch):
    frame = panel_frame(n_units=3, n_periods=4)
    con = ibis.duckdb.connect()
    try:
        t = con.create_table("p", frame)
        calls: list[int] = []
        original = ir.Table.execute

        def spy(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            calls.append(len(out))
            return out

        monkeypatch.setattr(ir.Table, "execute", spy)
        res = run_check(t, table_check("balanced_panel", {"unit": "unit", "time": "period"}))
        assert res.passed and len(calls) == 1
        assert dict(res.stats) == {
            "n_units": 3,
            "n_periods": 4,
            "n_cells": 12,
            "n_rows": 12,
            "n_short": 0,
        }
        gap = con.create_table("q", frame.drop(index=[5, 6]))
        res = run_check(gap, table_check("balanced_panel", {"unit": "unit", "time": "period"}))
        assert (res.n_failing, res.stats["n_cells"]) == (1, 10)
        assert res.examples.to_dict("records") == [
            {"unit": "m01/search", "periods_observed": 2, "periods_total": 4}
        ]
    finally:
        con.disconnect()


def test_check_panel_and_the_contract_run_the_same_registered_checks(monkeypatch):
    ran: list[str] = []
    for name in ("unique", "balanced_panel"):
        kind = registry._REGISTRY[name]

        def counted(t, check, ctx, _run=kind.run):
            ran.append(check.kind)
            return _run(t, check, ctx)

        monkeypatch.setitem(
            registry._REGISTRY, name, registry.CheckKind(**{**kind.__dict__, "run": counted})
        )
    frame = panel_frame(n_units=3, n_periods=4).drop(index=[5, 6])
    with pytest.raises(DataError, match="1 of 3 units are not observed in all 4 periods") as err:
        check_panel(ibis.memtable(frame), unit="unit", time="period")
    assert ran == ["unique", "balanced_panel"]
    assert err.value.rows["unit"].tolist() == ["m01/search"]
    ran.clear()
    report = validate(frame, "surface_panel", raise_on_failure=False)
    assert ran == ["unique", "balanced_panel"]  # primary key, then the panel check
    assert report["balanced_panel"].n_failing == 1
    ran.clear()
    dup = pd.concat([frame, frame.iloc[[0]]])
    assert data_checks.duplicated_keys(ibis.memtable(dup), ["unit", "period"])[0] == 1
    assert ran == ["unique"]


def test_a_registered_kind_runs_from_a_contract(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def params(args):
        cols = args.columns("columns")
        limit = args.integer("at_most", minimum=0, example="3", default=0)
        return CheckParams(cols, f"at most {limit} negative {cols[0]}", {"at_most": limit})

    @register_check("few_negatives", required=("columns",), optional=("at_most",), params=params)
    def few_negatives(t, check, ctx):
        """More than `at_most` rows with a negative value."""
        c = t[check.columns[0]]
        n = int((c < 0).cast("int64").sum().execute())
        bad = max(n - check.param("at_most"), 0)
        return CheckResult(check.id, check.kind, check.columns, bad == 0, bad, check.message)

    with pytest.raises(ValueError, match="already registered"):
        register_check("few_negatives", params=params)(few_negatives)
    path = tmp_path / "neg.yaml"
    doc = {
        "name": "neg",
        "version": "1.0.0",
        "columns": {"engagement": "float64"},
        "checks": [{"id": "neg", "kind": "few_negatives", "columns": "engagement", "at_most": 1}],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    frame = factorial_frame()
    frame.loc[[1, 2], "engagement"] = -1.0
    report = validate(frame, path, raise_on_failure=False)
    assert report["neg"].n_failing == 1 and report["neg"].message == "at most 1 negative engagement"
    doc["checks"][0]["at_most"] = -2
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ContractError, match=r"'checks\[0\]\.at_most' must be a non-negative"):
        load_contract(path)


def test_report_as_check():
    ok = validate(factorial_frame(), "factorial_experiment")
    check = ok.as_check()
    assert isinstance(check, Check)
    assert check.name == "data contract factorial_experiment v1.1.0"
    assert check.passed is True and check.detail == f"{len(ok.checks)} checks, all passed"
    frame = factorial_frame()
    frame.loc[0, "segment"] = "vip"
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    bad = validate(frame, "factorial_experiment", raise_on_failure=False).as_check()
    assert bad.passed is False
    assert bad.detail == (
        f"2 of {len(ok.checks)} FAILED: segment.allowed (1 failing); primary_key (1 failing)"
    )
    skipped = validate(
        pd.DataFrame(
            {
                "component": ["E"],
                "unit": ["u"],
                "start_date": pd.to_datetime(["2026-01-01"]),
                "start_period": [1],
                "rollout_share": [1.0],
            }
        ),
        "launch_log",
    ).as_check()
    assert skipped.passed and skipped.detail.endswith("all passed (1 skipped)")
