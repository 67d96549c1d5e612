"""at.dml on binary components (which of E, R, K a unit got): doubly robust cell means, effects of
each combination against all off, and the Shapley split through `attribution.decompose`."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

import attribution as at
from attribution.decompose import shapley_split
from attribution.errors import AttributionWarning, DesignError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

COMPS = ["E", "R", "K"]


def _po(e, r, k):
    """Potential outcome shift of a combination: main effects plus E:R and R:K interactions."""
    return 1.0 * e + 0.5 * r + 0.3 * k + 0.4 * e * r - 0.2 * r * k


def _frame(n: int = 4_000, seed: int = 0, strength: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Confounded assignment: each component's probability follows w1, w2, which drive y too."""
    rng = np.random.default_rng(seed)
    w1, w2 = rng.normal(size=(2, n))

    def sig(z):
        return 1 / (1 + np.exp(-strength * z))

    e = (rng.random(n) < sig(0.6 * w1)).astype("int64")
    r = (rng.random(n) < sig(-0.3 + 0.5 * w1 + 0.3 * w2)).astype("int64")
    k = (rng.random(n) < sig(0.2 + 0.5 * w2 - 0.3 * w1)).astype("int64")
    y = _po(e, r, k) + 2 * w1 + w2 + rng.normal(size=n)
    truth = np.array([_po(c & 1, (c >> 1) & 1, (c >> 2) & 1) for c in range(8)], float)
    df = pd.DataFrame({"y": y, "E": e, "R": r, "K": k, "w1": w1, "w2": w2})
    return df, truth


KW = {
    "outcome": "y",
    "treatments": COMPS,
    "confounders": ["w1", "w2"],
    "discrete_treatment": True,
    "cv": 2,
    "random_state": 0,
}
LIN = {"model_y": LinearRegression(), "model_t": LogisticRegression(max_iter=1_000)}


def test_contributions_cover_the_truth_and_add_up_to_the_total():
    df, truth = _frame()
    res = at.dml(df, **KW, **LIN)
    tab = res.tidy()
    assert list(tab["term"]) == [
        "E",
        "R",
        "E+R",
        "K",
        "E+K",
        "R+K",
        "total",
        "contribution(E)",
        "contribution(R)",
        "contribution(K)",
    ]
    contrib = tab[tab["component"].notna()]
    assert list(contrib["component"]) == COMPS
    assert tab.loc[tab["component"].isna(), "component"].isna().all()
    # the Shapley rows add up to the headline (all on − all off) exactly
    h = res.headline
    assert h.term == "total" and "all components (E, R, K) on against all off" in h.label
    assert contrib["estimate"].sum() == pytest.approx(h.estimate, abs=1e-12)
    # truth: Shapley split of the known potential-outcome means; every interval covers it
    true_split = shapley_split(truth, None, components=COMPS).table["estimate"].to_numpy()
    np.testing.assert_allclose(true_split.sum(), truth[-1] - truth[0])
    assert ((contrib["conf_low"] <= true_split) & (true_split <= contrib["conf_high"])).all()
    assert h.conf_low <= truth[-1] - truth[0] <= h.conf_high
    eff = tab.set_index("term")
    for c, term in ((1, "E"), (3, "E+R"), (6, "R+K")):
        assert eff.loc[term, "conf_low"] <= truth[c] - truth[0] <= eff.loc[term, "conf_high"]
    # a naive difference of means of all on against all off is far off (confounded by w1, w2)
    on = df[(df[COMPS] == 1).all(axis=1)]["y"].mean()
    off = df[(df[COMPS] == 0).all(axis=1)]["y"].mean()
    assert (on - off) - (truth[-1] - truth[0]) > 10 * h.std_error
    # the cell means are the same numbers the table's contrasts come from
    cells = res.cell_means
    assert list(cells.index) == ["none", "E", "R", "E+R", "K", "E+K", "R+K", "E+R+K"]
    assert cells["E+R+K"] - cells["none"] == pytest.approx(h.estimate, abs=1e-12)
    # the baseline is the all-off cell mean (as the factorial design's), near E[y(none)] = 0 + E[2w1 + w2]
    assert res.baseline == cells["none"]
    assert res.baseline == pytest.approx(float((2 * df["w1"] + df["w2"]).mean()), abs=0.15)
    assert next(c for c in res.checks if c.name == "propensity overlap").passed is True
    assert res.combinations and "Shapley" in res.description
    json.dumps(res.to_dict(), allow_nan=False)
    assert res.plot(kind="waterfall").axes


def test_default_boosting_models_and_seeded_reruns():
    df, truth = _frame(3_000, seed=1)
    small = {
        "model_y": HistGradientBoostingRegressor(max_iter=30, random_state=0),
        "model_t": HistGradientBoostingClassifier(
            max_iter=30, learning_rate=0.05, min_samples_leaf=100, random_state=0
        ),
    }
    a = at.dml(df, **KW, **small)
    b = at.dml(df, **KW, **small)
    pd.testing.assert_frame_equal(a.tidy(), b.tidy())
    h = a.headline
    assert abs(h.estimate - (truth[-1] - truth[0])) < 3 * h.std_error


def test_missing_combination_is_refused_by_name():
    df, _ = _frame(1_000)
    df = df[~((df["E"] == 1) & (df["R"] == 0) & (df["K"] == 1))]
    with pytest.raises(DesignError, match=r"combination E\+K \(E=1, R=0, K=1\) has no units"):
        at.dml(df, **KW, **LIN)


def test_non_binary_components_are_refused():
    df, _ = _frame(500)
    with pytest.raises(DesignError, match="binary 0/1 indicators") as err:
        at.dml(df.assign(R=df["R"] * 2), **KW, **LIN)
    assert tuple(err.value.columns) == ("R",)
    with pytest.raises(DesignError, match="one 0/1 column per component"):
        at.dml(df.assign(K=df["K"].map({0: "off", 1: "on"})), **KW, **LIN)


def test_poor_overlap_is_a_failed_check():
    df, _ = _frame(3_000, seed=2, strength=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(AttributionWarning, match="poor overlap"):
            res = at.dml(df, **KW, **LIN)
    check = next(c for c in res.checks if c.name == "propensity overlap")
    assert check.passed is False and check.statistic > 0.05
    assert "clipped" in check.detail


def test_clustered_combinations_widen_the_interval_and_modifiers_enter_the_models():
    """Components assigned partly by market (a market-level tilt, not confounding: independent of
    the outcome) and a market-level outcome shock: rows of a market are not independent."""
    df, truth = _frame(3_000, seed=3)
    rng = np.random.default_rng(3)
    market = np.sort(rng.integers(0, 60, size=len(df)))
    tilt = rng.normal(size=(60, 3))[market]
    for j, c in enumerate(COMPS):  # redraw each component with its market's tilt
        df[c] = rng.random(len(df)) < 1 / (
            1 + np.exp(-(0.5 * df["w1"] - 0.3 * df["w2"] + 0.7 * tilt[:, j]))
        )
        df[c] = df[c].astype("int64")
    shift = _po(df["E"], df["R"], df["K"])
    df["y"] = shift + 2 * df["w1"] + df["w2"] + 2 * rng.normal(size=60)[market]
    df["y"] += rng.normal(size=len(df))
    df = df.assign(market=market, seg="x")
    plain = at.dml(df, **KW, **LIN)
    clustered = at.dml(df, **KW, **LIN, cluster="market", effect_modifiers=["seg"])
    assert clustered.n_clusters == 60 and "CR1" in " ".join(clustered.notes)
    assert clustered.headline.std_error > 1.5 * plain.headline.std_error  # 2.0x when written
    h = clustered.headline
    assert h.conf_low <= truth[-1] - truth[0] <= h.conf_high
    contrib = clustered.tidy().dropna(subset=["component"])
    assert contrib["estimate"].sum() == pytest.approx(h.estimate, abs=1e-12)


@pytest.mark.slow
def test_contribution_intervals_cover_over_seeds():
    """300 draws of 2,000 units: coverage of E, R, K contributions and the total was 96.7%, 95.7%,
    93.3% and 96.0% when written (about 35 s)."""
    true_split = None
    hits = []
    for s in range(300):
        df, truth = _frame(2_000, seed=1_000 + s)
        if true_split is None:
            true_split = shapley_split(truth, None, components=COMPS).table["estimate"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = at.dml(df, **{**KW, "random_state": s}, **LIN)
        tab = res.tidy()
        c = tab[tab["component"].notna()]
        h = res.headline
        inside = (c["conf_low"] <= true_split) & (true_split <= c["conf_high"])
        hits.append([*inside, h.conf_low <= truth[-1] - truth[0] <= h.conf_high])
    coverage = np.mean(hits, axis=0)
    assert ((coverage >= 0.92) & (coverage <= 0.98)).all(), coverage
