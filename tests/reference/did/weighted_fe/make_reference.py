"""Regenerate weighted_fe.json: pyfixest 0.60 WEIGHTED TWFE / event-study / Sun & Abraham fits.

Run from the repository root in the main venv (pyfixest 0.60 is a dev dependency there):

    .venv/bin/python tests/reference/did/weighted_fe/make_reference.py

Data: `panel.weighted_panel(seed=7)` (also written to weighted_panel_seed7.csv). Every fit is
`pyfixest.feols(fml, data, weights=w, vcov={"CRV1": "unit"})` (default weights_type "aweights",
fixest's default small-sample correction), for w = `w_unit` (constant within unit) and `w_row`
(varying by row), plus the unweighted fit for contrast:

- `twfe`: y ~ D | unit + period;
- `event_study`: y ~ i(rel_time, ref=-1) | unit + period (never-treated units coded rel_time = −1,
  i.e. in the reference level), checked against explicit event-time dummies;
- `sun_abraham`: the saturated cohort × event-time regression (reference e = −1, never-treated
  units the control group), written with explicit dummies and checked against pyfixest's own
  saturated formula `i(rel_time, g, ref=-1, ref2=0)` (what `pf.event_study(estimator=
  "saturated")` runs; that helper takes no weights, so it cannot be called with them). The
  interaction-weighted (IW) aggregation ν_e = Σ_g s_ge β_ge with SE from S V Sᵀ is computed here
  with two choices of cohort shares s_ge: row counts (`shares="rows"`, pyfixest's
  `compute_period_weights` / the unweighted convention) and sums of the regression weights
  (`shares="weights"`).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "weighted_fe.json"
CSV = HERE / "weighted_panel_seed7.csv"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _fit(pf, fml: str, data: pd.DataFrame, weights: str | None) -> dict:
    m = pf.feols(fml, data=data, weights=weights, vcov={"CRV1": "unit"})
    t = m.tidy()
    return {
        "call": f"pyfixest.feols({fml!r}, data, weights={weights!r}, vcov={{'CRV1': 'unit'}})",
        "terms": [str(i) for i in t.index],
        "estimate": t["Estimate"].tolist(),
        "std_error": t["Std. Error"].tolist(),
        "conf_low": t["2.5%"].tolist(),
        "conf_high": t["97.5%"].tolist(),
        "vcov": np.asarray(m._vcov).tolist(),
        "n_obs": int(m._N),
        "n_clusters": int(data["unit"].nunique()),
    }


def _event_dummies(df: pd.DataFrame) -> tuple[pd.DataFrame, list[int], list[str]]:
    df = df.copy()
    times = sorted(set(df.loc[df["g"] > 0, "rel_time"].astype(int)) - {-1})
    cols = []
    for e in times:
        name = f"ev_m{-e}" if e < 0 else f"ev_p{e}"
        df[name] = ((df["g"] > 0) & (df["rel_time"] == e)).astype(float)
        cols.append(name)
    return df, times, cols


def _sunab(pf, df: pd.DataFrame, weights: str | None) -> dict:
    df = df.copy()
    treated = df["g"] > 0
    cells, cols = [], []
    for c in sorted(df.loc[treated, "g"].unique()):
        in_c = df["g"] == c
        for e in sorted(set(df.loc[in_c, "rel_time"].astype(int)) - {-1}):
            mask = in_c & (df["rel_time"] == e)
            name = f"c{int(c)}_{'m' if e < 0 else 'p'}{abs(e)}"
            df[name] = mask.astype(float)
            w_sum = float(df.loc[mask, weights].sum()) if weights else float(mask.sum())
            cells.append(
                {"cohort": int(c), "event_time": e, "rows": int(mask.sum()), "w_sum": w_sum}
            )
            cols.append(name)
    fit = _fit(pf, f"y ~ {'+'.join(cols)} | unit + period", df, weights)
    b, v = np.array(fit["estimate"]), np.array(fit["vcov"])
    es = sorted({c["event_time"] for c in cells})
    agg = {}
    for shares in ("rows", "weights"):
        S = np.zeros((len(es), len(cells)))
        for i, e in enumerate(es):
            idx = [j for j, c in enumerate(cells) if c["event_time"] == e]
            n = np.array([cells[j]["rows" if shares == "rows" else "w_sum"] for j in idx], float)
            S[i, idx] = n / n.sum()
        agg[shares] = {
            "event_times": es,
            "estimate": (S @ b).tolist(),
            "std_error": np.sqrt(np.diag(S @ v @ S.T)).tolist(),
        }
    # pyfixest's own saturated formula (the regression behind event_study(estimator="saturated"))
    native = df.copy()
    native["rel_time"] = np.where(native["g"] > 0, native["rel_time"], np.inf)
    m = pf.feols(
        "y ~ i(rel_time, g, ref=-1, ref2=0) | unit + period",
        data=native,
        weights=weights,
        vcov={"CRV1": "unit"},
    )
    nat = m.tidy()
    parsed = nat.index.str.extract(r".+::(?P<e>[-0-9.]+):.+::(?P<g>[0-9.]+)$")
    lookup = {
        (int(float(g)), int(float(e))): (est, se)
        for (e, g), est, se in zip(
            parsed.itertuples(index=False), nat["Estimate"], nat["Std. Error"], strict=True
        )
    }
    diffs = [
        max(
            abs(lookup[(c["cohort"], c["event_time"])][0] - b[j]),
            abs(lookup[(c["cohort"], c["event_time"])][1] - fit["std_error"][j]),
        )
        for j, c in enumerate(cells)
    ]
    return {
        **fit,
        "cells": cells,
        "iw_aggregation": agg,
        "native_formula_max_abs_difference": float(max(diffs)),
        "native_formula_n_terms": len(nat),
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    import pyfixest as pf

    panel = _load("panel")
    df = panel.weighted_panel(seed=7)
    df.to_csv(CSV, index=False)
    out: dict = {
        "package": "pyfixest",
        "versions": {p: md.version(p) for p in ("pyfixest", "numpy", "pandas", "scipy")}
        | {"python": platform.python_version()},
        "data": {
            "source": "panel.weighted_panel(seed=7) == weighted_panel_seed7.csv",
            "n_rows": len(df),
            "column_sums": {c: float(df[c].sum()) for c in df.columns},
        },
        "fits": {},
    }
    ev, times, cols = _event_dummies(df)
    for w in ("w_unit", "w_row", None):
        key = w or "unweighted"
        res: dict = {"twfe": _fit(pf, "y ~ D | unit + period", df, w)}
        es = _fit(pf, "y ~ i(rel_time, ref=-1) | unit + period", df, w)
        explicit = _fit(pf, f"y ~ {'+'.join(cols)} | unit + period", ev, w)
        es["event_times"] = times
        es["explicit_dummies_max_abs_difference"] = float(
            max(
                np.abs(np.subtract(es["estimate"], explicit["estimate"])).max(),
                np.abs(np.subtract(es["std_error"], explicit["std_error"])).max(),
            )
        )
        res["event_study"] = es
        res["sun_abraham"] = _sunab(pf, df, w)
        out["fits"][key] = res
    OUT.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
