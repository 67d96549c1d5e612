"""DRDID estimators: reference numbers (moderndid 0.2.0 = R DRDID), influence-function checks, bad input.

Reference numbers: tests/reference/did/drdid_reference.json, made by
tests/reference/did/make_reference_drdid.py in the reference venv (see the README there).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from attribution.designs.did.drdid import drdid_panel, drdid_rc, influence_se, logit_mle
from attribution.errors import DataError, DesignError, EstimationError, OptionError

REF_DIR = Path(__file__).resolve().parents[2] / "reference" / "did"
METHODS = ("dr", "ipw", "reg")


def _load_maker():
    spec = importlib.util.spec_from_file_location(
        "make_reference_drdid", REF_DIR / "make_reference_drdid.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _load_maker()
REFERENCE = json.loads((REF_DIR / "drdid_reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}


def _estimate(case: dict, arrays: dict, method: str) -> tuple[float, np.ndarray]:
    if case["kind"] == "panel":
        return drdid_panel(
            arrays["y1"], arrays["y0"], arrays["d"], arrays["x"], arrays["w"], method=method
        )
    return drdid_rc(
        arrays["y"], arrays["post"], arrays["d"], arrays["x"], arrays["w"], method=method
    )


# ---------------------------------------------------------------------------------------------
# Against the reference implementation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_moderndid_reference(name: str) -> None:
    case = CASES[name]
    arrays = MAKER.case_arrays(case)
    # The generated data must be the data the reference was computed on.
    for key, total in MAKER.fingerprint(arrays).items():
        assert total == pytest.approx(case["fingerprint"][key], rel=1e-12, abs=1e-9), key
    for method in METHODS:
        ref = case["methods"][method]
        att, inf = _estimate(case, arrays, method)
        assert abs(att - ref["att"]) <= 1e-8 * max(1.0, abs(ref["att"])), (method, att, ref["att"])
        assert influence_se(inf) == pytest.approx(ref["se"], rel=1e-6), method
        assert inf.shape == (ref["inf"]["n"],)
        scale = np.sqrt(ref["inf"]["sum_sq"] / inf.size)
        np.testing.assert_allclose(
            inf[: len(ref["inf"]["head"])], ref["inf"]["head"], rtol=0, atol=1e-6 * scale
        )
        assert np.sum(inf**2) == pytest.approx(ref["inf"]["sum_sq"], rel=1e-6)
        probe = np.sin(np.arange(inf.size) + 1.0)
        assert probe @ inf == pytest.approx(
            ref["inf"]["dot_sin"], abs=1e-6 * scale * np.sqrt(inf.size)
        )


def test_trimming_is_exercised_and_matches_reference() -> None:
    case = CASES["sim_panel_s3_trimmed"]
    arrays = MAKER.case_arrays(case)
    _, ps = logit_mle(
        arrays["d"], arrays["x"], np.ones(arrays["d"].size), names=["1", "a", "b", "c", "e"]
    )
    ps = np.clip(ps, 1e-6, 1 - 1e-6)
    trimmed = int(np.sum((arrays["d"] == 0) & (ps >= 0.995)))
    assert trimmed == case["trimmed_controls"] > 0
    # Without trimming (trim_level=1) the IPW estimate moves: the trimmed units carried weight.
    a = arrays
    att_trim, _ = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], method="ipw")
    att_all, _ = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], method="ipw", trim_level=1.0)
    assert abs(att_trim - att_all) > 1e-3


def test_mpdta_panel_and_rc_give_the_same_att() -> None:
    """A balanced panel stacked as two cross-sections gives the same ATT (R `did` relies on this)."""
    for method in METHODS:
        p = CASES["mpdta_g2004_2003_2004"]["methods"][method]["att"]
        r = CASES["mpdta_rc_g2004_2003_2004"]["methods"][method]["att"]
        assert p == pytest.approx(r, abs=1e-12)
        att, _ = _estimate(
            CASES["mpdta_rc_g2004_2003_2004"],
            MAKER.case_arrays(CASES["mpdta_rc_g2004_2003_2004"]),
            method,
        )
        assert att == pytest.approx(p, abs=1e-10)


def test_intercept_only_is_the_plain_difference_in_differences() -> None:
    a = MAKER.case_arrays(CASES["sim_panel_s4_intercept_only"])
    dy = a["y1"] - a["y0"]
    plain = dy[a["d"] == 1].mean() - dy[a["d"] == 0].mean()
    for method in METHODS:
        att, inf = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], method=method)
        assert att == pytest.approx(plain, abs=1e-12)
        # With no covariates the IF is the two-sample mean-difference IF.
        n, p1 = dy.size, a["d"].mean()
        expected = a["d"] * (dy - dy[a["d"] == 1].mean()) / p1 - (1 - a["d"]) * (
            dy - dy[a["d"] == 0].mean()
        ) / (1 - p1)
        np.testing.assert_allclose(inf, expected, atol=1e-9)
        assert n == inf.size


# ---------------------------------------------------------------------------------------------
# Influence function = exact empirical influence function (finite differences in the weights)
# ---------------------------------------------------------------------------------------------


def _weight_derivative(fit, w: np.ndarray, units: tuple[int, ...]) -> np.ndarray:
    """n * d att / d log w_i by central differences, for the listed units."""
    n, h = w.size, 1e-5
    out = []
    for i in units:
        bump = np.zeros(n)
        bump[i] = h * w[i]
        out.append((fit(w + bump)[0] - fit(w - bump)[0]) / (2 * h) * n)
    return np.array(out)


CASES_FD = [("panel", m) for m in METHODS] + [("rc", "ipw"), ("rc", "reg")]


@pytest.mark.parametrize(("kind", "method"), CASES_FD)
def test_influence_function_is_the_weight_derivative(kind: str, method: str) -> None:
    """Scaling unit i's weight by (1 + t) moves att by t * inf_i / n + O(t^2) (weights of mean one).

    This checks DRDID's IF, including the estimation-effect terms, against the exact empirical
    influence function, independently of any reference implementation.
    """
    if kind == "panel":
        a = MAKER.simulate_panel(11, 300, weighted=True)

        def fit(w: np.ndarray) -> tuple[float, np.ndarray]:
            return drdid_panel(a["y1"], a["y0"], a["d"], a["x"], w, method=method)
    else:
        a = MAKER.simulate_rc(12, 400, weighted=True)

        def fit(w: np.ndarray) -> tuple[float, np.ndarray]:
            return drdid_rc(a["y"], a["post"], a["d"], a["x"], w, method=method)

    w = a["w"] / a["w"].mean()
    _, inf = fit(w)
    units = (0, 7, 42, 123, w.size - 1)
    deriv = _weight_derivative(fit, w, units)
    np.testing.assert_allclose(deriv, inf[list(units)], rtol=1e-5, atol=1e-7 * np.abs(inf).max())


def test_drdid_rc_influence_function_keeps_drdids_pre_period_sign() -> None:
    """DRDID::drdid_rc (and moderndid) add the pre-period comparison-regression estimation effect
    with the sign of the post period. We keep DRDID's IF for parity; this pins the difference:
    exact IF = DRDID IF + 2 * alr_c0 @ (m3_pre - m1_pre), a term that vanishes asymptotically when
    the propensity score is correctly specified (m1_pre and m3_pre then estimate the same mean).
    """
    a = MAKER.simulate_rc(12, 400)
    y, post, d, x = a["y"], a["post"], a["d"], a["x"]
    n = y.size

    def fit(w: np.ndarray) -> tuple[float, np.ndarray]:
        return drdid_rc(y, post, d, x, w, method="dr")

    w = np.ones(n)
    _, inf = fit(w)
    _, ps = logit_mle(d, x, w, names=[f"c{j}" for j in range(x.shape[1])])
    ps = np.clip(ps, 1e-6, 1 - 1e-6)
    c0 = (d == 0) & (post == 0)
    beta0 = np.linalg.lstsq(x[c0], y[c0], rcond=None)[0]
    alr_c0 = (c0 * (y - x @ beta0))[:, None] * x @ np.linalg.inv(x[c0].T @ x[c0] / n)
    w_tpre = d * (1 - post)
    w_cpre = (1 - d) * (1 - post) * ps / (1 - ps)
    m1_pre = -(x.T @ w_tpre / n) / w_tpre.mean()
    m3_pre = -(x.T @ w_cpre / n) / w_cpre.mean()
    exact = inf + 2 * alr_c0 @ (m3_pre - m1_pre)
    units = (*(int(i) for i in np.flatnonzero(c0)[:4]), int(np.flatnonzero(d == 1)[0]))
    deriv = _weight_derivative(fit, w, units)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(deriv, exact[list(units)], rtol=1e-5, atol=1e-7 * scale)
    # ...and DRDID's own IF differs from it on comparison units of the pre period only.
    assert np.abs(exact - inf)[c0].max() > 1e-2 * scale
    np.testing.assert_allclose(exact[~c0], inf[~c0], atol=1e-12 * scale)


def test_influence_function_has_mean_zero() -> None:
    a = MAKER.simulate_panel(13, 500, weighted=True)
    for method in METHODS:
        _, inf = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], a["w"], method=method)
        assert abs(inf.mean()) < 1e-10 * np.abs(inf).max()


def test_influence_se_formula() -> None:
    v = np.array([1.0, -2.0, 0.5, 0.5])
    assert influence_se(v) == pytest.approx(np.std(v, ddof=1) * np.sqrt(3) / 4)
    with pytest.raises(DataError):
        influence_se(np.array([1.0]))
    with pytest.raises(DataError):
        influence_se(np.array([1.0, np.nan]))


def test_logit_matches_statsmodels_glm() -> None:
    sm = pytest.importorskip("statsmodels.api")
    a = MAKER.simulate_panel(14, 700, weighted=True)
    beta, ps = logit_mle(a["d"], a["x"], a["w"], names=[f"c{j}" for j in range(5)])
    fit = sm.GLM(a["d"], a["x"], family=sm.families.Binomial(), freq_weights=a["w"]).fit(tol=1e-12)
    np.testing.assert_allclose(beta, fit.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ps, fit.predict(a["x"]), rtol=1e-8)


def test_weights_are_scale_invariant_and_inputs_not_mutated() -> None:
    a = MAKER.simulate_panel(15, 300, weighted=True)
    w = a["w"].copy()
    x = a["x"].copy()
    for method in METHODS:
        att1, inf1 = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], a["w"], method=method)
        att2, inf2 = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], 7.0 * a["w"], method=method)
        assert att1 == pytest.approx(att2, abs=1e-10)
        np.testing.assert_allclose(inf1, inf2, atol=1e-8)
    np.testing.assert_array_equal(a["w"], w)
    np.testing.assert_array_equal(a["x"], x)


@pytest.mark.parametrize("method", METHODS)
def test_covariate_scale_does_not_matter(method: str) -> None:
    """Rescaling a covariate (e.g. population in persons instead of millions) changes nothing."""
    a = MAKER.simulate_panel(17, 400)
    att, inf = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], method=method)
    for factor in (1e-9, 1e9):
        x = a["x"].copy()
        x[:, 2] *= factor
        att2, inf2 = drdid_panel(a["y1"], a["y0"], a["d"], x, method=method)
        assert att2 == pytest.approx(att, abs=1e-9)
        np.testing.assert_allclose(inf2, inf, atol=1e-7 * np.abs(inf).max())


def test_lists_are_accepted() -> None:
    a = MAKER.simulate_panel(16, 120)
    att, inf = drdid_panel(list(a["y1"]), list(a["y0"]), list(a["d"]), a["x"].tolist(), method="dr")
    att2, _ = drdid_panel(a["y1"], a["y0"], a["d"], a["x"], method="dr")
    assert att == att2 and inf.shape == (120,)


# ---------------------------------------------------------------------------------------------
# Bad input: typed errors naming the argument / covariate / rows
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def panel() -> dict[str, np.ndarray]:
    return MAKER.simulate_panel(21, 200)


def _call(a: dict, **changes: object) -> tuple[float, np.ndarray]:
    args = {"y1": a["y1"], "y0": a["y0"], "d": a["d"], "x": a["x"], "w": None, "method": "dr"}
    args.update(changes)
    return drdid_panel(
        args.pop("y1"), args.pop("y0"), args.pop("d"), args.pop("x"), args.pop("w"), **args
    )


def test_shape_mismatch(panel: dict) -> None:
    with pytest.raises(DataError, match="y1 has shape") as err:
        _call(panel, y1=panel["y1"][:-1])
    assert err.value.columns == ("y1",)
    with pytest.raises(DataError, match="x has shape"):
        _call(panel, x=panel["x"][:-3])
    with pytest.raises(DataError, match="w has shape"):
        _call(panel, w=np.ones(5))
    with pytest.raises(DataError, match="one-dimensional"):
        _call(panel, d=panel["d"][:, None])
    with pytest.raises(DataError, match="p >= 1"):
        _call(panel, x=np.empty((panel["d"].size, 0)))


def test_missing_values_are_named_with_rows(panel: dict) -> None:
    y0 = panel["y0"].copy()
    y0[[3, 17]] = np.nan
    with pytest.raises(DataError, match="y0 has 2 missing") as err:
        _call(panel, y0=y0)
    assert list(err.value.rows["row"]) == [3, 17]
    x = panel["x"].copy()
    x[5, 2] = np.inf
    with pytest.raises(DataError, match="covariates have missing") as err:
        _call(panel, x=x, names=["(Intercept)", "a", "b", "c", "e"])
    assert err.value.columns == ("b",)
    assert list(err.value.rows["row"]) == [5]


def test_non_numeric_input(panel: dict) -> None:
    with pytest.raises(DataError, match="x must be numeric"):
        _call(panel, x=np.array([["a"] * 5] * panel["d"].size))


def test_non_binary_treatment(panel: dict) -> None:
    d = panel["d"].copy()
    d[[0, 9]] = 2.0
    with pytest.raises(DataError, match="d must be 0/1") as err:
        _call(panel, d=d)
    assert list(err.value.rows["row"]) == [0, 9]


def test_no_variation_in_treatment(panel: dict) -> None:
    with pytest.raises(DesignError, match="d is 1 for every"):
        _call(panel, d=np.ones_like(panel["d"]))
    with pytest.raises(DesignError, match="d is 0 for every"):
        _call(panel, d=np.zeros_like(panel["d"]))


def test_bad_weights(panel: dict) -> None:
    w = np.ones_like(panel["d"])
    w[4] = -1.0
    with pytest.raises(DataError, match="non-negative") as err:
        _call(panel, w=w)
    assert list(err.value.rows["row"]) == [4]
    with pytest.raises(DataError, match="all weights are zero"):
        _call(panel, w=np.zeros_like(panel["d"]))
    w = np.ones_like(panel["d"])
    w[1] = np.nan
    with pytest.raises(DataError, match="w has 1 missing"):
        _call(panel, w=w)


def test_bad_options(panel: dict) -> None:
    with pytest.raises(OptionError, match="method"):
        _call(panel, method="aipw")
    with pytest.raises(OptionError, match="trim_level"):
        _call(panel, trim_level=0.0)
    with pytest.raises(OptionError, match="trim_level"):
        _call(panel, trim_level="high")
    with pytest.raises(DataError, match="names has 2 entries"):
        _call(panel, names=["a", "b"])


@pytest.mark.parametrize("method", METHODS)
def test_collinear_covariates_are_named(panel: dict, method: str) -> None:
    x = np.column_stack([panel["x"], 2.0 * panel["x"][:, 1] - panel["x"][:, 2]])
    names = ["(Intercept)", "a", "b", "c", "e", "dup"]
    with pytest.raises(EstimationError, match="collinear") as err:
        _call(panel, x=x, names=names, method=method)
    assert len(err.value.columns) == 1 and err.value.columns[0] in {"a", "b", "dup"}
    others = {"a", "b", "dup"} - set(err.value.columns)
    assert all(repr(o) in str(err.value) for o in others)


def test_all_zero_covariate_is_named(panel: dict) -> None:
    x = np.column_stack([panel["x"], np.zeros(panel["d"].size)])
    with pytest.raises(EstimationError, match="'zeros' has no variation") as err:
        _call(panel, x=x, names=["(Intercept)", "a", "b", "c", "e", "zeros"], method="ipw")
    assert err.value.columns == ("zeros",)


def test_covariate_constant_among_comparison_units(panel: dict) -> None:
    """Only the comparison-group regression is singular: the error says which model."""
    extra = np.where(panel["d"] == 1, np.arange(panel["d"].size) % 3, 1.0)
    x = np.column_stack([panel["x"], extra])
    with pytest.raises(EstimationError, match="comparison units") as err:
        _call(panel, x=x, names=["(Intercept)", "a", "b", "c", "e", "extra"], method="reg")
    assert set(err.value.columns) & {"(Intercept)", "extra"}


def test_complete_separation_is_an_estimation_error(panel: dict) -> None:
    sep = np.where(panel["d"] == 1, 1.0, -1.0) + 0.01 * panel["x"][:, 1]
    x = np.column_stack([panel["x"][:, :2], sep])
    with pytest.raises(EstimationError, match="separat") as err:
        _call(panel, x=x, names=["(Intercept)", "a", "sep"], method="ipw")
    assert "sep" in err.value.columns


def test_quasi_separation_is_an_estimation_error(panel: dict) -> None:
    """A dummy that is 1 only for (some) treated units: its coefficient diverges."""
    dummy = ((panel["d"] == 1) & (np.arange(panel["d"].size) % 4 == 0)).astype(float)
    x = np.column_stack([panel["x"][:, :2], dummy])
    with pytest.raises(EstimationError, match="separat") as err:
        _call(panel, x=x, names=["(Intercept)", "a", "only_treated"], method="dr")
    assert "only_treated" in err.value.columns


def test_too_few_comparison_units_for_the_regression() -> None:
    n = 40
    rng = np.random.default_rng(3)
    d = np.ones(n)
    d[:3] = 0.0
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 4))])
    with pytest.raises(EstimationError, match="3 observation"):
        drdid_panel(rng.normal(size=n), rng.normal(size=n), d, x, method="reg")


def test_everything_trimmed_is_a_design_error(panel: dict) -> None:
    with pytest.raises(DesignError, match="trimming"):
        _call(panel, x=panel["x"][:, :1], method="ipw", trim_level=0.01)


def test_rc_bad_input() -> None:
    a = MAKER.simulate_rc(22, 200)
    with pytest.raises(DesignError, match="post is 1 for every"):
        drdid_rc(a["y"], np.ones_like(a["post"]), a["d"], a["x"], method="dr")
    post = a["post"].copy()
    post[a["d"] == 1] = 1.0
    with pytest.raises(DesignError, match="no treated observations in the pre period"):
        drdid_rc(a["y"], post, a["d"], a["x"], method="dr")
    bad = a["post"].copy()
    bad[2] = 0.5
    with pytest.raises(DataError, match="post must be 0/1"):
        drdid_rc(a["y"], bad, a["d"], a["x"], method="dr")
    with pytest.raises(DataError, match="y has shape"):
        drdid_rc(a["y"][1:], a["post"], a["d"], a["x"], method="ipw")
