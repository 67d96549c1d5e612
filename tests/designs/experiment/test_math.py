"""The experiment family's numbers against direct unit-level computations in numpy, and against
`at.factorial` where the two designs overlap."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from attribution.designs.experiment import decompose_lift, experiment
from attribution.designs.experiment.delta import fieller_interval, relative_lift
from attribution.designs.experiment.segments import cochran_q
from attribution.designs.experiment.stats import unit_moments
from attribution.designs.factorial import factorial
from attribution.errors import AttributionWarning
from attribution.metrics import Mean, Proportion, Ratio
from tests.designs.experiment.helpers import ratio_direct, users


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return users(4_000, seed=7)


def _row(res, metric, **keys):
    tab = res.tidy()
    sel = tab["metric"] == metric
    for k in ("segment", "surface", "time"):
        if k in tab:
            sel &= tab[k].isna() if k not in keys else tab[k] == keys[k]
    out = tab[sel]
    assert len(out) == 1
    return out.iloc[0]


def test_ratio_delta_method_equals_direct_computation(data):
    res = experiment(data, arm="arm", unit="user", metrics=[Ratio("clicks", "impressions")])
    row = _row(res, "clicks/impressions")
    t, c = data[data.arm == "t1"], data[data.arm == "control"]
    rt, vt = ratio_direct(t.clicks.to_numpy(float), t.impressions.to_numpy(float))
    rc, vc = ratio_direct(c.clicks.to_numpy(float), c.impressions.to_numpy(float))
    assert row["treatment_mean"] == pytest.approx(rt, rel=1e-12)
    assert row["control_mean"] == pytest.approx(rc, rel=1e-12)
    assert row["estimate"] == pytest.approx(rt - rc, rel=1e-10)
    assert row["std_error"] == pytest.approx(np.sqrt(vt + vc), rel=1e-10)
    z = stats.norm.ppf(0.975)
    assert row["conf_low"] == pytest.approx(rt - rc - z * np.sqrt(vt + vc), rel=1e-10)
    p = 2 * stats.norm.sf(abs(rt - rc) / np.sqrt(vt + vc))
    assert row["p_value"] == pytest.approx(p, rel=1e-8)


def test_kept_zero_denominator_units_equal_direct_computation(data):
    """Ratio(zero_denominator="keep"): users who saw nothing stay randomised units, counted in n
    and in the delta-method variance, adding nothing to either sum; one warning, one check. The
    same numbers as a direct numpy computation over every unit, and as `at.factorial`."""
    df = data.copy()
    none = np.random.default_rng(3).random(len(df)) < 0.1
    df.loc[none, ["clicks", "impressions"]] = 0
    metric = Ratio("clicks", "impressions", zero_denominator="keep")
    with pytest.warns(AttributionWarning, match=r"unit\(s\) of 'user' have impressions = 0") as w:
        res = experiment(df, arm="arm", unit="user", metrics=[metric, "engagement"])
    assert sum(issubclass(x.category, AttributionWarning) for x in w) == 1
    row = _row(res, "clicks/impressions")
    t, c = df[df.arm == "t1"], df[df.arm == "control"]
    rt, vt = ratio_direct(t.clicks.to_numpy(float), t.impressions.to_numpy(float))
    rc, vc = ratio_direct(c.clicks.to_numpy(float), c.impressions.to_numpy(float))
    assert (row["n_treatment"], row["n_control"]) == (len(t), len(c))
    assert row["treatment_mean"] == pytest.approx(rt, rel=1e-12)
    assert row["control_mean"] == pytest.approx(rc, rel=1e-12)
    assert row["estimate"] == pytest.approx(rt - rc, rel=1e-10)
    assert row["std_error"] == pytest.approx(np.sqrt(vt + vc), rel=1e-10)
    # leaving the 0/0 units out moves the SE (they count in n), not the ratios
    kept = df[~none]
    rt_out, vt_out = ratio_direct(
        kept[kept.arm == "t1"].clicks.to_numpy(float),
        kept[kept.arm == "t1"].impressions.to_numpy(float),
    )
    assert rt_out == pytest.approx(rt, rel=1e-12) and vt_out != pytest.approx(vt, rel=1e-6)
    check = [ck for ck in res.checks if ck.name == "zero denominators kept: clicks/impressions"]
    assert len(check) == 1 and f"{int(none.sum()):,} unit(s)" in check[0].detail
    assert res.provenance.options["metrics"][0]["zero_denominator"] == "keep"
    # the factorial applies the same rule to the same units
    fac_df = df.assign(B=(df.arm == "t1").astype("int8"))
    with pytest.warns(AttributionWarning, match="kept as randomised"):
        fac = factorial(fac_df, outcome=metric, factors=["B"], unit="user")
    cells = fac.cell_means.sort_index()
    np.testing.assert_allclose(cells["mean"], [rc, rt], rtol=1e-12)
    np.testing.assert_allclose(cells["std_error"], np.sqrt([vc, vt]), rtol=1e-9)


def test_a_segment_whose_kept_ratio_is_undefined_says_why(data):
    df = data.copy()
    df.loc[(df.segment == "new") & (df.arm == "t1"), ["clicks", "impressions"]] = 0
    metric = Ratio("clicks", "impressions", zero_denominator="keep")
    with pytest.warns(AttributionWarning, match="kept as randomised"):
        res = experiment(df, arm="arm", unit="user", metrics=[metric], segments="segment")
    tab = res.tidy()
    new = tab[tab.segment == "new"].iloc[0]
    assert np.isnan(new["estimate"]) and np.isnan(new["p_value_adjusted"])
    assert "denominator sums to 0" in new["note"]
    assert tab.loc[tab.segment != "new", "note"].isna().all()
    assert np.isfinite(tab.loc[tab.segment != "new", "estimate"]).all()


def test_rows_are_aggregated_to_units_first(data):
    """Splitting each user's clicks and impressions over several rows changes nothing."""
    one = experiment(data, arm="arm", unit="user", metrics=[Ratio("clicks", "impressions")])
    half = data.assign(clicks=data.clicks // 2, impressions=data.impressions // 2)
    rest = data.assign(
        clicks=data.clicks - half.clicks, impressions=data.impressions - half.impressions
    )
    many = pd.concat([half, rest], ignore_index=True)
    two = experiment(many, arm="arm", unit="user", metrics=[Ratio("clicks", "impressions")])
    a, b = one.tidy(), two.tidy()
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-12)
    np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-10)
    assert two.sample_size == one.sample_size == len(data)


def test_mean_is_welch_and_proportion_is_the_share(data):
    res = experiment(data, arm="arm", unit="user", metrics=["engagement", Proportion("converted")])
    t, c = data[data.arm == "t1"], data[data.arm == "control"]
    row = _row(res, "engagement")
    se = np.sqrt(t.engagement.var(ddof=1) / len(t) + c.engagement.var(ddof=1) / len(c))
    assert row["estimate"] == pytest.approx(t.engagement.mean() - c.engagement.mean(), rel=1e-10)
    assert row["std_error"] == pytest.approx(se, rel=1e-10)
    row = _row(res, "converted")
    assert row["treatment_mean"] == pytest.approx(t.converted.mean(), rel=1e-12)
    se = np.sqrt(t.converted.var(ddof=1) / len(t) + c.converted.var(ddof=1) / len(c))
    assert row["std_error"] == pytest.approx(se, rel=1e-10)


def test_cuped_matches_factorial_on_a_two_arm_experiment():
    """The CUPED slope is pooled within arms, the ANCOVA slope of `at.factorial(covariate=)`, so
    the effects agree to rounding. The SEs agree to 2e-3 relative here, not exactly: `experiment`
    uses the usual CUPED variance Σ_arms var(y − θx)/n (θ treated as known, Deng et al. 2013),
    while factorial's HC2 sandwich residualises the arm indicator on the covariate, so it also
    carries θ's sampling error, the chance imbalance of x between arms and the leverage correction:
    O(1/n) terms with homoskedastic noise (as here), O(n^-1/2) when the noise variance depends on
    x."""
    rng = np.random.default_rng(11)
    n = 20_000
    b = (rng.random(n) < 0.5).astype("int64")
    pre = rng.normal(5, 2, n)
    df = pd.DataFrame(
        {
            "user": np.arange(n),
            "B": b,
            "pre": pre,
            "engagement": 2 * pre + rng.normal(0, 3, n) + 0.2 * b,
        }
    )
    res = experiment(
        df, arm="B", unit="user", metrics=[Mean("engagement", covariate="pre")], control=0
    )
    fac = factorial(df, outcome="engagement", factors=["B"], covariate="pre", unit="user")
    eff = fac.tidy().set_index("term").loc["B"]
    row = res.tidy().iloc[0]
    assert row["estimate"] == pytest.approx(eff["estimate"], rel=1e-10)
    assert row["std_error"] == pytest.approx(eff["std_error"], rel=2e-3)
    assert res.cuped["theta"].iloc[0] == pytest.approx(fac.slope, rel=1e-10)
    # without a covariate: Welch's SE is HC2 on the two-cell model, exactly
    res = experiment(df, arm="B", unit="user", metrics=["engagement"], control=0)
    fac = factorial(df, outcome="engagement", factors=["B"], unit="user")
    eff = fac.tidy().set_index("term").loc["B"]
    assert res.tidy()["std_error"].iloc[0] == pytest.approx(eff["std_error"], rel=1e-10)


def test_cuped_reduces_the_variance(data):
    plain = experiment(data, arm="arm", unit="user", metrics=["engagement"])
    cuped = experiment(data, arm="arm", unit="user", metrics=[Mean("engagement", covariate="pre")])
    se0, se1 = plain.tidy()["std_error"].iloc[0], cuped.tidy()["std_error"].iloc[0]
    red = cuped.cuped["variance_reduction"].iloc[0]
    assert se1 < se0
    assert red == pytest.approx(1 - se1**2 / se0**2, rel=1e-9)
    # the same reduction from numpy: 1 − var(y − θx) / var(y) within arms
    t, c = data[data.arm == "t1"], data[data.arm == "control"]
    theta = cuped.cuped["theta"].iloc[0]
    v = sum((g.engagement - theta * g.pre).var(ddof=1) / len(g) for g in (t, c))
    assert se1**2 == pytest.approx(v, rel=1e-10)
    assert any(ch.name.startswith("CUPED") for ch in cuped.checks)


def test_ratio_cuped_on_linearised_values(data):
    """For a ratio with a ratio covariate: θ is the pooled within-arm slope of the linearised
    values, and the variance is that of the linearised residual (numpy from unit-level data)."""
    m = Ratio("clicks", "impressions", covariate=("pre_clicks", "pre_impressions"))
    res = experiment(data, arm="arm", unit="user", metrics=[m])
    row = res.tidy().iloc[0]

    def lin(g, num, den):
        r = g[num].sum() / g[den].sum()
        return r, (g[num] - r * g[den]) / g[den].mean()

    parts = {}
    for a in ("t1", "control"):
        g = data[data.arm == a]
        r, ly = lin(g, "clicks", "impressions")
        h, lx = lin(g, "pre_clicks", "pre_impressions")
        parts[a] = (r, ly.to_numpy(), h, lx.to_numpy())
    num = sum((len(p[1]) - 1) * np.cov(p[1], p[3])[0, 1] for p in parts.values())
    den = sum((len(p[3]) - 1) * np.var(p[3], ddof=1) for p in parts.values())
    theta = num / den
    est = (parts["t1"][0] - theta * parts["t1"][2]) - (
        parts["control"][0] - theta * parts["control"][2]
    )
    var = sum(np.var(p[1] - theta * p[3], ddof=1) / len(p[1]) for p in parts.values())
    assert row["estimate"] == pytest.approx(est, rel=1e-9)
    assert row["std_error"] == pytest.approx(np.sqrt(var), rel=1e-9)


def test_relative_lift_intervals():
    mt, vt, mc, vc = 1.1, 0.01**2, 1.0, 0.012**2
    lift, lo, hi = relative_lift(mt, vt, mc, vc, alpha=0.05, method="delta")
    se = np.sqrt(vt / mt**2 + vc / mc**2)
    z = stats.norm.ppf(0.975)
    assert lift == pytest.approx(0.1)
    assert lo == pytest.approx(1.1 * np.exp(-z * se) - 1)
    assert hi == pytest.approx(1.1 * np.exp(z * se) - 1)
    # Fieller: the interval's ends are exactly where the t statistic of mt − ρ mc is ±z
    lift, lo, hi = relative_lift(mt, vt, mc, vc, alpha=0.05, method="fieller")
    for rho in (lo + 1, hi + 1):
        assert (mt - rho * mc) ** 2 / (vt + rho**2 * vc) == pytest.approx(z**2, rel=1e-10)
    # an unbounded Fieller set (control mean indistinguishable from zero) is NaN, not a number
    lo, hi = fieller_interval(np.array(1.0), np.array(0.1), np.array(0.01), np.array(1.0), z=z)
    assert np.isnan(lo) and np.isnan(hi)


def test_fieller_option_in_the_result(data):
    a = experiment(data, arm="arm", unit="user", metrics=["engagement"])
    b = experiment(data, arm="arm", unit="user", metrics=["engagement"], lift_interval="fieller")
    ra, rb = a.tidy().iloc[0], b.tidy().iloc[0]
    # the same point estimates (engine sums rerun agree to about one ulp, not bit for bit)
    assert ra["lift"] == pytest.approx(rb["lift"], rel=1e-12)
    assert ra["estimate"] == pytest.approx(rb["estimate"], rel=1e-12)
    assert ra["lift_conf_low"] != rb["lift_conf_low"]
    assert rb["lift_conf_low"] < ra["lift"] < rb["lift_conf_high"]


def test_families_and_decisions():
    df = users(6_000, seed=3, lift=0.3, arms=3)
    metrics = [
        Ratio("clicks", "impressions", role="primary"),
        Mean("engagement", role="primary"),
        Proportion("converted", role="guardrail", tolerated_loss_pct=50.0),
        Mean("sessions"),
    ]
    res = experiment(df, arm="arm", unit="user", metrics=metrics)
    tab = res.tidy()
    assert len(tab) == 8
    prim = tab[tab.role == "primary"]
    # holm over the 4 primary rows (2 metrics × 2 arms); guardrails and secondary apart
    np.testing.assert_allclose(
        prim["p_value_adjusted"], _holm(prim["p_value"].to_numpy()), rtol=1e-12
    )
    for role in ("guardrail", "secondary"):
        sub = tab[tab.role == role]
        np.testing.assert_allclose(sub["p_value_adjusted"], _holm(sub["p_value"].to_numpy()))
    assert set(prim["decision"]) <= {"win", "loss", "inconclusive"}
    assert (prim.loc[prim["p_value_adjusted"] < 0.05, "decision"] == "win").all()
    assert set(tab.loc[tab.role == "guardrail", "decision"]) <= {"within tolerance", "breached"}
    assert set(tab.loc[tab.role == "secondary", "decision"]) == {"info"}
    # bonferroni and none
    bon = experiment(df, arm="arm", unit="user", metrics=metrics, correction="bonferroni")
    p = bon.tidy()
    pr = p[p.role == "primary"]
    np.testing.assert_allclose(pr["p_value_adjusted"], np.minimum(4 * pr["p_value"], 1.0))
    none = experiment(df, arm="arm", unit="user", metrics=metrics, correction="none")
    np.testing.assert_allclose(none.tidy()["p_value_adjusted"], none.tidy()["p_value"])


def _holm(p):
    order = np.argsort(p)
    m = len(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1)
    return out


@pytest.mark.parametrize(("method", "sm_name"), [("bh", "fdr_bh"), ("hochberg", "simes-hochberg")])
def test_adjusted_p_values_are_adjust_pvalues_within_each_family(method, sm_name):
    """Every family (primary metrics × arms, guardrails, secondary metrics, each comparison's
    segments) is adjusted by `at.adjust_pvalues`, which equals statsmodels' `multipletests`."""
    from statsmodels.stats.multitest import multipletests

    from attribution.multiple_testing import adjust_pvalues

    df = users(6_000, seed=3, lift=0.1, arms=3)
    metrics = [
        Ratio("clicks", "impressions", role="primary"),
        Mean("engagement", role="primary"),
        Proportion("converted", role="guardrail", tolerated_loss_pct=50.0),
        Mean("sessions"),
    ]
    tab = experiment(
        df, arm="arm", unit="user", metrics=metrics, segments="segment", correction=method
    ).tidy()
    whole = tab["segment"].isna()
    families = [whole & (tab["role"] == role) for role in ("primary", "guardrail", "secondary")]
    for (metric, arm), _grp in tab[~whole].groupby(["metric", "arm"]):
        families.append(~whole & (tab["metric"] == metric) & (tab["arm"] == arm))
    assert len(families) == 3 + 4 * 2
    assert sum(int(f.sum()) for f in families) == len(tab)
    sizes = set()
    for fam in families:
        p = tab.loc[fam, "p_value"].to_numpy(float)
        got = tab.loc[fam, "p_value_adjusted"].to_numpy(float)
        np.testing.assert_allclose(got, adjust_pvalues(p, method), rtol=0, atol=1e-15)
        np.testing.assert_allclose(got, multipletests(p, method=sm_name)[1], rtol=0, atol=1e-12)
        sizes.add(len(p))
    assert sizes == {4, 2, 3}  # 2 metrics × 2 arms; 1 metric × 2 arms; 3 segments
    # the methods differ on these p-values: the family really was adjusted by `method`
    holm = experiment(df, arm="arm", unit="user", metrics=metrics, segments="segment").tidy()
    assert not np.allclose(holm["p_value_adjusted"], tab["p_value_adjusted"])


def test_guardrail_breached_when_the_loss_is_beyond_tolerance():
    df = users(8_000, seed=5, lift=0.0)
    df.loc[df.arm == "t1", "engagement"] *= 0.8  # a 20% loss
    ms = [Mean("engagement", role="guardrail", tolerated_loss_pct=5.0)]
    res = experiment(df, arm="arm", unit="user", metrics=ms)
    assert res.tidy()["decision"].iloc[0] == "breached"
    ms = [Mean("engagement", role="guardrail", tolerated_loss_pct=40.0)]
    res = experiment(df, arm="arm", unit="user", metrics=ms)
    assert res.tidy()["decision"].iloc[0] == "within tolerance"
    ms = [Mean("engagement", role="primary", direction="decrease")]
    assert experiment(df, arm="arm", unit="user", metrics=ms).tidy()["decision"].iloc[0] == "win"


def test_segments_surface_and_time_rows_equal_subset_analyses(data):
    ms = [Ratio("clicks", "impressions"), Mean("engagement", covariate="pre")]
    df = data.assign(week=np.where(data.user % 2 == 0, 1, 2))
    res = experiment(
        df, arm="arm", unit="user", metrics=ms, segments="segment", surface="surface", time="week"
    )
    tab = res.tidy()
    assert {"segment", "surface", "time"} <= set(tab.columns)
    for seg in ("new", "heavy"):
        sub = experiment(df[df.segment == seg], arm="arm", unit="user", metrics=ms).tidy()
        got = tab[(tab.segment == seg) & tab.surface.isna() & tab.time.isna()]
        np.testing.assert_allclose(got["estimate"], sub["estimate"], rtol=1e-9)
        np.testing.assert_allclose(got["std_error"], sub["std_error"], rtol=1e-9)
    sub = experiment(df[df.surface == "home"], arm="arm", unit="user", metrics=ms).tidy()
    got = tab[(tab.surface == "home") & tab.segment.isna() & tab.time.isna()]
    np.testing.assert_allclose(got["estimate"], sub["estimate"], rtol=1e-9)
    sub = experiment(df[df.week == 2], arm="arm", unit="user", metrics=ms).tidy()
    got = tab[(tab.time == 2) & tab.segment.isna() & tab.surface.isna()]
    np.testing.assert_allclose(got["std_error"], sub["std_error"], rtol=1e-9)
    # the whole population is unchanged by the extra keys
    whole = experiment(df, arm="arm", unit="user", metrics=ms).tidy()
    got = tab[tab.segment.isna() & tab.surface.isna() & tab.time.isna()]
    np.testing.assert_allclose(got["estimate"], whole["estimate"], rtol=1e-9)
    # segment rows: one family per metric × arm
    seg = tab[tab.segment.notna() & tab.surface.isna() & tab.time.isna()]
    for _, grp in seg.groupby("metric"):
        np.testing.assert_allclose(grp["p_value_adjusted"], _holm(grp["p_value"].to_numpy()))
    # Cochran's Q on the segment estimates
    grp = seg[seg.metric == "clicks/impressions"]
    q, dfree, p = cochran_q(grp["estimate"].to_numpy(), grp["std_error"].to_numpy())
    w = 1 / grp["std_error"].to_numpy() ** 2
    d = grp["estimate"].to_numpy()
    assert q == pytest.approx(np.sum(w * (d - np.sum(w * d) / w.sum()) ** 2))
    assert dfree == 2
    check = next(c for c in res.checks if c.name.startswith("segments differ: clicks"))
    assert check.statistic == pytest.approx(q) and check.p_value == pytest.approx(p)


def test_cluster_of_single_units_changes_nothing(data):
    ms = ["engagement", Ratio("clicks", "impressions")]
    a = experiment(data, arm="arm", unit="user", metrics=ms).tidy()
    b = experiment(
        data.assign(house=data.user), arm="arm", unit="user", metrics=ms, cluster="house"
    ).tidy()
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-10)
    np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-8)


def test_cluster_se_equals_direct_ratio_over_clusters(data):
    df = data.assign(house=data.user // 3, arm=np.where((data.user // 3) % 2 == 0, "control", "t1"))
    res = experiment(df, arm="arm", unit="user", metrics=["engagement"], cluster="house")
    row = res.tidy().iloc[0]
    parts = []
    for a in ("t1", "control"):
        g = df[df.arm == a].groupby("house").agg(y=("engagement", "sum"), n=("user", "size"))
        parts.append(ratio_direct(g.y.to_numpy(float), g.n.to_numpy(float)))
    assert row["estimate"] == pytest.approx(parts[0][0] - parts[1][0], rel=1e-10)
    assert row["std_error"] == pytest.approx(np.sqrt(parts[0][1] + parts[1][1]), rel=1e-9)


def test_decomposition_adds_up_and_matches_direct_delta_method(data):
    res = decompose_lift(data, arm="arm", unit="user", metric=["sessions", "engagement"])
    tab = res.tidy()
    total = tab[tab.component.isna()].iloc[0]
    pieces = tab[tab.component.notna()]
    assert pieces["estimate"].sum() == pytest.approx(total["estimate"], abs=1e-14)
    t, c = data[data.arm == "t1"], data[data.arm == "control"]
    assert total["estimate"] == pytest.approx(
        np.log(t.engagement.mean() / c.engagement.mean()), rel=1e-12
    )
    # direct delta method from unit-level arrays: gradients of each log piece w.r.t. (s̄, ē)
    var = np.zeros(2)
    var_total = 0.0
    for g in (t, c):
        s, e = g.sessions.mean(), g.engagement.mean()
        cov = np.cov(np.vstack([g.sessions, g.engagement]), ddof=1) / len(g)
        grads = np.array([[1 / s, 0.0], [-1 / s, 1 / e]])
        var += np.diag(grads @ cov @ grads.T)
        gt = np.array([0.0, 1 / e])
        var_total += gt @ cov @ gt
    np.testing.assert_allclose(pieces["std_error"], np.sqrt(var), rtol=1e-10)
    assert total["std_error"] == pytest.approx(np.sqrt(var_total), rel=1e-10)
    # a ratio metric: numerator movement + denominator movement = the ratio's log lift
    res = decompose_lift(data, arm="arm", unit="user", metric=Ratio("clicks", "impressions"))
    tab = res.tidy()
    total = tab[tab.component.isna()].iloc[0]
    exp = experiment(data, arm="arm", unit="user", metrics=[Ratio("clicks", "impressions")])
    assert total["estimate"] == pytest.approx(np.log1p(exp.tidy()["lift"].iloc[0]), rel=1e-12)
    assert tab.loc[tab.component.notna(), "estimate"].sum() == pytest.approx(
        total["estimate"], abs=1e-14
    )
    _, vt = ratio_direct(t.clicks.to_numpy(float), t.impressions.to_numpy(float))
    _, vc = ratio_direct(c.clicks.to_numpy(float), c.impressions.to_numpy(float))
    row = exp.tidy().iloc[0]
    se_log = np.sqrt(vt / row["treatment_mean"] ** 2 + vc / row["control_mean"] ** 2)
    assert total["std_error"] == pytest.approx(se_log, rel=1e-10)


def test_unit_moments_interface(data):
    """The engine moments other helpers read: user names, sums per arm, layout in attrs."""
    import ibis

    mom = unit_moments(
        ibis.memtable(data), arm="arm", unit="user", metrics=["clicks"], by=["segment"]
    )
    assert {"arm", "segment", "__at_n", "__at_sum_0", "__at_sum_0_0"} <= set(mom.columns)
    got = mom.set_index(["arm", "segment"])["__at_sum_0"].sort_index()
    want = data.groupby(["arm", "segment"])["clicks"].sum().astype(float).sort_index()
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy())


def test_joint_covariance_of_metrics(data):
    """Cross-metric covariance within an arm equals the unit-level covariance of the means."""
    res = experiment(data, arm="arm", unit="user", metrics=["engagement", "sessions"])
    v = res.vcov.to_numpy()
    cov = 0.0
    for a in ("t1", "control"):
        g = data[data.arm == a]
        cov += np.cov(g.engagement, g.sessions, ddof=1)[0, 1] / len(g)
    assert v[0, 1] == pytest.approx(cov, rel=1e-10)
    assert np.sqrt(v[0, 0]) == pytest.approx(res.tidy()["std_error"].iloc[0], rel=1e-12)


def test_multi_arm_and_srm():
    df = users(3_000, seed=2, arms=3)
    res = experiment(df, arm="arm", unit="user", metrics=["engagement"])
    assert list(res.tidy()["arm"]) == ["t1", "t2"]
    assert res.control == "control"
    srm = res.checks[0]
    counts = df.arm.value_counts().to_numpy()
    chi2 = stats.chisquare(counts).statistic
    assert srm.name == "SRM" and srm.statistic == pytest.approx(chi2)
    skewed = pd.concat([df, df[df.arm == "t1"].assign(user=lambda d: d.user + 10**6)])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        bad = experiment(skewed, arm="arm", unit="user", metrics=["engagement"])
    assert bad.checks[0].passed is False
    assert any("sample-ratio" in str(x.message) for x in w)
    with pytest.warns(AttributionWarning, match="sample-ratio mismatch"):
        planned = experiment(
            df,
            arm="arm",
            unit="user",
            metrics=["engagement"],
            allocation={"control": 0.5, "t1": 0.25, "t2": 0.25},
        )
    exp = np.array([0.5, 0.25, 0.25]) * len(df)
    obs = df.arm.value_counts().reindex(["control", "t1", "t2"]).to_numpy()
    assert planned.checks[0].statistic == pytest.approx(np.sum((obs - exp) ** 2 / exp))


def test_cumulative_moments_per_look(data):
    """Each look's moments are those of the rows up to it; `arm_estimates` reads them per look
    (what sequential monitoring consumes)."""
    import ibis

    from attribution.designs.experiment.delta import arm_estimates
    from attribution.designs.experiment.stats import LOOK, cumulative_moments

    days = data.assign(day=data.user % 3 + 1)
    metric = Ratio("clicks", "impressions")
    cum = cumulative_moments(
        ibis.memtable(days), arm="arm", unit="user", metrics=[metric], time="day"
    )
    assert sorted(cum[LOOK].unique()) == [1, 2, 3]
    mean, var = arm_estimates(cum, metric)
    for look in (1, 3):
        sub = days[days.day <= look]
        for a in ("control", "t1"):
            g = sub[sub.arm == a]
            r, v = ratio_direct(g.clicks.to_numpy(float), g.impressions.to_numpy(float))
            sel = ((cum[LOOK] == look) & (cum["arm"] == a)).to_numpy()
            assert mean[sel][0] == pytest.approx(r, rel=1e-12)
            assert var[sel][0] == pytest.approx(v, rel=1e-10)


def test_cumulative_moments_arm_column_called_look(data):
    """The look column is internal: an arm column named ``look`` keeps its values."""
    import ibis

    from attribution.designs.experiment.stats import LOOK, cumulative_moments

    days = data.assign(day=data.user % 3 + 1).rename(columns={"arm": "look"})
    cum = cumulative_moments(
        ibis.memtable(days), arm="look", unit="user", metrics=["clicks"], time="day"
    )
    assert set(cum["look"]) == set(days["look"])
    assert sorted(cum[LOOK].unique()) == [1, 2, 3]


def test_surface_pass_with_and_without_one_row_per_unit_and_surface(data):
    """Rows that are one per user × surface skip the per-unit aggregation of the surface pass;
    splitting a user's row on a surface in two (same totals) must give the same numbers through
    the aggregating path."""
    ms = [Ratio("clicks", "impressions"), "engagement"]
    wide = pd.concat([data.assign(surface="home"), data.assign(surface="search")])
    one = experiment(wide, arm="arm", unit="user", metrics=ms, surface="surface").tidy()
    half = wide.assign(
        clicks=wide.clicks / 2, impressions=wide.impressions / 2, engagement=wide.engagement / 2
    )
    two = experiment(
        pd.concat([half, half]), arm="arm", unit="user", metrics=ms, surface="surface"
    ).tidy()
    np.testing.assert_allclose(two["estimate"], one["estimate"], rtol=1e-10)
    np.testing.assert_allclose(two["std_error"], one["std_error"], rtol=1e-9)
    sub = experiment(data, arm="arm", unit="user", metrics=ms).tidy()
    got = one[one.surface == "search"]
    np.testing.assert_allclose(got["estimate"], sub["estimate"], rtol=1e-10)
    np.testing.assert_allclose(got["std_error"], sub["std_error"], rtol=1e-9)


def test_values_far_from_zero_keep_their_precision(data):
    """Σv² − n v̄² cancels when the mean dwarfs the spread; the moments are then taken again around
    the pooled mean (a shift), so a location of 1e7 leaves the difference and its SE intact."""
    ms = ["engagement", Mean("sessions", covariate="pre")]
    base = experiment(data, arm="arm", unit="user", metrics=ms).tidy()
    far = data.assign(engagement=data.engagement + 1e7, pre=data.pre + 1e7)
    got = experiment(far, arm="arm", unit="user", metrics=ms).tidy()
    np.testing.assert_allclose(got["estimate"], base["estimate"], rtol=1e-7)
    np.testing.assert_allclose(got["std_error"], base["std_error"], rtol=1e-7)


def test_screened_first_pass_equals_the_fully_checked_pass(data, monkeypatch):
    """Clean data skip the per-row check aggregates (one flagged-row count) and the unit-value
    ranges (cleared from the sums); forcing every check gives the same numbers exactly."""
    from attribution.designs.experiment import stats as st

    ms = [Ratio("clicks", "impressions"), "engagement", Mean("sessions", covariate="pre")]
    cleared = []
    real = st._ranges_clear
    monkeypatch.setattr(st, "_ranges_clear", lambda f, lay: cleared.append(real(f, lay)) or True)
    screened = experiment(data, arm="arm", unit="user", metrics=ms, segments="segment")
    assert cleared == [True]
    monkeypatch.setattr(st, "_ranges_clear", lambda f, lay: False)
    full = experiment(data, arm="arm", unit="user", metrics=ms, segments="segment")
    pd.testing.assert_frame_equal(screened.tidy(), full.tidy())
    pd.testing.assert_frame_equal(screened.vcov, full.vcov)
