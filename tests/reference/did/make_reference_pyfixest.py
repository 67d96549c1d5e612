"""Regenerate the pyfixest reference numbers for twfe / event_study / sun_abraham / did_2x2.

Run from the repository root in the main venv (pyfixest 0.60 is a dev dependency there):

    .venv/bin/python tests/reference/did/make_reference_pyfixest.py

Every regression is written with explicit dummy columns and fit by ``pyfixest.feols(...,
vcov={"CRV1": cluster})`` (fixest's default small-sample correction), so the numbers do not depend on
pyfixest's event-study helpers. Writes pyfixest_mpdta.json, pyfixest_sim.json, pyfixest_ehec.json.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _fit(pf, fml: str, data: pd.DataFrame, cluster: str) -> dict:
    m = pf.feols(fml, data=data, vcov={"CRV1": cluster})
    t = m.tidy()
    return {
        "terms": [str(i) for i in t.index],
        "estimate": t["Estimate"].tolist(),
        "std_error": t["Std. Error"].tolist(),
        "conf_low": t["2.5%"].tolist(),
        "conf_high": t["97.5%"].tolist(),
        "vcov": np.asarray(m._vcov).tolist(),
        "n_obs": int(m._N),
    }


def _event_dummies(df: pd.DataFrame, tname: str, gname: str, ref: int) -> tuple[pd.DataFrame, list]:
    df = df.copy()
    rel = np.where(df[gname] > 0, df[tname] - df[gname], np.nan)
    times = sorted({int(e) for e in rel[~np.isnan(rel)]} - {ref})
    cols = []
    for e in times:
        name = f"ev_m{-e}" if e < 0 else f"ev_p{e}"
        df[name] = (rel == e).astype(float)
        cols.append(name)
    return df, [times, cols]


def _sunab(pf, df: pd.DataFrame, yname, tname, idname, gname, cluster) -> dict:
    """Saturated cohort × event-time regression and the IW aggregation with cohort-share weights."""
    df = df.copy()
    g = df[gname].to_numpy()
    rel = np.where(g > 0, df[tname] - g, np.nan)
    cells, cols = [], []
    for c in sorted(set(g[g > 0])):
        for e in sorted({int(v) for v in rel[g == c]} - {-1}):
            name = f"c{int(c)}_{'m' if e < 0 else 'p'}{abs(e)}"
            df[name] = ((g == c) & (rel == e)).astype(float)
            cells.append((int(c), e, int(((g == c) & (rel == e)).sum())))
            cols.append(name)
    fit = _fit(pf, f"{yname} ~ {'+'.join(cols)} | {idname} + {tname}", df, cluster)
    es = sorted({e for _, e, _ in cells})
    w = np.zeros((len(es), len(cells)))
    for i, e in enumerate(es):
        idx = [j for j, (_, ee, _) in enumerate(cells) if ee == e]
        n = np.array([cells[j][2] for j in idx], float)
        w[i, idx] = n / n.sum()
    b, v = np.array(fit["estimate"]), np.array(fit["vcov"])
    return {
        "cells": cells,
        "cohort_estimate": fit["estimate"],
        "cohort_std_error": fit["std_error"],
        "event_times": es,
        "estimate": (w @ b).tolist(),
        "std_error": np.sqrt(np.diag(w @ v @ w.T)).tolist(),
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    import pyfixest as pf

    mp = _load("mpdta").load_mpdta()
    panels = _load("pyfixest_panels")
    out_version = {"pyfixest": pf.__version__ if hasattr(pf, "__version__") else "0.60.0"}

    # --- mpdta -----------------------------------------------------------------------------
    mp["D"] = ((mp.first_treat > 0) & (mp.year >= mp.first_treat)).astype(int)
    res = {"source": "mpdta (moderndid 0.2.0 wheel)", **out_version}
    res["twfe"] = _fit(pf, "lemp ~ D | countyreal + year", mp, "countyreal")
    d, (times, cols) = _event_dummies(mp, "year", "first_treat", -1)
    res["event_study"] = {
        "event_times": times,
        **_fit(pf, f"lemp ~ {'+'.join(cols)} | countyreal + year", d, "countyreal"),
    }
    d, (times, cols) = _event_dummies(mp, "year", "first_treat", -2)
    res["event_study_ref_m2"] = {
        "event_times": times,
        **_fit(pf, f"lemp ~ {'+'.join(cols)} | countyreal + year", d, "countyreal"),
    }
    res["sun_abraham"] = _sunab(pf, mp, "lemp", "year", "countyreal", "first_treat", "countyreal")
    two = mp[mp.first_treat.isin([0, 2007]) & mp.year.isin([2006, 2007])].copy()
    two["G"] = (two.first_treat == 2007).astype(int)
    two["P"] = (two.year == 2007).astype(int)
    two["GP"] = two.G * two.P
    res["did_2x2_panel"] = _fit(pf, "lemp ~ GP | countyreal + P", two, "countyreal")
    res["did_2x2_rcs"] = _fit(pf, "lemp ~ GP | G + P", two, "countyreal")
    (HERE / "pyfixest_mpdta.json").write_text(json.dumps(res, indent=1))

    # --- simulated unbalanced panel with a covariate, clustered by market ------------------
    sim = panels.staggered_panel(seed=11, unbalanced=True, covariate=True)
    res = {"source": "pyfixest_panels.staggered_panel(seed=11, unbalanced=True, covariate=True)"}
    res.update(out_version)
    res["twfe_market"] = _fit(pf, "y ~ D + x | unit + period", sim, "market")
    res["twfe_unit"] = _fit(pf, "y ~ D | unit + period", sim, "unit")
    d, (times, cols) = _event_dummies(sim, "period", "g", -1)
    res["event_study_market"] = {
        "event_times": times,
        **_fit(pf, f"y ~ {'+'.join(cols)} | unit + period", d, "market"),
    }
    res["sun_abraham_market"] = _sunab(pf, sim, "y", "period", "unit", "g", "market")
    (HERE / "pyfixest_sim.json").write_text(json.dumps(res, indent=1))

    # --- ehec (HonestDiD README's Medicaid example) ----------------------------------------
    eh = panels.load_ehec_nonstaggered()
    d, (times, cols) = _event_dummies(eh, "year", "g", -1)
    res = {"source": "ehec_data (moderndid 0.2.0 wheel), HonestDiD README sample", **out_version}
    res["event_study"] = {
        "event_times": times,
        **_fit(pf, f"dins ~ {'+'.join(cols)} | stfips + year", d, "stfips"),
    }
    (HERE / "pyfixest_ehec.json").write_text(json.dumps(res, indent=1))
    print("wrote pyfixest_mpdta.json, pyfixest_sim.json, pyfixest_ehec.json")


if __name__ == "__main__":
    main()
