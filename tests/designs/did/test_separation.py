"""att_gt when one cohort's propensity score is separated (R `did`: NA cells, aggte needs na.rm).

Reference: tests/reference/did/separation/separation.json (moderndid 0.2.0, the Python port of R
`did`; see its README): mpdta with cohort 2007 reduced to its one county of smallest lpop, below
every never-treated county, so the logit of "cohort 2007 vs comparison" on (1, lpop) is separated
in every (2007, t) cell. R `did` keeps those cells as NA under both base periods and its aggte
stops unless na.rm = TRUE; the stored aggregations are over the estimable cells, which is what
R's na.rm = TRUE computes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from attribution.designs.did import aggte, att_gt
from attribution.errors import AttributionWarning, DesignError, EstimationError, OptionError

REF = json.loads(
    (
        Path(__file__).resolve().parents[2] / "reference" / "did" / "separation" / "separation.json"
    ).read_text()
)
CASES = REF["cases"]
TOL = 1e-10  # achieved: ~1e-16 on every cell and aggregation
KEY = {"dynamic": "event_time", "group": "group", "calendar": "time"}
KW = {
    "yname": "lemp",
    "tname": "year",
    "idname": "countyreal",
    "gname": "first_treat",
    "xformla": "~lpop",
}


def _reduce(mpdta: pd.DataFrame, cohort: int, pick: str) -> pd.DataFrame:
    units = mpdta.drop_duplicates("countyreal")
    members = units[units["first_treat"] == cohort].sort_values(["lpop", "countyreal"])
    keep = members.iloc[0] if pick == "min" else members.iloc[(len(members) - 1) // 2]
    out = mpdta[(mpdta["first_treat"] != cohort) | (mpdta["countyreal"] == keep["countyreal"])]
    return out.reset_index(drop=True)


@pytest.fixture(scope="module")
def separated(mpdta) -> pd.DataFrame:
    data = _reduce(mpdta, 2007, "min")
    info = CASES["g2007_one_unit_separated"]["panel"]
    assert data["countyreal"].nunique() == info["n_units"] and len(data) == info["n_rows"]
    return data


def _fit(data, run: str, **kw):
    est, cg, bp = run.split("_")
    return att_gt(data, **KW, est_method=est, control_group=cg, base_period=bp, **kw)


RUNS = [
    "dr_nevertreated_varying",
    "dr_nevertreated_universal",
    "dr_notyettreated_varying",
    "ipw_nevertreated_varying",
]


@pytest.mark.parametrize("run", RUNS)
def test_separated_cells_are_na_with_warning_and_note(separated, run):
    ref = CASES["g2007_one_unit_separated"]["runs"][run]
    with pytest.warns(AttributionWarning, match="separated") as rec:
        res = _fit(separated, run)
    (msg,) = [str(w.message) for w in rec if issubclass(w.category, AttributionWarning)]
    na_cells = ref["cells_absent"] + ref["cells_nan"]  # R keeps them all as NA
    assert "cohort 2007" in msg and "lpop" in msg and "na_rm=True" in msg
    periods = ", ".join(str(t) for _, t in na_cells)
    assert f"period(s) {periods}" in msg
    tab = res.tidy()
    na = tab[tab["estimate"].isna()]
    assert na[["group", "time"]].astype(int).values.tolist() == na_cells
    for col in ("std_error", "conf_low", "conf_high", "p_value"):
        assert na[col].isna().all()
    assert na["note"].str.contains("propensity score separated").all()
    assert tab.loc[tab["estimate"].notna(), "note"].isna().all()
    # every estimable cell equals moderndid's
    got = {
        (int(g), int(t)): (a, s)
        for g, t, a, s in tab[["group", "time", "estimate", "std_error"]].values
    }
    for cell in ref["att_gt"]:
        if cell["att"] is None:
            continue
        a, s = got[(cell["group"], cell["time"])]
        assert a == pytest.approx(cell["att"], abs=TOL)
        if cell["se"] is None:
            assert np.isnan(s)
        else:
            assert s == pytest.approx(cell["se"], abs=TOL)


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
def test_aggte_needs_na_rm_and_then_matches_reference(separated, run, kind):
    with pytest.warns(AttributionWarning):
        res = _fit(separated, run)
    with pytest.raises(DesignError, match=r"na_rm=True") as err:
        aggte(res, type=kind)
    assert "missing" in err.value.message and "R `did`" in err.value.message
    agg = aggte(res, type=kind, na_rm=True)
    ref = CASES["g2007_one_unit_separated"]["runs"][run]["aggte"][f"{kind}_na_rm_true"]
    # R users' names for the overall numbers
    assert agg.overall_att == pytest.approx(ref["overall_att"], abs=TOL)
    assert agg.overall_se == pytest.approx(ref["overall_se"], abs=TOL)
    assert agg.overall_att == agg.headline.estimate and agg.overall_se == agg.headline.std_error
    assert "estimable cells only" in agg.headline.label
    if kind != "simple":
        tab = agg.tidy()
        assert tab[KEY[kind]].tolist() == [r["key"] for r in ref["rows"]]
        np.testing.assert_allclose(tab["estimate"], [r["att"] for r in ref["rows"]], atol=TOL)
        se = np.array([np.nan if r["se"] is None else r["se"] for r in ref["rows"]], float)
        np.testing.assert_allclose(tab["std_error"], se, atol=TOL)
    json.dumps(agg.to_dict(), allow_nan=False)


@pytest.mark.parametrize("run", RUNS)
def test_headline_is_simple_over_estimable_cells_and_says_so(separated, run):
    with pytest.warns(AttributionWarning):
        res = _fit(separated, run)
    ref = CASES["g2007_one_unit_separated"]["runs"][run]["aggte"]["simple_na_rm_true"]
    h = res.headline
    assert h.term == "ATT"
    assert h.estimate == pytest.approx(ref["overall_att"], abs=TOL)
    assert h.std_error == pytest.approx(ref["overall_se"], abs=TOL)
    assert "estimable cells only" in h.label and "1 post-treatment ATT(g,t) is NA" in h.label
    json.dumps(res.to_dict(), allow_nan=False)
    assert "separated" in res.summary()
    for kind in res.PLOT_KINDS:
        assert isinstance(res.plot(kind=kind), Figure)


def test_reg_has_no_propensity_and_estimates_every_cell(separated):
    """`reg` fits no propensity score: all 12 cells, no NA, no warning (as moderndid)."""
    ref = CASES["g2007_one_unit_separated"]["runs"]["reg_nevertreated_varying"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttributionWarning)
        res = _fit(separated, "reg_nevertreated_varying")
    tab = res.tidy()
    assert "note" not in tab.columns and tab["estimate"].notna().all()
    est = {(c["group"], c["time"]): c["att"] for c in ref["att_gt"]}
    for g, t, a in tab[["group", "time", "estimate"]].values:
        assert a == pytest.approx(est[(int(g), int(t))], abs=TOL)
    agg = aggte(res, type="dynamic")
    assert agg.overall_att == pytest.approx(
        ref["aggte"]["dynamic_na_rm_false"]["overall_att"], abs=TOL
    )
    assert "estimable cells only" not in res.headline.label


def test_interior_one_unit_cohort_is_estimated(mpdta):
    """A one-unit cohort inside the comparison units' covariate range is not separated."""
    ref = CASES["g2004_one_unit_interior"]["runs"]["dr_nevertreated_varying"]
    data = _reduce(mpdta, 2004, "median")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttributionWarning)
        res = _fit(data, "dr_nevertreated_varying")
    tab = res.tidy()
    est = {(c["group"], c["time"]): (c["att"], c["se"]) for c in ref["att_gt"]}
    assert len(tab) == len(est)
    for g, t, a, s in tab[["group", "time", "estimate", "std_error"]].values:
        assert a == pytest.approx(est[(int(g), int(t))][0], abs=TOL)
        assert s == pytest.approx(est[(int(g), int(t))][1], abs=TOL)


def test_on_separation_raise_keeps_the_strict_behaviour(separated):
    with pytest.raises(EstimationError, match=r"ATT\(2007,2004\).*separat") as err:
        _fit(separated, "dr_nevertreated_varying", on_separation="raise")
    assert list(err.value.columns) == ["lpop"]
    assert "on_separation='na'" in err.value.fix


@pytest.mark.parametrize("bad", ["NA", "drop", 1, None, True])
def test_on_separation_is_checked(separated, bad):
    with pytest.raises(OptionError, match="on_separation"):
        _fit(separated, "dr_nevertreated_varying", on_separation=bad)


def test_separation_with_bootstrap_and_clusters(separated):
    """NA cells stay NA (no draws, no band) under the multiplier bootstrap and clustering."""
    data = separated.assign(state=separated["countyreal"] // 1000)
    with pytest.warns(AttributionWarning, match="separated"):
        res = _fit(
            data,
            "dr_nevertreated_varying",
            bstrap=True,
            cband=True,
            biters=200,
            clustervars="state",
        )
    tab = res.tidy()
    na = tab["estimate"].isna()
    assert na.sum() == 4
    assert tab.loc[na, ["std_error", "conf_low_uniform", "conf_high_uniform"]].isna().all().all()
    assert tab.loc[~na, "std_error"].notna().all()
    assert np.isfinite(res.headline.std_error)
    agg = aggte(res, type="dynamic", na_rm=True)
    assert np.isfinite(agg.overall_se)


def test_separation_on_the_unbalanced_path(separated):
    """allow_unbalanced_panel (DRDID for repeated cross-sections per cell): the same NA cells."""
    never = separated.loc[separated["first_treat"] == 0, "countyreal"].iloc[0]
    data = separated[~((separated["countyreal"] == never) & (separated["year"] == 2005))]
    with pytest.warns(
        AttributionWarning, match=r"cohort 2007 in period\(s\) 2004, 2005, 2006, 2007"
    ):
        res = _fit(data, "dr_nevertreated_varying", allow_unbalanced_panel=True)
    tab = res.tidy()
    na = tab[tab["estimate"].isna()]
    assert na["group"].eq(2007).all() and len(na) == 4
    assert na["note"].str.contains("separated").all()
    assert np.isfinite(aggte(res, type="group", na_rm=True).overall_att)
