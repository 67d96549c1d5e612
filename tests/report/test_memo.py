"""Memo verdicts and rendering, and atomic output."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.errors import OptionError
from attribution.report.io import atomic_write_text
from attribution.report.memo import render_memo
from attribution.report.summary import _verdict, factorial_summary


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
    s = factorial_summary(res, title="T", break_even_pct={"E": 0.1}, truth=truth)
    assert s["shapley"][0]["break_even_pct"] == 0.1 and s["shapley"][1]["break_even_pct"] is None
    md, html = render_memo(s)
    assert md.startswith("# T") and "| E |" in md and "no cost given" in md
    assert "<table>" in html and "<script" not in html
    with pytest.raises(OptionError, match="unknown component"):
        factorial_summary(res, title="T", break_even_pct={"X": 1.0})


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
