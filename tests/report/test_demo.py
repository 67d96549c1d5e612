"""The demo study end to end: simulate → contract → notebook → HTML report → memo, on a small run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from attribution.cli import main
from attribution.errors import ReportError
from attribution.report.notebook import notebook_template

N_USERS = 20_000


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert (
        main(["demo", "--out", str(out), "--n-users", str(N_USERS), "--seed", "7", "--quiet"]) == 0
    )
    return out


def test_demo_writes_every_artifact(demo_dir: Path) -> None:
    for name in (
        "report.html",
        "report.ipynb",
        "memo.md",
        "memo.html",
        "results.json",
        "data/demo.duckdb",
        "data/truth.json",
    ):
        assert (demo_dir / name).stat().st_size > 0, name
    assert not list(demo_dir.glob("**/*.tmp")), "no temporary files left behind"


def test_report_html_is_self_contained_and_complete(demo_dir: Path) -> None:
    html = (demo_dir / "report.html").read_text()
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html), (
        "the report must load nothing remote"
    )
    assert html.count("data:image/png;base64") >= 2  # Shapley waterfall + effects plot
    for heading in (
        "Data contract",
        "Estimate",
        "Headline",
        "Contributions",
        "Estimates",
        "Checks",
        "SRM joint cells",
        "truth",
        "Provenance",
    ):
        assert heading in html, heading
    assert "Traceback" not in html and "Error" not in html


def test_memo_states_the_same_numbers_as_results(demo_dir: Path) -> None:
    results = json.loads((demo_dir / "results.json").read_text())
    memo = (demo_dir / "memo.md").read_text()
    assert f"{results['headline']['pct']:+.2f}%" in memo
    assert results["headline"]["term"] == "total"
    for row in results["contributions"]:
        assert f"| {row['component']} | {row['estimate']:+.3f} |" in memo
        assert row["verdict"] in memo
    shapley_sum = sum(r["estimate"] for r in results["contributions"])
    assert shapley_sum == pytest.approx(results["headline"]["estimate"], rel=1e-12)
    assert results["headline"]["estimate"] == pytest.approx(results["result"]["total"], rel=1e-12)
    for check in results["checks"]:
        assert f"**{check['name']}**: passed" in memo
    assert any(c["name"].startswith("data contract") for c in results["checks"])
    assert "Simulation check" in memo and results["truth_text"] in memo
    assert results["result"]["provenance"]["data"]["n_rows"] == N_USERS


def test_demo_estimates_cover_the_simulator_truth(demo_dir: Path) -> None:
    results = json.loads((demo_dir / "results.json").read_text())
    truth = json.loads((demo_dir / "data" / "truth.json").read_text())
    cmp = results["truth_comparison"]
    assert len(cmp) == 7 + 3 + 1
    assert {r["component"]: r["truth"] for r in cmp if r["kind"] == "contribution"} == truth[
        "shapley"
    ]
    assert [r["truth"] for r in cmp if r["kind"] == "headline"] == [truth["total"]]
    # 11 intervals at 95%: allow one miss; more would mean the estimator or the truth is off.
    assert sum(r["covered"] for r in cmp) >= 10


def test_unknown_template_is_a_typed_error() -> None:
    with pytest.raises(ReportError, match="factorial_report"):
        notebook_template("no_such_report")


# ------------------------------------------------------------------------------------------------
# nothing lost, reruns identical (hardening classes 7 and 8)
# ------------------------------------------------------------------------------------------------
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    "args",
    [["--n-users", "0"], ["--n-users", "-5"], ["--seed", "-1"]],
)
def test_a_bad_argument_after_a_good_demo_touches_nothing(demo_dir: Path, args, capsys) -> None:
    before = _snapshot(demo_dir)
    assert main(["demo", "--out", str(demo_dir), "--quiet", *args]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "OptionError" in err
    assert _snapshot(demo_dir) == before


def test_a_failed_run_leaves_the_earlier_report(demo_dir: Path, monkeypatch, capsys) -> None:
    import attribution.report.demo as demo

    def broken(*args, **kwargs):
        raise ReportError("the notebook failed (simulated)")

    before = _snapshot(demo_dir)
    monkeypatch.setattr(demo, "execute_notebook", broken)
    code = main(["demo", "--out", str(demo_dir), "--n-users", "2000", "--seed", "3", "--quiet"])
    assert code == 1 and "simulated" in capsys.readouterr().err
    assert _snapshot(demo_dir) == before
    assert not [p for p in demo_dir.parent.iterdir() if p.name.startswith(f".{demo_dir.name}.")]


def test_reruns_write_byte_identical_results(tmp_path: Path, monkeypatch) -> None:
    """Same call twice (with SOURCE_DATE_EPOCH fixing the timestamps): identical results.json."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    out = {}
    target = tmp_path / "study"
    for run in ("a", "b"):
        args = ["demo", "--out", str(target), "--n-users", "4000", "--seed", "9", "--quiet"]
        assert main(args) == 0
        out[run] = (target / "results.json").read_bytes()
        assert b'"created_at": "2026-01-01T00:00:00+00:00"' in out[run]
        assert b".tmp" not in out[run], "no temporary paths inside"
    assert out["a"] == out["b"]
