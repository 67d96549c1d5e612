"""Generate tests/reference/did/drdid_reference.json: DRDID estimators from moderndid 0.2.0.

Run in the reference venv (moderndid needs scipy >= 1.16, which the main venv cannot have)::

    make peers && .venv-peers/bin/python tests/reference/did/make_reference_drdid.py

For each case the script builds the arrays (seeded simulations below, or 2x2 slices of mpdta),
calls moderndid's port of the R DRDID estimator with ``influence_func=True`` and stores the ATT, the
analytic SE and a fingerprint of the influence function. The main test suite rebuilds the same
arrays with the functions here (importing this file does not import moderndid) and compares.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "drdid_reference.json"
HEAD = 20  # leading influence-function entries stored verbatim


# ---------------------------------------------------------------------------------------------
# Data (shared with the tests)
# ---------------------------------------------------------------------------------------------


def simulate_panel(
    seed: int, n: int, *, weighted: bool = False, strength: float = 1.0, force_controls: int = 0
) -> dict[str, np.ndarray]:
    """Two-period panel with confounding: covariates drive both treatment and the outcome trend.

    ``force_controls`` sets d = 0 for that many units with the highest true propensity score, so
    some comparison units get an estimated score above DRDID's trimming level.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    index = strength * (-z[:, 0] + 0.5 * z[:, 1] - 0.25 * z[:, 2] - 0.1 * z[:, 3])
    d = (rng.random(n) < 1.0 / (1.0 + np.exp(-index))).astype(float)
    if force_controls:
        d[np.argsort(-index)[:force_controls]] = 0.0
    level = 210.0 + 27.4 * z[:, 0] + 13.7 * (z[:, 1] + z[:, 2] + z[:, 3])
    unit = rng.normal(size=n) + 0.5 * d
    y0 = level + unit + rng.normal(size=n)
    trend = 1.0 + 2.0 * z[:, 0] - 1.0 * z[:, 1] + 0.5 * z[:, 2]
    y1 = y0 + trend + 2.0 * d + rng.normal(size=n)
    x = np.column_stack([np.ones(n), z])
    w = rng.uniform(0.5, 1.5, size=n) if weighted else None
    return {"y1": y1, "y0": y0, "d": d, "x": x, "w": w}


def simulate_rc(seed: int, n: int, *, weighted: bool = False) -> dict[str, np.ndarray]:
    """Repeated cross-sections: each observation is a distinct unit seen in one period only."""
    p = simulate_panel(seed, n, weighted=weighted)
    rng = np.random.default_rng(seed + 10_000)
    post = (rng.random(n) < 0.5).astype(float)
    y = np.where(post == 1, p["y1"], p["y0"])
    return {"y": y, "post": post, "d": p["d"], "x": p["x"], "w": p["w"]}


def mpdta_frame() -> pd.DataFrame:
    spec = importlib.util.find_spec("moderndid")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("moderndid (the mpdta data carrier) is not installed")
    path = Path(spec.submodule_search_locations[0]) / "core" / "datasets" / "mpdta_long.pkl.gz"
    return pd.read_pickle(path).rename(columns={"first.treat": "first_treat"})


def mpdta_panel(group: int, pre: int, post: int) -> dict[str, np.ndarray]:
    """2x2 slice of mpdta: cohort `group` vs never-treated, periods pre -> post, x = (1, lpop)."""
    df = mpdta_frame()
    df = df[df["first_treat"].isin([group, 0])]
    wide = df.pivot(index="countyreal", columns="year", values="lemp")
    first = df.groupby("countyreal")[["first_treat", "lpop"]].first().loc[wide.index]
    d = (first["first_treat"].to_numpy() == group).astype(float)
    x = np.column_stack([np.ones(len(d)), first["lpop"].to_numpy()])
    return {
        "y1": wide[post].to_numpy(float),
        "y0": wide[pre].to_numpy(float),
        "d": d,
        "x": x,
        "w": None,
    }


def mpdta_rc(group: int, pre: int, post: int) -> dict[str, np.ndarray]:
    """The same slice stacked as two cross-sections (what R `did` does for unbalanced panels)."""
    df = mpdta_frame()
    df = df[df["first_treat"].isin([group, 0]) & df["year"].isin([pre, post])]
    df = df.sort_values(["year", "countyreal"])
    n = len(df)
    return {
        "y": df["lemp"].to_numpy(float),
        "post": (df["year"].to_numpy() == post).astype(float),
        "d": (df["first_treat"].to_numpy() == group).astype(float),
        "x": np.column_stack([np.ones(n), df["lpop"].to_numpy(float)]),
        "w": None,
    }


CASES: list[dict] = [
    {"name": "sim_panel_s1", "kind": "panel", "data": ["simulate_panel", [1, 600], {}]},
    {
        "name": "sim_panel_s2_weighted",
        "kind": "panel",
        "data": ["simulate_panel", [2, 600], {"weighted": True}],
    },
    {
        "name": "sim_panel_s3_trimmed",
        "kind": "panel",
        "data": ["simulate_panel", [3, 800], {"strength": 2.5, "force_controls": 4}],
    },
    {
        "name": "sim_panel_s4_intercept_only",
        "kind": "panel",
        "data": ["simulate_panel", [4, 400], {}],
        "intercept_only": True,
    },
    {
        "name": "mpdta_g2004_2003_2004",
        "kind": "panel",
        "data": ["mpdta_panel", [2004, 2003, 2004], {}],
    },
    {
        "name": "mpdta_g2006_2005_2006",
        "kind": "panel",
        "data": ["mpdta_panel", [2006, 2005, 2006], {}],
    },
    {
        "name": "mpdta_g2007_2004_2005",
        "kind": "panel",
        "data": ["mpdta_panel", [2007, 2004, 2005], {}],
    },
    {"name": "sim_rc_s5", "kind": "rc", "data": ["simulate_rc", [5, 800], {}]},
    {
        "name": "sim_rc_s6_weighted",
        "kind": "rc",
        "data": ["simulate_rc", [6, 800], {"weighted": True}],
    },
    {
        "name": "mpdta_rc_g2004_2003_2004",
        "kind": "rc",
        "data": ["mpdta_rc", [2004, 2003, 2004], {}],
    },
]
METHODS = ("dr", "ipw", "reg")


def case_arrays(case: dict) -> dict[str, np.ndarray]:
    """Rebuild the arrays of a case (used by this script and by the tests)."""
    fn_name, args, kwargs = case["data"]
    arrays = globals()[fn_name](*args, **kwargs)
    if case.get("intercept_only"):
        arrays["x"] = arrays["x"][:, :1]
    return arrays


def fingerprint(arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """Sums of every array, to detect a change in the generated data between environments."""
    return {k: float(np.sum(v)) for k, v in arrays.items() if v is not None}


def inf_summary(inf: np.ndarray) -> dict:
    n = inf.size
    probe = np.sin(np.arange(n) + 1.0)
    return {
        "n": int(n),
        "head": [float(v) for v in inf[:HEAD]],
        "sum_sq": float(np.sum(inf**2)),
        "dot_sin": float(probe @ inf),
        "mean": float(np.mean(inf)),
    }


# ---------------------------------------------------------------------------------------------
# Reference run (moderndid)
# ---------------------------------------------------------------------------------------------


def _run_moderndid(case: dict, method: str, arrays: dict[str, np.ndarray]) -> dict:
    from moderndid.drdid.estimators.drdid_panel import drdid_panel
    from moderndid.drdid.estimators.drdid_rc import drdid_rc
    from moderndid.drdid.estimators.reg_did_panel import reg_did_panel
    from moderndid.drdid.estimators.reg_did_rc import reg_did_rc
    from moderndid.drdid.estimators.std_ipw_did_panel import std_ipw_did_panel
    from moderndid.drdid.estimators.std_ipw_did_rc import std_ipw_did_rc

    a = {k: (None if v is None else np.array(v, dtype=float, copy=True)) for k, v in arrays.items()}
    if case["kind"] == "panel":
        fn = {"dr": drdid_panel, "ipw": std_ipw_did_panel, "reg": reg_did_panel}[method]
        res = fn(a["y1"], a["y0"], a["d"], a["x"], i_weights=a["w"], influence_func=True)
    else:
        fn = {"dr": drdid_rc, "ipw": std_ipw_did_rc, "reg": reg_did_rc}[method]
        res = fn(a["y"], a["post"], a["d"], a["x"], i_weights=a["w"], influence_func=True)
    return {
        "att": float(res.att),
        "se": float(res.se),
        "inf": inf_summary(np.asarray(res.att_inf_func)),
    }


def _trimmed_controls(arrays: dict[str, np.ndarray]) -> int:
    """Comparison units whose estimated score is >= 0.995 (statsmodels GLM, as moderndid)."""
    import statsmodels.api as sm

    w = arrays["w"] if arrays["w"] is not None else np.ones(arrays["d"].size)
    fit = sm.GLM(arrays["d"], arrays["x"], family=sm.families.Binomial(), freq_weights=w).fit()
    ps = np.clip(fit.predict(arrays["x"]), 1e-6, 1 - 1e-6)
    return int(np.sum((arrays["d"] == 0) & (ps >= 0.995)))


def main() -> None:
    import moderndid
    import scipy
    import statsmodels

    results = []
    for case in CASES:
        arrays = case_arrays(case)
        entry = {k: v for k, v in case.items()}
        entry["fingerprint"] = fingerprint(arrays)
        entry["trimmed_controls"] = _trimmed_controls(arrays)
        entry["methods"] = {m: _run_moderndid(case, m, arrays) for m in METHODS}
        results.append(entry)
        print(case["name"], {m: round(r["att"], 6) for m, r in entry["methods"].items()})
    payload = {
        "generated_by": "tests/reference/did/make_reference_drdid.py",
        "reference": "moderndid 0.2.0 (Python port of R DRDID: drdid_panel, std_ipw_did_panel, "
        "reg_did_panel, drdid_rc, std_ipw_did_rc, reg_did_rc)",
        "versions": {
            "python": platform.python_version(),
            "moderndid": moderndid.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
            "pandas": pd.__version__,
        },
        "se_formula": "sd(inf, ddof=1) * sqrt(n - 1) / n",
        "cases": results,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
