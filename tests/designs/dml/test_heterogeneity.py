"""at.dml heterogeneity: per-segment effects with multiplicity-adjusted inference, the Wald /
Cochran's Q test that segments differ and the best-linear-predictor calibration test, with and
without true heterogeneity (seed 0; under no heterogeneity the four p-values are 0.24, 0.29, 0.28
and 0.18 when written, and over seeds 100-199 each test rejected 1-6% at the 5% level)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import attribution as at

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHIFT = {"a": -1.0, "b": 0.0, "c": 1.0}


def _continuous(het: float, n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    seg = rng.choice(["a", "b", "c"], size=n)
    slope = 0.5 + het * 0.4 * pd.Series(seg).map(SHIFT).to_numpy()
    t = 0.7 * w + rng.normal(size=n)
    return pd.DataFrame({"y": slope * t + w + rng.normal(size=n), "t": t, "w": w, "seg": seg})


def _binary(het: float, n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    seg = rng.choice(["a", "b", "c"], size=n)
    eff = 1.0 + het * 0.6 * pd.Series(seg).map(SHIFT).to_numpy()
    d = (rng.random(n) < 1 / (1 + np.exp(-w))).astype("int64")
    return pd.DataFrame({"y": eff * d + 2 * w + rng.normal(size=n), "d": d, "w": w, "seg": seg})


def _fit(het: float, discrete: bool):
    kw = {"confounders": ["w"], "effect_modifiers": ["seg"], "cv": 2, "random_state": 0}
    if discrete:
        return at.dml(
            _binary(het),
            outcome="y",
            treatments="d",
            discrete_treatment=True,
            model_y=LinearRegression(),
            model_t=LogisticRegression(),
            **kw,
        )
    return at.dml(
        _continuous(het),
        outcome="y",
        treatments="t",
        model_y=LinearRegression(),
        model_t=LinearRegression(),
        **kw,
    )


@pytest.mark.parametrize("discrete", [False, True], ids=["continuous", "binary"])
def test_heterogeneity_tests_reject_with_and_not_without(discrete):
    term = "d" if discrete else "t"
    for het, rejects in ((0.0, False), (1.0, True)):
        res = _fit(het, discrete)
        checks = {c.name: c for c in res.checks}
        wald = checks[f"heterogeneity ({term})"]
        blp = checks[f"heterogeneity BLP ({term})"]
        assert wald.df == 2 and ("Cochran" in wald.detail) == discrete
        assert (wald.p_value < 0.05) == rejects, (het, wald.detail)
        assert (blp.p_value < 0.05) == rejects, (het, blp.detail)
        if rejects:
            assert blp.statistic > 5 and "calibration" in blp.detail


@pytest.mark.parametrize("discrete", [False, True], ids=["continuous", "binary"])
def test_segment_rows_are_adjusted_across_segments(discrete):
    res = _fit(1.0, discrete)
    tab = res.tidy()
    seg = tab[tab["segment"].notna()].set_index("segment")
    assert list(seg.index) == ["a", "b", "c"]
    truth = (
        {s: 1.0 + 0.6 * v for s, v in SHIFT.items()}
        if discrete
        else {s: 0.5 + 0.4 * v for s, v in SHIFT.items()}
    )
    for s, v in truth.items():
        assert seg.loc[s, "conf_low_uniform"] <= v <= seg.loc[s, "conf_high_uniform"]
    # Holm never below the raw p-value; Bonferroni intervals contain the pointwise ones
    assert (seg["p_value_holm"] >= seg["p_value"]).all()
    assert (seg["conf_low_uniform"] < seg["conf_low"]).all()
    assert (seg["conf_high_uniform"] > seg["conf_high"]).all()
    assert seg["adjustment"].str.contains("Holm").all()
    assert seg["adjustment"].str.contains("Bonferroni").all()
    # the average row carries no adjustment and stays the headline
    assert res.headline.term == tab.iloc[0]["term"] and pd.isna(tab.iloc[0]["segment"])


def test_binary_segments_average_to_the_learner_estimate():
    """The per-segment means come from econml's own doubly robust scores: their size-weighted
    average is the learner's average effect."""
    df = _binary(1.0)
    res = _fit(1.0, True)
    tab = res.tidy()
    seg = tab[tab["segment"].notna()].set_index("segment")["estimate"]
    share = df["seg"].value_counts(normalize=True)
    assert float((seg * share).sum()) == pytest.approx(res.headline.estimate, abs=1e-8)


def test_numeric_modifier_gets_the_calibration_test_only():
    rng = np.random.default_rng(1)
    n = 2_000
    w, m = rng.normal(size=(2, n))
    t = 0.7 * w + rng.normal(size=n)
    y = (0.5 + 0.5 * m) * t + w + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t": t, "w": w, "m": m})
    res = at.dml(
        df,
        outcome="y",
        treatments="t",
        confounders=["w"],
        effect_modifiers=["m"],
        model_y=LinearRegression(),
        model_t=LinearRegression(),
        cv=2,
    )
    blp = next(c for c in res.checks if c.name == "heterogeneity BLP (t)")
    assert blp.p_value < 1e-6
    assert "segment" not in res.tidy() or res.tidy()["segment"].isna().all()


@pytest.mark.slow
def test_heterogeneity_tests_hold_their_size():
    """No heterogeneity, 100 seeds: each of the four tests rejects at most 10% at the 5% level
    (5%, 1%, 5% and 6% when written)."""
    rejections = np.zeros(4)
    for s in range(100, 200):
        checks = {}
        for discrete, df in ((False, _continuous(0.0, seed=s)), (True, _binary(0.0, seed=s))):
            kw = {"confounders": ["w"], "effect_modifiers": ["seg"], "cv": 2, "random_state": s}
            res = at.dml(
                df,
                outcome="y",
                treatments="d" if discrete else "t",
                discrete_treatment=discrete,
                model_y=LinearRegression(),
                model_t=LogisticRegression() if discrete else LinearRegression(),
                **kw,
            )
            checks.update({c.name: c.p_value for c in res.checks})
        names = ["heterogeneity (t)", "heterogeneity BLP (t)"]
        names += ["heterogeneity (d)", "heterogeneity BLP (d)"]
        rejections += [checks[n] < 0.05 for n in names]
    assert (rejections / 100 <= 0.10).all(), rejections
