"""Regression weights (`weights=`) in twfe, event_study, sun_abraham and did_2x2 against pyfixest 0.60
weighted fits (tests/reference/did/weighted_fe/, CR1 by unit, aweights), and their validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution.designs.did import did_2x2, event_study, sun_abraham, twfe
from attribution.errors import DataError

HERE = Path(__file__).resolve().parents[2] / "reference" / "did" / "weighted_fe"
REF = json.loads((HERE / "weighted_fe.json").read_text())
FITS = REF["fits"]
EST_TOL = 1e-10  # absolute, estimates
SE_TOL = 1e-9  # relative, standard errors (w_row needs iterated demeaning: ~2e-11 achieved)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    d = pd.read_csv(HERE / "weighted_panel_seed7.csv")
    sums = REF["data"]["column_sums"]
    for c, v in sums.items():
        assert d[c].sum() == pytest.approx(v, rel=1e-12), c
    return d


def _weights(key: str) -> str | None:
    return None if key == "unweighted" else key


KEYS = ["w_unit", "w_row", "unweighted"]


@pytest.mark.parametrize("key", KEYS)
def test_twfe_weighted_matches_pyfixest(panel, key):
    ref = FITS[key]["twfe"]
    res = twfe(
        panel, yname="y", tname="period", idname="unit", treatment="D", weights=_weights(key)
    )
    row = res.tidy().iloc[0]
    assert row["estimate"] == pytest.approx(ref["estimate"][0], abs=EST_TOL)
    assert row["std_error"] == pytest.approx(ref["std_error"][0], rel=SE_TOL)
    assert row["conf_low"] == pytest.approx(ref["conf_low"][0], abs=1e-8)
    assert row["conf_high"] == pytest.approx(ref["conf_high"][0], abs=1e-8)
    assert res.n_clusters == ref["n_clusters"]
    if key != "unweighted":
        assert key in res.headline.label


@pytest.mark.parametrize("key", KEYS)
def test_event_study_weighted_matches_pyfixest(panel, key):
    ref = FITS[key]["event_study"]
    res = event_study(
        panel, yname="y", tname="period", idname="unit", gname="g", weights=_weights(key)
    )
    tab = res.tidy()
    assert tab["event_time"].tolist() == ref["event_times"]
    np.testing.assert_allclose(tab["estimate"], ref["estimate"], rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(tab["std_error"], ref["std_error"], rtol=SE_TOL)
    np.testing.assert_allclose(res.vcov, ref["vcov"], rtol=1e-8, atol=1e-14)


def _sa_name(g: int, e: int) -> str:
    return f"c{g}_{'m' if e < 0 else 'p'}{abs(e)}"


@pytest.mark.parametrize("key", KEYS)
def test_sun_abraham_weighted_matches_pyfixest(panel, key):
    ref = FITS[key]["sun_abraham"]
    res = sun_abraham(
        panel, yname="y", tname="period", idname="unit", gname="g", weights=_weights(key)
    )
    # step 1: the saturated weighted regression, cell by cell
    cells = res.cohort_effects
    est = dict(zip(ref["terms"], ref["estimate"], strict=True))
    se = dict(zip(ref["terms"], ref["std_error"], strict=True))
    names = [_sa_name(g, e) for g, e in zip(cells["group"], cells["event_time"], strict=True)]
    assert sorted(names) == sorted(ref["terms"])
    np.testing.assert_allclose(cells["estimate"], [est[n] for n in names], rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(cells["std_error"], [se[n] for n in names], rtol=SE_TOL)
    ref_cells = {_sa_name(c["cohort"], c["event_time"]): c for c in ref["cells"]}
    assert cells["n_obs"].tolist() == [ref_cells[n]["rows"] for n in names]
    if key != "unweighted":
        np.testing.assert_allclose(
            cells["w_sum"], [ref_cells[n]["w_sum"] for n in names], rtol=1e-12
        )
    # step 2: IW aggregation with summed-weight cohort shares
    agg = ref["iw_aggregation"]["weights"]
    tab = res.tidy()
    assert tab["event_time"].tolist() == agg["event_times"]
    np.testing.assert_allclose(tab["estimate"], agg["estimate"], rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(tab["std_error"], agg["std_error"], rtol=SE_TOL)
    if key == "w_unit":  # where the two share definitions differ, we are not on the row-count one
        rows = np.asarray(ref["iw_aggregation"]["rows"]["estimate"])
        assert np.abs(tab["estimate"].to_numpy() - rows).max() > 1e-3


def test_sun_abraham_unweighted_unchanged_by_unit_weights_of_one(panel):
    a = sun_abraham(panel, yname="y", tname="period", idname="unit", gname="g")
    b = sun_abraham(
        panel.assign(one=1.0), yname="y", tname="period", idname="unit", gname="g", weights="one"
    )
    np.testing.assert_allclose(a.tidy()["estimate"], b.tidy()["estimate"], atol=1e-12)
    np.testing.assert_allclose(a.tidy()["std_error"], b.tidy()["std_error"], rtol=1e-10)


def test_did_2x2_weighted_equals_twfe_on_two_periods(panel):
    """On a 2-period panel (one adoption), the 2×2 DiD is the TWFE regression: same weighted fit."""
    two = panel[panel["period"].isin([2, 3]) & panel["g"].isin([0, 3])].copy()
    two["treated"] = (two["g"] == 3).astype(int)
    two["post"] = (two["period"] == 3).astype(int)
    for w in ("w_unit", "w_row"):
        a = did_2x2(two, yname="y", group="treated", post="post", idname="unit", weights=w)
        b = twfe(two, yname="y", tname="period", idname="unit", treatment="D", weights=w)
        assert a.tidy()["estimate"].iloc[0] == pytest.approx(
            b.tidy()["estimate"].iloc[0], abs=1e-12
        )
        assert a.tidy()["std_error"].iloc[0] == pytest.approx(
            b.tidy()["std_error"].iloc[0], rel=1e-10
        )
        assert w in a.headline.label


@pytest.mark.parametrize(
    ("value", "what"),
    [(0.0, "zero or negative"), (-1.0, "zero or negative"), (np.inf, "infinite")],
)
@pytest.mark.parametrize("design", ["twfe", "event_study", "sun_abraham"])
def test_bad_weights_are_data_errors_naming_rows(panel, value, what, design):
    bad = panel.copy()
    bad.loc[5, "w_row"] = value
    kwargs = {"yname": "y", "tname": "period", "idname": "unit", "weights": "w_row"}
    fn = {"twfe": twfe, "event_study": event_study, "sun_abraham": sun_abraham}[design]
    extra = {"treatment": "D"} if design == "twfe" else {"gname": "g"}
    with pytest.raises(DataError, match=what) as err:
        fn(bad, **kwargs, **extra)
    assert list(err.value.columns) == ["w_row"]
    assert err.value.rows is not None and len(err.value.rows) == 1
    assert err.value.rows["unit"].iloc[0] == bad.loc[5, "unit"]


def test_weights_column_must_exist_and_be_numeric(panel):
    with pytest.raises(DataError, match="not in the table"):
        twfe(panel, yname="y", tname="period", idname="unit", treatment="D", weights="nope")
    with pytest.raises(DataError, match="numeric"):
        twfe(
            panel.assign(ws="a"),
            yname="y",
            tname="period",
            idname="unit",
            treatment="D",
            weights="ws",
        )
    with pytest.raises(DataError, match="numeric"):
        event_study(
            panel.assign(wb=True), yname="y", tname="period", idname="unit", gname="g", weights="wb"
        )


def test_weights_do_not_mutate_input(panel):
    before = panel.copy()
    sun_abraham(panel, yname="y", tname="period", idname="unit", gname="g", weights="w_row")
    pd.testing.assert_frame_equal(panel, before)


@pytest.mark.parametrize("vcov", ["CR1", "HC1", "iid"])
def test_weights_are_scale_free(panel, vcov):
    """Analytic weights: multiplying every weight by a constant changes nothing (any vcov)."""
    kw = {"yname": "y", "tname": "period", "idname": "unit", "gname": "g", "vcov": vcov}
    a = sun_abraham(panel, weights="w_row", **kw).tidy()
    b = sun_abraham(panel.assign(w3=3.7 * panel["w_row"]), weights="w3", **kw).tidy()
    np.testing.assert_allclose(b["estimate"], a["estimate"], atol=1e-12)
    np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-10)


@pytest.mark.parametrize("bad", [3, "", ["w_row"]])
def test_weights_option_is_a_column_name(panel, bad):
    from attribution.errors import OptionError

    with pytest.raises(OptionError, match="weights"):
        event_study(panel, yname="y", tname="period", idname="unit", gname="g", weights=bad)


def test_bad_weight_outside_the_window_is_still_refused(panel):
    bad = panel.copy()
    row = bad.index[(bad["g"] == 7) & (bad["period"] == 1)][0]  # event time -6
    bad.loc[row, "w_row"] = -1.0
    with pytest.raises(DataError, match="zero or negative"):
        event_study(
            bad,
            yname="y",
            tname="period",
            idname="unit",
            gname="g",
            window=(-3, 3),
            weights="w_row",
        )


def test_weighted_sun_abraham_last_treated_and_provenance(panel):
    res = sun_abraham(
        panel,
        yname="y",
        tname="period",
        idname="unit",
        gname="g",
        control_group="lasttreated",
        weights="w_unit",
    )
    assert res.provenance.options["weights"] == "w_unit"
    assert np.isfinite(res.tidy()["estimate"]).all()
    json.dumps(res.to_dict(), allow_nan=False)
