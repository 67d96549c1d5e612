"""Memo verdicts and rendering (for a factorial result and for any Result), and atomic output."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.errors import OptionError
from attribution.inference import wald_table
from attribution.report.io import atomic_write_text
from attribution.report.memo import render_memo
from attribution.report.summary import (
    _verdict,
    factorial_summary,
    result_summary,
    truth_comparison,
)
from attribution.results import Check, Estimate, Provenance, Result


@pytest.mark.parametrize(
    ("est", "lo", "hi", "be", "verdict"),
    [
        (1.0, 0.5, 1.5, 0.2, "pays for itself"),
        (0.6, 0.1, 1.1, 0.5, "likely pays"),
        (0.4, -0.1, 0.9, 0.5, "unlikely to pay"),
        (0.1, 0.0, 0.2, 0.5, "does not pay"),
        (0.5, 0.1, 0.9, None, "positive"),
        (-0.5, -0.9, -0.1, None, "negative"),
        (0.1, -0.1, 0.3, None, "inconclusive"),
    ],
)
def test_verdict_rules(est: float, lo: float, hi: float, be: float | None, verdict: str) -> None:
    assert _verdict(est, lo, hi, be) == verdict


@pytest.fixture(scope="module")
def small_result():
    sim = at.simulate.factorial_experiment(16_000, seed=3)
    return at.factorial(
        sim.table(), outcome="engagement", factors=["E", "R", "K"], covariate="pre_engagement"
    ), sim.truth


def test_summary_and_memo_render(small_result) -> None:
    res, truth = small_result
    s = result_summary(res, title="T", break_even_pct={"E": 0.1}, truth=truth)
    contrib = s["contributions"]
    assert contrib[0]["break_even_pct"] == 0.1 and contrib[1]["break_even_pct"] is None
    assert [r["component"] for r in contrib] == ["E", "R", "K"]
    assert s["headline"]["estimate"] == pytest.approx(res.total, abs=1e-12)
    assert s["headline"]["conf_low"] == res.headline.conf_low
    assert s["baseline"] == res.baseline
    assert s["headline"]["pct"] == pytest.approx(100 * res.total / res.baseline)
    assert [c["name"] for c in s["checks"]] == [c.name for c in res.checks]
    md, html = render_memo(s)
    assert md.startswith("# T") and "| E |" in md and "no cost given" in md
    assert res.headline.label[1:] in md and res.description in md
    assert "<table>" in html and "<script" not in html
    with pytest.raises(OptionError, match="unknown component"):
        result_summary(res, title="T", break_even_pct={"X": 1.0})
    with pytest.warns(DeprecationWarning, match="result_summary"):
        old = factorial_summary(res, title="T", break_even_pct={"E": 0.1}, truth=truth)
    assert old["contributions"] == s["contributions"]


def test_contract_report_enters_as_a_check(small_result) -> None:
    res, _ = small_result
    sim = at.simulate.factorial_experiment(2_000, seed=1)
    report = at.validate(sim.table(), "factorial_experiment", raise_on_failure=False)
    check = report.as_check()
    assert check.passed is True and check.name.startswith("data contract factorial_experiment")
    assert f"{len(report.checks)} checks" in check.detail
    s = result_summary(res, title="T", contract=report)
    assert s["checks"][-1]["name"] == check.name
    assert s["result"]["checks"][-1]["name"] == check.name


# ------------------------------------------------------------------------------------------------
# the report layer reads only the Result contract: a result of no real design renders too
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class _Fake(Result):
    """A made-up design: a headline row, two component contributions and other estimates."""

    @property
    def headline(self) -> Estimate:
        tab = self.table
        return Estimate.from_row(tab[tab["term"] == "ATT"].iloc[0], label="effect of X on clicks")

    @property
    def baseline(self) -> float | None:
        return 50.0

    @property
    def description(self) -> str:
        return "A made-up design that only exists in this test."


def _fake(*, baseline_known: bool = True) -> Result:
    table = wald_table(
        ["ATT", "share(a)", "share(b)", "pre-trend", "noise", "a:b"],
        [3.0, 2.0, 1.0, 0.8, 0.1, -0.9],
        [0.5, 0.4, 0.3, 0.2, 0.5, 0.2],
        alpha=0.05,
    ).assign(component=[None, "a", "b", None, None, None])
    prov = Provenance(design="fake", data=None, options={})
    cls = _Fake if baseline_known else _FakeNoBaseline
    return cls(
        design="fake",
        table=table,
        alpha=0.05,
        provenance=prov,
        checks=(Check("placebo", False, "The placebo estimate is far from zero.", p_value=0.001),),
    )


@dataclass(frozen=True, kw_only=True)
class _FakeNoBaseline(_Fake):
    @property
    def baseline(self) -> float | None:
        return None


def test_summary_and_memo_work_for_any_result(tmp_path: Path) -> None:
    res = _fake()
    s = result_summary(res, title="Fake study", break_even_pct={"a": 1.0}, truth={"ATT": 2.9})
    json.dumps(s, allow_nan=False)
    assert s["headline"]["term"] == "ATT" and s["headline"]["pct"] == pytest.approx(6.0)
    assert [r["component"] for r in s["contributions"]] == ["a", "b"]
    assert s["contributions"][0]["pct"] == pytest.approx(4.0)
    assert s["contributions"][0]["verdict"] == "pays for itself"
    assert [r["term"] for r in s["other_estimates"]] == ["pre-trend", "a:b"]
    assert [r["reading"] for r in s["other_estimates"]] == [
        "above zero",
        "a and b partly substitute for each other",
    ]
    assert s["checks_text"] == "0 of 1 passed, 1 FAILED"
    assert s["truth_comparison"] == [
        {
            "kind": "headline",
            "term": "ATT",
            "component": None,
            "estimate": 3.0,
            "conf_low": pytest.approx(3.0 - 1.959964 * 0.5),
            "conf_high": pytest.approx(3.0 + 1.959964 * 0.5),
            "truth": 2.9,
            "covered": True,
        }
    ]
    md, html = render_memo(s)
    assert "Effect of X on clicks: **+6.00%**" in md
    assert "| a | +2.000 | +4.00 |" in md and "| b | +1.000 | +2.00 |" in md
    assert "**pre-trend**" in md and "**noise**" not in md
    assert "**placebo**: FAILED" in md and "A made-up design" in md
    assert "<table>" in html
    # without a baseline: absolute numbers only, and break-even needs one
    bare = result_summary(_fake(baseline_known=False), title="Bare")
    assert bare["headline"]["pct"] is None and bare["contributions"][0]["pct_text"] == "—"
    md, _ = render_memo(bare)
    assert "Effect of X on clicks: **+3**" in md
    with pytest.raises(OptionError, match="baseline"):
        result_summary(_fake(baseline_known=False), title="Bare", break_even_pct={"a": 1.0})
    # a result without any contribution rows
    plain = _fake()
    plain = _Fake(
        design="fake",
        table=plain.tidy().drop(columns="component"),
        alpha=0.05,
        provenance=plain.provenance,
    )
    s = result_summary(plain, title="Plain")
    assert s["contributions"] == [] and s["checks_text"] == "no checks were run"
    md, _ = render_memo(s)
    assert "Split among the components" not in md and "**share(a)**" in md
    with pytest.raises(OptionError, match="no per-component contributions"):
        result_summary(plain, title="Plain", break_even_pct={"a": 1.0})


def test_truth_comparison_is_keyed_by_term(small_result) -> None:
    res, truth = small_result
    cmp = truth_comparison(res, truth)
    assert list(cmp["kind"].value_counts().sort_index().items()) == [
        ("contribution", 3),
        ("estimate", 7),
        ("headline", 1),
    ]
    tidy = res.tidy().set_index("term")
    assert cmp.set_index("term").loc["contribution(R)", "truth"] == truth.shapley["R"]
    assert cmp.set_index("term").loc["total", "estimate"] == tidy.loc["total", "estimate"]
    assert cmp.set_index("term").loc["E:R", "truth"] == truth.effects["E:R"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "r.txt"
    atomic_write_text(target, "old")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_inputs_are_not_modified(small_result) -> None:
    frame = at.simulate.factorial_experiment(2_000, seed=1).table()
    before = frame.copy()
    at.factorial(frame, outcome="engagement", factors=["E", "R", "K"], covariate="pre_engagement")
    pd.testing.assert_frame_equal(frame, before)
