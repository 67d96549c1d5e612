"""TWFE, TWFE event study and Sun & Abraham against pyfixest 0.60 on the same panel.

Default: 50,000 units × 10 periods (500k rows), never-treated + 4 cohorts, clustered by unit.
Set ATTRIBUTION_BENCH_TWFE_UNITS to change the size. Each line reports wall time, peak memory and
the largest absolute difference from pyfixest's coefficients.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from benchmarks.harness import measure, report_line


def make_panel(n_units: int, n_periods: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g_units = rng.choice(np.array([0, 4, 6, 8, 10]), size=n_units)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    g = np.repeat(g_units, n_periods)
    e = np.where(g > 0, period - g, -1)
    y = (
        np.repeat(rng.normal(size=n_units), n_periods)
        + 0.1 * period
        + np.where(e >= 0, 1 + 0.2 * e, 0.0)
        + rng.normal(size=len(unit))
    )
    d = ((g > 0) & (period >= g)).astype(np.int64)
    return pd.DataFrame({"unit": unit, "period": period, "g": g, "D": d, "y": y})


def _dummies(df: pd.DataFrame, *, saturated: bool) -> tuple[pd.DataFrame, list[str]]:
    rel = np.where(df.g > 0, df.period - df.g, np.nan)
    cols: dict[str, np.ndarray] = {}
    cohorts = sorted(set(df.g[df.g > 0])) if saturated else [None]
    for c in cohorts:
        mask = np.ones(len(df), bool) if c is None else (df.g == c).to_numpy()
        for e in sorted({int(v) for v in rel[mask & ~np.isnan(rel)]} - {-1}):
            name = ("" if c is None else f"c{c}_") + (f"m{-e}" if e < 0 else f"p{e}")
            cols[name] = (mask & (rel == e)).astype(float)
    return pd.concat([df, pd.DataFrame(cols, index=df.index)], axis=1), list(cols)


def _ours_twfe(df):
    from attribution.designs.did import twfe

    return (
        twfe(df, yname="y", tname="period", idname="unit", treatment="D")
        .tidy()["estimate"]
        .to_numpy()
    )


def _ours_es(df):
    from attribution.designs.did import event_study

    return (
        event_study(df, yname="y", tname="period", idname="unit", gname="g")
        .tidy()["estimate"]
        .to_numpy()
    )


def _ours_sa(df):
    from attribution.designs.did import sun_abraham

    return (
        sun_abraham(df, yname="y", tname="period", idname="unit", gname="g")
        .cohort_effects["estimate"]
        .to_numpy()
    )


def _pf(df, fml):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=df, vcov={"CRV1": "unit"}).coef().to_numpy()


def main() -> None:
    n_units = int(os.environ.get("ATTRIBUTION_BENCH_TWFE_UNITS", "50000"))
    df = make_panel(n_units)
    print(f"  panel: {n_units:,} units × 10 periods = {len(df):,} rows")
    es_df, es_cols = _dummies(df, saturated=False)
    sa_df, sa_cols = _dummies(df, saturated=True)
    cases = [
        ("twfe", _ours_twfe, (df,), "y ~ D | unit + period", df),
        ("event study", _ours_es, (df,), f"y ~ {'+'.join(es_cols)} | unit + period", es_df),
        ("sun & abraham", _ours_sa, (df,), f"y ~ {'+'.join(sa_cols)} | unit + period", sa_df),
    ]
    for name, ours, args, fml, pf_df in cases:
        peer = measure(f"pyfixest {name}", _pf, pf_df, fml)
        mine = measure(f"attribution {name}", ours, *args)
        diff = float(np.max(np.abs(np.asarray(mine.value) - np.asarray(peer.value))))
        print(report_line(peer))
        print(report_line(mine, peer=peer, goal=f"max |Δ coef| = {diff:.1e}"))


if __name__ == "__main__":
    main()
