"""Dynamic validation: tables, columns and contracts are checked before any estimate, at the line."""

from __future__ import annotations

import pytest

import attribution.study.run as study_run
from attribution.cli import main
from attribution.errors import StudySpecError
from attribution.study import Study
from tests.study.conftest import line_of


@pytest.fixture
def no_estimate(monkeypatch):
    """Any estimate fails the test: a broken spec must stop before one."""

    def refuse(*args, **kwargs):
        raise AssertionError("an estimate ran before the spec was found broken")

    monkeypatch.setattr(study_run, "estimate_design", refuse)


@pytest.fixture
def bad_contract_db(tmp_path, homefeed_db):
    """The session database with one user in arm E = 2 (the factorial_experiment contract allows 0/1)."""
    import attribution as at
    from attribution.simulate.writer import write_frame

    src = at.connect(homefeed_db, create=False)
    frames = {n: src.table(n).execute() for n in ("factorial_experiment",)}
    schema = src.table("factorial_experiment").schema()
    src.disconnect()
    frames["factorial_experiment"].loc[0, "E"] = 2
    db = tmp_path / "bad.duckdb"
    con = at.connect(db)
    write_frame(con, "factorial_experiment", frames["factorial_experiment"], schema=schema)
    con.disconnect()
    return db


def _check_error(path) -> StudySpecError:
    study = Study.from_yaml(path)
    with pytest.raises(StudySpecError) as info:
        study.check()
    study.close()
    return info.value


def _at(err: StudySpecError, path, line: int, *words: str) -> None:
    assert err.line == line, str(err)
    assert str(err).startswith(f"{path}, line {line}: "), str(err)
    for w in words:
        assert w in str(err), str(err)


def test_a_valid_spec_checks_and_estimates(write_spec, base_text):
    study = Study.from_yaml(write_spec(base_text))
    reports = study.check()
    assert reports["experiment"].passed
    res = study.estimate("factorial")
    assert res.headline.term == "total"
    assert any(c.name.startswith("data contract factorial_experiment") for c in res.checks)
    assert study.estimate("factorial", metric="latency").headline.label.endswith(
        "on latency_ms (all on − all off)"
    )
    study.close()


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        (
            "covariate: pre_engagement",
            "covariate: pre_engagment",
            "pre_engagment",
            ("'pre_engagement'",),
        ),
        ("column: engagement,", "column: engagment,", "column: engagment", ("engagment",)),
        (
            "table: factorial_experiment",
            "table: factorial_experimen",
            "experiment: {table",
            ("not in the data source",),
        ),
        ("estimates: [E, R, K]", "estimates: {E: E, R: R, K: K_on}", "estimates: {E", ("'K_on'",)),
        (
            "contract: factorial_experiment}",
            "contract: factorial_experiment, columns: {engagement: watch}}",
            "columns: {engagement: watch}",
            ("'watch'",),
        ),
    ],
)
def test_missing_columns_and_tables_name_their_line(
    write_spec, base_text, no_estimate, old, new, needle, words
):
    text = base_text.replace(old, new, 1)
    path = write_spec(text)
    line = line_of(text, needle) if needle != "estimates: {E" else line_of(text, "- id: factorial")
    _at(_check_error(path), path, line, *words)


def test_contract_failure_names_the_table_line(
    write_spec, base_text, homefeed_db, bad_contract_db, no_estimate
):
    text = base_text.replace(str(homefeed_db), str(bad_contract_db))
    path = write_spec(text)
    _at(_check_error(path), path, line_of(text, "experiment: {table"), "contract", "E.allowed")


def test_failed_run_leaves_a_good_folder_untouched(
    write_spec, base_text, homefeed_db, bad_contract_db, tmp_path, no_estimate
):
    out = tmp_path / "report"
    out.mkdir()
    (out / "results.json").write_text('{"good": true}\n')
    (out / "report.html").write_text("<p>good</p>")
    text = base_text.replace(str(homefeed_db), str(bad_contract_db))
    study = Study.from_yaml(write_spec(text))
    with pytest.raises(StudySpecError):
        study.run(out)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.json"]
    assert (out / "results.json").read_text() == '{"good": true}\n'
    assert (out / "report.html").read_text() == "<p>good</p>"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("design: factorial", "design: factorail", "design: factorail"),
        ("power: 0.8", "power: 1.5", "power: 1.5"),
        ("designs:", "desgins:", "desgins:"),
        ("seed: 3", "seed: 3\n  alpha: 0.05", "  alpha: 0.05"),
        ("covariate: pre_engagement", "covariate: pre_engagment", "pre_engagment"),
    ],
)
def test_cli_prints_one_line_with_the_line_and_exits_1(
    write_spec, base_text, tmp_path, capsys, no_estimate, old, new, needle
):
    text = base_text.replace(old, new, 1)
    path = write_spec(text)
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    line = line_of(text, needle)
    assert lines[0].startswith(f"error: StudySpecError: {path}, line "), lines[0]
    assert f"line {line}:" in lines[0] or f"line {line + 1}:" in lines[0], lines[0]
    assert "; fix: " in lines[0]
    assert not out.exists()


def test_cli_report_without_results(write_spec, base_text, tmp_path, capsys):
    code = main(["report", str(write_spec(base_text)), "--out", str(tmp_path / "none"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "results.json" in err[0]


def test_parquet_source_and_did_from_the_launch_log(tmp_path, homefeed_db, write_spec):
    import attribution as at

    con = at.connect(homefeed_db, create=False)
    for name in ("surface_panel", "launch_log"):
        con.table(name).to_parquet(tmp_path / f"{name}.parquet")
    con.disconnect()
    text = f"""\
study: parquet_study
data:
  parquet: {{panel: {tmp_path / "surface_panel.parquet"}, log: {tmp_path / "launch_log.parquet"}}}
tables:
  rollout: {{table: panel, contract: surface_panel}}
  launches: {{table: log, contract: launch_log, references: {{surface_panel: rollout}}}}
components:
  - {{name: K}}
metrics:
  primary: {{name: engagement, column: engagement}}
designs:
  - {{id: att, design: did.att_gt, table: rollout, launch_log: launches,
     options: {{tname: period, idname: unit, aggregate: simple}}}}
  - {{id: twfe, design: did.twfe, table: rollout, options: {{tname: period, idname: unit}}}}
"""
    study = Study.from_yaml(write_spec(text))
    assert set(study.check()) == {"rollout", "launches"}
    att = study.estimate("att")
    assert att.headline.term == "ATT"
    # the cohort column the study derives from the launch log, rebuilt by hand in pandas
    import pandas as pd

    panel = pd.read_parquet(tmp_path / "surface_panel.parquet")
    log = pd.read_parquet(tmp_path / "launch_log.parquet")
    first = log[log["component"] == "K"].groupby("unit")["start_period"].min()
    panel["g"] = panel["unit"].map(first).fillna(0).astype("int64")
    direct = at.did.aggte(
        at.did.att_gt(
            panel, yname="engagement", tname="period", idname="unit", gname="g", seed=2024
        )
    )
    assert att.headline.estimate == pytest.approx(direct.headline.estimate, rel=1e-9)
    assert att.headline.std_error == pytest.approx(direct.headline.std_error, rel=1e-9)
    assert study.estimate("twfe").headline.term == "K"
    study.close()


def test_graph_refuter_names_checked_at_their_line(write_spec, base_text):
    text = base_text.replace("design: factorial", "design: graph").replace(
        "{covariate: pre_engagement, vcov: HC2}",
        "{confounders: [segment], refuters: [placebo_treatment, placebo]}",
    )
    path = write_spec(text)
    with pytest.raises(StudySpecError) as info:
        Study.from_yaml(path)
    _at(info.value, path, line_of(text, "refuters:"), "'placebo'", "placebo_treatment")


def test_contract_parameters_come_from_the_spec(tmp_path, homefeed_db, write_spec, base_text):
    """A study whose component columns are not E, R, K parametrises the contract with its own."""
    import attribution as at

    src = at.connect(homefeed_db, create=False)
    frame = src.table("factorial_experiment").execute()
    src.disconnect()
    frame = frame.rename(columns={"E": "emb", "R": "ret", "K": "rnk"})
    db = tmp_path / "renamed.duckdb"
    con = at.connect(db)
    con.create_table("factorial_experiment", frame)
    con.disconnect()
    text = (
        base_text.replace(str(homefeed_db), str(db))
        .replace("{name: E, column: E,", "{name: E, column: emb,")
        .replace("{name: R, column: R}", "{name: R, column: ret}")
        .replace("{name: K, column: K,", "{name: K, column: rnk,")
    )
    path = write_spec(text)
    # without parameters the contract looks for E, R, K
    err = _check_error(path)
    _at(err, path, line_of(text, "experiment: {table"), "contract")
    text = text.replace(
        "contract: factorial_experiment}",
        "contract: factorial_experiment,\n               parameters: {components: [emb, ret, rnk]}}",
    )
    study = Study.from_yaml(write_spec(text))
    assert study.check()["experiment"].passed
    res = study.estimate("factorial")
    assert set(res.tidy()["component"].dropna()) == {"emb", "ret", "rnk"}
    study.close()
    bad = text.replace("parameters: {components:", "parameters: {component:")
    path = write_spec(bad)
    with pytest.raises(StudySpecError) as info:
        Study.from_yaml(path)
    _at(info.value, path, line_of(bad, "parameters:"), "component")
