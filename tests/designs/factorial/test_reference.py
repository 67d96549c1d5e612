"""Factorial estimates against references: statsmodels OLS on the saturated cell-dummy model (HC0-3,
iid, cluster; with and without a covariate) on pandas, DuckDB and Spark; the Box, Hunter & Hunter
pilot-plant 2^3; Lenth's PSE; and a hand-derived 2^(4-1) fraction. Provenance of every published
number: tests/reference/factorial/README.md."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.decompose import shapley_matrix
from attribution.designs.factorial.aliasing import contrast_matrix, standard_terms
from tests.designs.factorial.helpers import FACTORS, effect_rows, experiment, saturated_ols

VCOVS = ["HC0", "HC1", "HC2", "HC3", "iid", "CR1"]


def _reference(frame, *, covariate, vcov, factors=FACTORS, alpha=0.05):
    """statsmodels estimates, SEs, p-values and intervals of the effects and the Shapley split."""
    fit, cells = saturated_ols(
        frame,
        outcome="engagement",
        factors=factors,
        covariate=covariate,
        cov_type=vcov,
        cluster="market",
    )
    k = len(factors)
    eff = contrast_matrix(standard_terms(k), cells)
    shap = shapley_matrix(k)
    if covariate is not None:
        # adjusted cell mean = alpha_c + beta * mean(x); contrasts drop the beta column
        pad = np.zeros((len(eff), 1))
        eff, shap = np.hstack([eff, pad]), np.hstack([shap, np.zeros((k, 1))])
    out = {}
    for name, lmat in (("effects", eff), ("shapley", shap)):
        tt = fit.t_test(lmat)
        ci = tt.conf_int(alpha=alpha)
        out[name] = pd.DataFrame(
            {
                "estimate": np.ravel(tt.effect),
                "std_error": np.ravel(tt.sd),
                "p_value": np.ravel(tt.pvalue),
                "conf_low": ci[:, 0],
                "conf_high": ci[:, 1],
            }
        )
    return out


def _compare(res, ref) -> None:
    for ours, theirs in ((effect_rows(res), ref["effects"]), (res.shapley, ref["shapley"])):
        np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(ours["std_error"], theirs["std_error"], rtol=1e-6)
        np.testing.assert_allclose(ours["p_value"], theirs["p_value"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(ours["conf_low"], theirs["conf_low"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ours["conf_high"], theirs["conf_high"], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("covariate", [None, "pre_engagement"])
@pytest.mark.parametrize("vcov", VCOVS)
def test_matches_statsmodels_saturated_ols(vcov, covariate) -> None:
    frame = experiment(500, seed=11)
    res = at.factorial(
        frame,
        outcome="engagement",
        factors=list(FACTORS),
        covariate=covariate,
        vcov=vcov,
        cluster="market" if vcov == "CR1" else None,
    )
    _compare(res, _reference(frame, covariate=covariate, vcov=vcov))
    assert res.vcov_type == vcov
    expected_df = 11 if vcov == "CR1" else 500 - 8 - (covariate is not None)
    assert res.df == expected_df


@pytest.mark.parametrize(("vcov", "covariate"), [("HC2", "pre_engagement"), ("CR1", None)])
def test_matches_statsmodels_on_every_engine(engine, vcov, covariate) -> None:
    """Same numbers when the table lives in DuckDB or Spark (the second passes use literals)."""
    frame = experiment(240, seed=5, n_markets=6)
    res = at.factorial(
        engine(frame),
        outcome="engagement",
        factors=list(FACTORS),
        covariate=covariate,
        cluster="market" if vcov == "CR1" else None,
    )
    assert res.vcov_type == vcov
    _compare(res, _reference(frame, covariate=covariate, vcov=vcov))


def test_four_factors_and_alpha() -> None:
    factors = ("E", "R", "K", "S")
    frame = experiment(600, seed=2, factors=factors)
    res = at.factorial(frame, outcome="engagement", factors=list(factors), alpha=0.10)
    _compare(res, _reference(frame, covariate=None, vcov="HC2", factors=factors, alpha=0.10))
    assert list(effect_rows(res)["term"][:5]) == ["E", "R", "K", "S", "E:R"]
    assert effect_rows(res)["term"].iloc[-1] == "E:R:K:S"


def test_cell_means_total_and_shapley_identity() -> None:
    frame = experiment(400, seed=3)
    res = at.factorial(
        frame, outcome="engagement", factors=list(FACTORS), covariate="pre_engagement"
    )
    cells = res.cell_means
    raw = frame.groupby(["E", "R", "K"])["engagement"].agg(["size", "mean"])
    for row in cells.itertuples():
        assert raw.loc[(row.E, row.R, row.K), "size"] == row.n
        assert raw.loc[(row.E, row.R, row.K), "mean"] == pytest.approx(row.mean, rel=1e-12)
    adj = cells["adjusted_mean"].to_numpy()
    assert res.total == pytest.approx(adj[-1] - adj[0], abs=1e-12)
    assert res.shapley["estimate"].sum() == pytest.approx(res.total, abs=1e-12)
    # total SE: statsmodels t_test of (all-on minus all-off)
    fit, _ = saturated_ols(
        frame, outcome="engagement", factors=FACTORS, covariate="pre_engagement", cov_type="HC2"
    )
    contrast = np.zeros(9)
    contrast[7], contrast[0] = 1.0, -1.0
    assert res.total_std_error == pytest.approx(float(fit.t_test(contrast).sd.item()), rel=1e-6)
    assert res.slope == pytest.approx(float(fit.params[-1]), rel=1e-10)
    # the effects covariance is what the SEs come from
    np.testing.assert_allclose(
        np.sqrt(np.diag(res.vcov)), effect_rows(res)["std_error"], rtol=1e-12
    )
    assert list(res.vcov.columns) == list(effect_rows(res)["term"])


# -- Box, Hunter & Hunter (2005) pilot plant, unreplicated 2^3 ---------------------------------------
PILOT = pd.DataFrame(
    {
        "T": [0, 1, 0, 1, 0, 1, 0, 1],
        "C": [0, 0, 1, 1, 0, 0, 1, 1],
        "K": [0, 0, 0, 0, 1, 1, 1, 1],
        "y": [60.0, 72.0, 54.0, 68.0, 52.0, 83.0, 45.0, 80.0],
    }
)
PILOT_EFFECTS = {"T": 23.0, "C": -5.0, "K": 1.5, "T:C": 1.5, "T:K": 10.0, "C:K": 0.0, "T:C:K": 0.5}


def test_bhh_pilot_plant_effects_and_lenth() -> None:
    res = at.factorial(PILOT, outcome="y", factors=["T", "C", "K"])
    tidy = effect_rows(res).set_index("term")
    assert list(tidy.index) == list(PILOT_EFFECTS)
    for term, value in PILOT_EFFECTS.items():
        assert tidy.loc[term, "estimate"] == pytest.approx(value, abs=1e-12)
    # Lenth (1989): s0 = 1.5 * median|c| = 2.25; PSE = 1.5 * median{|c| < 5.625} = 2.25; df = 7/3
    assert res.vcov_type == "lenth"
    assert res.df == pytest.approx(7 / 3)
    np.testing.assert_allclose(tidy["std_error"], 2.25, rtol=1e-12)
    from scipy import stats

    t975 = stats.t.ppf(0.975, 7 / 3)
    assert tidy.loc["T", "conf_low"] == pytest.approx(23.0 - t975 * 2.25, rel=1e-12)
    assert any("Lenth" in n for n in res.notes)
    # Shapley on a 2^3: phi_T = 23 + 10/6*... computed by hand from the cell values
    # all-on minus all-off = 80 - 60 = 20
    assert res.total == pytest.approx(20.0)
    assert res.shapley["estimate"].sum() == pytest.approx(20.0)
    # hand computation: phi_T = 1/3 (72-60) + 1/6 (68-54) + 1/6 (83-52) + 1/3 (80-45)
    assert res.shapley.set_index("component").loc["T", "estimate"] == pytest.approx(
        12 / 3 + 14 / 6 + 31 / 6 + 35 / 3
    )


def test_lenth_pse_hand_computed() -> None:
    from attribution.designs.factorial.ols import lenth_pse

    pse, df = lenth_pse(np.array([23.0, -5.0, 1.5, 1.5, 10.0, 0.0, 0.5]))
    assert (pse, df) == (pytest.approx(2.25), pytest.approx(7 / 3))
    # an outlier-free set keeps every effect: 1.5 * 1.5 * median
    pse, _ = lenth_pse(np.array([1.0, -2.0, 3.0, 0.5, -1.5, 2.5]))
    assert pse == pytest.approx(1.5 * 1.75)


# -- a 2^(4-1) fraction with I = ABCD (aliases derived by hand) ----------------------------------------
def _half_fraction(sign: int, reps: int = 3, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for cell in range(16):
        a, b, c, d = (cell >> 0) & 1, (cell >> 1) & 1, (cell >> 2) & 1, (cell >> 3) & 1
        z = [2 * v - 1 for v in (a, b, c, d)]
        if z[0] * z[1] * z[2] * z[3] != sign:
            continue
        for _ in range(reps):
            y = 10 + 2 * z[0] - 1 * z[1] + 0.5 * z[2] + 0.7 * z[0] * z[1] + rng.normal(0, 0.3)
            rows.append({"A": a, "B": b, "C": c, "D": d, "y": y})
    return pd.DataFrame(rows)


def test_half_fraction_aliases_and_effects() -> None:
    frame = _half_fraction(+1)
    res = at.factorial(frame, outcome="y", factors=["A", "B", "C", "D"])
    info = res.design_info
    assert info.kind == "fractional" and info.fraction == 1 and info.resolution == 4
    assert info.defining_relation == "I = A:B:C:D"
    # by hand: A = BCD, B = ACD, C = ABD, D = ABC, AB = CD, AC = BD, AD = BC
    assert dict(info.aliases) == {
        "A": "A = B:C:D",
        "B": "B = A:C:D",
        "C": "C = A:B:D",
        "D": "D = A:B:C",
        "A:B": "A:B = C:D",
        "A:C": "A:C = B:D",
        "A:D": "A:D = B:C",
    }
    tidy = effect_rows(res)
    assert list(tidy["term"]) == ["A", "B", "C", "D", "A:B", "A:C", "A:D"]
    assert list(tidy["aliases"]) == list(info.aliases.values())
    # effects: mean where the column's sign is + minus mean where -, over the 8 runs
    cell_means = frame.groupby(["A", "B", "C", "D"])["y"].mean()
    z = {f: 2 * cell_means.index.get_level_values(f).to_numpy() - 1 for f in "ABCD"}
    for term in tidy["term"]:
        col = np.prod([z[f] for f in term.split(":")], axis=0)
        expected = cell_means[col > 0].mean() - cell_means[col < 0].mean()
        assert tidy.set_index("term").loc[term, "estimate"] == pytest.approx(expected, abs=1e-12)
    # standard errors equal statsmodels on the 8-cell saturated model
    fit, cells = saturated_ols(frame, outcome="y", factors="ABCD", cov_type="HC2")
    lmat = contrast_matrix(res.design_info.terms, cells)
    np.testing.assert_allclose(tidy["std_error"], np.ravel(fit.t_test(lmat).sd), rtol=1e-6)
    with pytest.raises(at.DesignError, match="fraction"):
        _ = res.shapley
    with pytest.raises(at.DesignError):
        _ = res.total
    json.dumps(res.to_dict())  # fractional results still serialise
    assert "I = A:B:C:D" in res.summary()


def test_negative_half_fraction_signs() -> None:
    res = at.factorial(_half_fraction(-1), outcome="y", factors=["A", "B", "C", "D"])
    assert res.design_info.defining_relation == "I = -A:B:C:D"
    assert res.design_info.aliases["A:B"] == "A:B = -C:D"
    assert res.design_info.aliases["A"] == "A = -B:C:D"


def test_quarter_fraction_defining_relation() -> None:
    """2^(5-2) with generators D = AB, E = AC: I = ABD = ACE = BCDE (Box, Hunter & Hunter, ch. 6)."""
    rows = []
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                d, e = int(a == b), int(a == c)  # ±1 product: z_D = z_A z_B, z_E = z_A z_C
                rows += [
                    {"A": a, "B": b, "C": c, "D": d, "E": e, "y": float(a + 2 * b + r)}
                    for r in (0, 1)
                ]
    res = at.factorial(pd.DataFrame(rows), outcome="y", factors=list("ABCDE"), vcov="iid")
    info = res.design_info
    assert info.fraction == 2 and info.resolution == 3
    assert info.defining_relation == "I = A:B:D = A:C:E = B:C:D:E"
    assert len(effect_rows(res)) == 7
    assert info.aliases["A"] == "A = B:D = C:E = A:B:C:D:E"
