"""A study runs end to end through the CLI; reruns write a byte-identical results.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from attribution.cli import main
from attribution.study import Study

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "homefeed.yaml"


@pytest.fixture
def epoch(monkeypatch):
    """A fixed SOURCE_DATE_EPOCH, and notebook kernels importing this checkout's package (the
    kernel is a new process: without PYTHONPATH it would import whichever copy is installed)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764806400")  # 2025-12-04
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def test_tiny_study_through_the_cli_with_notebooks(write_spec, base_text, tmp_path, capsys, epoch):
    out = tmp_path / "out"
    assert main(["run", str(write_spec(base_text)), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"study written to {out.resolve()}"
    _assert_one_count(captured.err)
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for need in (
        "results.json",
        "report.html",
        "study_overview.ipynb",
        "designs/factorial.ipynb",
        "designs/factorial.html",
        "memo.md",
        "memo.html",
    ):
        assert need in names, sorted(names)
    assert not [n for n in names if n.endswith(".pkl")]
    r = _results(out)
    assert r["schema"] == "attribution.study/1"
    assert r["date"] == "2025-12-04"
    assert [(d["id"], d["metric"]) for d in r["designs"]] == [
        ("factorial", "engagement"),
        ("factorial", "latency"),
    ]
    assert r["combined"]["design"] == "factorial"
    assert [c["component"] for c in r["combined"]["contributions"]] == ["E", "R", "K"]
    assert r["components"][1]["cost_text"] == "no cost given"
    assert r["components"][0]["break_even"] == pytest.approx(10 / (0.01 * 100_000))
    assert r["provenance"]["data"][0]["rows"] == 4000
    text = (out / "results.json").read_text()
    assert str(tmp_path) not in text and "/tmp/" not in text  # no absolute paths
    assert "designs/factorial.html" in (out / "report.html").read_text()


def test_rerun_writes_byte_identical_results(write_spec, base_text, tmp_path, epoch):
    spec = write_spec(base_text)
    a = Study.from_yaml(spec).run(tmp_path / "a", notebooks=False)
    b = Study.from_yaml(spec).run(tmp_path / "b", notebooks=False)
    assert (a / "results.json").read_bytes() == (b / "results.json").read_bytes()
    assert not (a / "report.html").exists()  # --no-notebooks: no notebooks, no overview
    assert (a / "memo.md").is_file()
    # the study's numbers are Study.estimate's
    study = Study.from_yaml(spec)
    res = study.estimate("factorial")
    design = _results(a)["designs"][0]["summary"]
    assert design["headline"]["estimate"] == pytest.approx(res.headline.estimate, rel=1e-10)
    study.close()


@pytest.mark.slow
def test_report_rerenders_without_estimating(write_spec, base_text, tmp_path, epoch, monkeypatch):
    import attribution.study.run as study_run

    spec = write_spec(base_text)
    out = Study.from_yaml(spec).run(tmp_path / "a", notebooks=False)
    before = (out / "results.json").read_bytes()

    def refuse(*args, **kwargs):
        raise AssertionError("report must not estimate")

    monkeypatch.setattr(study_run, "estimate_design", refuse)
    assert main(["report", str(spec), "--out", str(out), "--quiet"]) == 0
    assert (out / "report.html").is_file() and (out / "memo.md").is_file()
    assert (out / "results.json").read_bytes() == before


@pytest.mark.slow
def test_example_end_to_end_twice_byte_identical(tmp_path, capsys, epoch, monkeypatch):
    """The shipped example: every design, the design notebooks, report, memo; a rerun writes the
    same results.json. Minutes on a loaded two-core machine (double ML, refuters, six kernels)."""
    monkeypatch.chdir(EXAMPLE.parents[1])
    outs = []
    for name in ("first", "second"):
        out = tmp_path / name
        assert main(["run", "examples/homefeed.yaml", "--out", str(out), "--quiet"]) == 0
        outs.append(out)
    first, second = outs
    for need in ("results.json", "report.html", "memo.md", "memo.html", "memo.pdf"):
        assert (first / need).is_file(), need
    r = _results(first)
    assert {d["id"] for d in r["designs"]} == {
        "factorial",
        "rollout_K",
        "market_K",
        "exposure",
        "graph",
    }
    for d in r["designs"]:
        assert (first / d["notebook"]).is_file()
    assert r["truth"]["scenario"] == "homefeed"
    assert r["triangulation"] and r["decisions"] and r["recommendation"]
    assert (first / "results.json").read_bytes() == (second / "results.json").read_bytes()


def test_progress_counts_one_total_from_the_start(write_spec, base_text, tmp_path, capsys, epoch):
    Study.from_yaml(write_spec(base_text)).run(tmp_path / "out", notebooks=False, progress=True)
    _assert_one_count(capsys.readouterr().err)


def _assert_one_count(err: str) -> None:
    """Progress steps [i/N]: one N from the first line, i counting 1..N."""
    import re

    steps = re.findall(r"^\[(\d+)/(\d+)\] ", err, flags=re.M)
    assert steps
    totals = {int(n) for _, n in steps}
    assert len(totals) == 1, steps
    assert [int(i) for i, _ in steps] == list(range(1, totals.pop() + 1))


SIMULATED = """\
study: simulated
title: A simulated study
seed: 3
data:
  simulation: {scenario: homefeed, n_users: 2000, n_exposure_users: 300, seed: 5}
tables:
  experiment: {table: factorial_experiment, contract: factorial_experiment}
components:
  - {name: E, column: E}
  - {name: R, column: R}
  - {name: K, column: K}
metrics:
  primary: {name: engagement, column: engagement, direction: increase}
designs:
  - {id: factorial, design: factorial, table: experiment, estimates: [E, R, K]}
"""


def test_check_outside_run_leaves_no_temporary_folder(write_spec, tmp_path, monkeypatch):
    import gc
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    spec = write_spec(SIMULATED)
    study = Study.from_yaml(spec)
    study.check()
    (folder,) = (tmp_path / "tmp").iterdir()
    assert (folder / "data" / "study.duckdb").is_file()
    study.close()
    assert not folder.exists()
    with Study.from_yaml(spec) as study:  # a context manager closes it
        study.check()
        assert len(list((tmp_path / "tmp").iterdir())) == 1
    assert not list((tmp_path / "tmp").iterdir())
    study = Study.from_yaml(spec)  # never closed: collected
    study.check()
    assert len(list((tmp_path / "tmp").iterdir())) == 1
    del study
    gc.collect()
    assert not list((tmp_path / "tmp").iterdir())
