"""Staggered SDID jackknife against synthdid-py 0.1.0 (tests/reference/synth/sdid_jackknife/).

Default `jackknife="stata"` (cohort weights recomputed from the kept treated units, as Stata `sdid`
and synthdid-py) against synthdid-py's SE and per-unit replicates; `jackknife="fixed_weights"`
against the derived fixed-cohort-weight numbers; per-cohort SEs against Stata's all-units formula.
Everything is deterministic, so the tolerances are tight (ATT 1e-8, SE 1e-8 relative).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution.designs.synth import fit
from attribution.errors import OptionError
from tests.reference.synth.sdid_jackknife import panels

REF = json.loads(
    (
        Path(__file__).resolve().parents[2] / "reference/synth/sdid_jackknife/sdid_jackknife.json"
    ).read_text()
)

STAGGERED = {
    "cps_staggered_log_wage": (lambda: panels.cps_staggered("log_wage"), "state", "log_wage"),
    "cps_staggered_hours": (lambda: panels.cps_staggered("hours"), "state", "hours"),
    "example_staggered_adoption": (
        lambda: panels.example_panel("example_staggered_adoption"),
        "unit",
        "y",
    ),
    "test_make_staggered_panel": (
        lambda: panels.example_panel("test_make_staggered_panel"),
        "unit",
        "y",
    ),
}


def _fit(case: str, **kw):
    make, unit, y = STAGGERED[case]
    df = make()
    time = "year"
    df = df[[unit, time, y, "treated"]]
    return fit(
        df, outcome=y, unit=unit, time=time, treatment="treated", se_method="jackknife", **kw
    )


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("case", list(STAGGERED))
def test_stata_convention_matches_synthdid_py(case):
    ref = REF[case]
    res = _fit(case)
    h = res.headline
    assert h.estimate == pytest.approx(ref["att"], abs=1e-8)
    assert _rel(h.std_error, ref["jackknife_se"]) < 1e-8
    # the N replicates themselves, as a multiset (synthdid-py orders them by panel row)
    ours = np.sort(np.asarray(res.replicates, dtype=float))
    theirs = np.sort(np.asarray(list(ref["jackknife_replicates"].values()), dtype=float))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    # per-cohort SE: Stata's e(tau) formula over all N replicates
    t = res.tidy()
    for c in ref["cohorts"]:
        row = t[t["term"] == f"ATT(g={c['adoption_time']})"]
        if len(row):
            assert row["estimate"].iloc[0] == pytest.approx(c["tau"], abs=1e-8)
            assert _rel(row["std_error"].iloc[0], c["derived_stata_cohort_jackknife_se"]) < 1e-8


@pytest.mark.parametrize("case", list(STAGGERED))
def test_fixed_weights_convention_matches_derived(case):
    ref = REF[case]
    res = _fit(case, jackknife="fixed_weights")
    assert _rel(res.headline.std_error, ref["derived_fixed_cohort_weight_jackknife_se"]) < 1e-8
    ours = np.sort(np.asarray(res.replicates, dtype=float))
    theirs = np.sort(
        np.asarray(list(ref["derived_fixed_cohort_weight_replicates"].values()), dtype=float)
    )
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


@pytest.mark.parametrize("policy", ["min_wage", "abort_ban", "open_carry"])
def test_one_cohort_conventions_coincide(policy):
    df = panels.cps_single_cohort(policy)
    kw = dict(outcome="log_wage", unit="state", time="year", treatment="treated")
    a = fit(df, **kw, se_method="jackknife")
    b = fit(df, **kw, se_method="jackknife", jackknife="fixed_weights")
    ref = REF[f"cps_{policy}_2018"]
    assert _rel(a.headline.std_error, ref["jackknife_se"]) < 1e-8
    assert a.headline.std_error == pytest.approx(b.headline.std_error, rel=1e-12)


def test_jackknife_option_needs_jackknife_se():
    df = panels.example_panel("test_make_staggered_panel")
    kw = dict(outcome="y", unit="unit", time="year", treatment="treated")
    with pytest.raises(OptionError, match="jackknife"):
        fit(df, **kw, se_method="placebo", jackknife="stata")
    with pytest.raises(OptionError, match="jackknife"):
        fit(df, **kw, se_method="jackknife", jackknife="fixed")
    assert pd.notna(fit(df, **kw, se_method="jackknife").headline.std_error)
