"""Regenerate basque_pysyncon.json: pysyncon 1.7.0 on R Synth's Basque Country example.

Run from the repository root in the main venv (pysyncon is a dev dependency there):

    .venv/bin/python tests/reference/synth/basque/make_reference.py --basque-csv PATH

PATH is R Synth's `basque` data frame as CSV (774 rows: 18 regions × 1955–1997, columns
regionno, regionname, year, gdpcap, sec.*, school.*, popdens, invest). No package on a registry
reachable from this project ships it (README.md), so it is not committed; the script checks the
file's SHA-256 against the copy the JSON was made from. The JSON carries pysyncon's predictor and
outcome matrices (X0, X1, Z0, Z1), so tests need only the JSON.

For three specifications (R's `?synth` example; pysyncon's example, which adds Spain to the donor
pool; and ADH 2011 JSS's variant, which merges school.post.high into school.high and rescales the
schooling shares to percent) it records pysyncon's `Synth.fit` for the four outer-optimiser
settings R's `synth()` tries (Nelder–Mead and BFGS from equal and regression-based starting V;
R keeps the best), and, for fixed V (`custom_V`), pysyncon's W next to the exact solution of that
simplex QP (active-set KKT solve, derived here), which is what a parity test should compare with.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "basque_pysyncon.json"
DATA_SHA256 = "7f7f90d7a01984a33a2ea3efc311ce826c05b61234a52c27445adacc6f52bf70"

TREATED = 17  # Basque Country (Pais Vasco)
SPAIN = 1  # the national aggregate
PREDICTORS = [
    "school.illit",
    "school.prim",
    "school.med",
    "school.high",
    "school.post.high",
    "invest",
]
SECTORS = [
    "sec.agriculture",
    "sec.energy",
    "sec.industry",
    "sec.construction",
    "sec.services.venta",
    "sec.services.nonventa",
]
SPECIAL = (
    [("gdpcap", list(range(1960, 1970)), "mean")]
    + [(s, list(range(1961, 1970, 2)), "mean") for s in SECTORS]
    + [("popdens", [1969], "mean")]
)
PRE_PREDICTORS = list(range(1964, 1970))
OPTIMIZE_SSR = list(range(1960, 1970))
EDUCATION = ["school.illit", "school.prim", "school.med", "school.high"]

# V of pysyncon's own test of its Basque example (Spain among the donors), column "V" of the
# expected summary in tests/test_synth_basque.py, github.com/sdfordham/pysyncon commit 34350ca5,
# typed in by hand (9 decimals as published there).
PYSYNCON_TEST_V = [
    7.26559110e-02,
    1.19777358e-01,
    3.48611100e-03,
    1.02189247e-01,
    1.08267860e-02,
    5.32110000e-05,
    1.17260969e-01,
    6.33926060e-02,
    1.55350772e-01,
    9.58688000e-02,
    5.30811070e-02,
    1.63475200e-03,
    2.37097130e-02,
    1.80712657e-01,
]


# ---------------------------------------------------------------------------------------------
# Exact inner problem (derived here, not pysyncon): min_w ½ wᵀPw − qᵀw on the simplex
# ---------------------------------------------------------------------------------------------


def simplex_qp(P: np.ndarray, q: np.ndarray, start: np.ndarray, tol: float = 1e-12) -> dict:
    """Primal active-set method from the support of `start`; returns w, multipliers, uniqueness.

    KKT: P w − q + μ·1 − ν = 0, ν ≥ 0, ν_i w_i = 0, Σw = 1, w ≥ 0. The solution is unique when the
    KKT system on the support is non-singular and every off-support ν_i is strictly positive (and
    P is positive definite on the support's affine hull, checked through the reduced Hessian).
    """
    n = len(q)
    support = [i for i in range(n) if start[i] > 1e-6] or [int(np.argmax(start))]
    for _ in range(10 * n):
        S = np.array(sorted(support))
        k = len(S)
        K = np.zeros((k + 1, k + 1))
        K[:k, :k] = P[np.ix_(S, S)]
        K[:k, k] = 1.0
        K[k, :k] = 1.0
        sol = np.linalg.lstsq(K, np.r_[q[S], 1.0], rcond=None)[0]
        wS, mu = sol[:k], sol[k]
        if np.any(wS < -tol):  # step back to feasibility: drop the most negative weight
            support.remove(int(S[int(np.argmin(wS))]))
            continue
        w = np.zeros(n)
        w[S] = np.clip(wS, 0.0, None)
        w /= w.sum()
        nu = P @ w - q + mu
        off = [i for i in range(n) if i not in support]
        if off and nu[off].min() < -tol * max(1.0, np.abs(q).max()):
            support.append(int(off[int(np.argmin(nu[off]))]))
            continue
        # reduced Hessian on {d : Σ d_S = 0} positive definite ⇒ w unique
        if k > 1:
            Z = np.eye(k)[:, 1:] - np.eye(k)[:, [0]]
            red = Z.T @ P[np.ix_(S, S)] @ Z
            pd_reduced = bool(np.linalg.eigvalsh(red).min() > 1e-10 * max(1.0, np.abs(P).max()))
        else:
            pd_reduced = True
        strict = bool(not off or nu[off].min() > 1e-9 * max(1.0, np.abs(q).max()))
        return {
            "w": w,
            "mu": float(mu),
            "nu_min_off_support": float(nu[off].min()) if off else None,
            "kkt_residual_on_support": float(np.abs((P @ w - q + mu)[S]).max()),
            "unique": bool(pd_reduced and strict),
        }
    raise RuntimeError("active set did not converge")


# ---------------------------------------------------------------------------------------------
# pysyncon
# ---------------------------------------------------------------------------------------------


def load(path: Path) -> pd.DataFrame:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != DATA_SHA256:
        raise SystemExit(f"{path}: sha256 {digest} is not the recorded {DATA_SHA256}")
    return pd.read_csv(path)


def missing_values(df: pd.DataFrame) -> dict:
    """Years with data for each variable: the 17 regions, and Spain (the aggregate) separately."""
    out = {}
    for col in [c for c in df.columns if c not in ("regionno", "regionname", "year")]:
        regions = df[df["regionno"] != SPAIN]
        years = sorted(int(y) for y, g in regions.groupby("year") if g[col].notna().all())
        partial = sorted(
            int(y) for y, g in regions.groupby("year") if 0 < g[col].notna().sum() < len(g)
        )
        spain = df[(df["regionno"] == SPAIN) & df[col].notna()]["year"].astype(int).tolist()
        out[col] = {"regions_2_18_years": years, "partial_years": partial, "spain_years": spain}
    return out


def matrices(df: pd.DataFrame, controls: list[int], jss: bool):
    from pysyncon import Dataprep

    names = df.drop_duplicates("regionno").set_index("regionno")["regionname"]
    dp = Dataprep(
        foo=df,
        predictors=PREDICTORS,
        predictors_op="mean",
        time_predictors_prior=PRE_PREDICTORS,
        special_predictors=[(v, t, op) for v, t, op in SPECIAL],
        dependent="gdpcap",
        unit_variable="regionname",
        time_variable="year",
        treatment_identifier=names[TREATED],
        controls_identifier=[names[c] for c in controls],
        time_optimize_ssr=OPTIMIZE_SSR,
    )
    X0, X1 = dp.make_covariate_mats()
    Z0, Z1 = dp.make_outcome_mats()
    if jss:  # ADH (2011, JSS) / Abadie & Gardeazabal (2003): 4 schooling levels, in percent

        def merge(X: pd.DataFrame) -> pd.DataFrame:
            X = X.copy()
            X.loc["school.high"] = X.loc["school.high"] + X.loc["school.post.high"]
            X = X.drop(index="school.post.high")
            X.loc[EDUCATION] = 100 * X.loc[EDUCATION] / X.loc[EDUCATION].sum()
            return X

        X0 = merge(X0)
        X1 = merge(X1.to_frame())[X1.name]
    return X0, X1, Z0, Z1


def scaled(X0: pd.DataFrame, X1: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pysyncon's (and R synth()'s) scaling: each predictor row / its sd (ddof 1) over all units."""
    X = pd.concat([X0, X1], axis=1)
    sd = X.std(axis=1)
    Xs = X.divide(sd, axis=0)
    return Xs.drop(columns=X1.name).to_numpy(), Xs[X1.name].to_numpy(), sd.to_numpy()


def fit_record(X0, X1, Z0, Z1, W, V) -> dict:
    X0s, X1s, _ = scaled(X0, X1)
    Vn = np.asarray(V, float) / np.sum(V)
    r = X1s - X0s @ W
    z = Z1.to_numpy() - Z0.to_numpy() @ W
    return {
        "weights": {str(u): float(w) for u, w in zip(Z0.columns, W, strict=True)},
        "v": {str(p): float(v) for p, v in zip(X0.index, Vn, strict=True)},
        "loss_v": float(z @ z / len(z)),
        "loss_w": float(r @ np.diag(Vn) @ r),
        "synthetic_predictors": {
            str(p): float(v) for p, v in zip(X0.index, X0.to_numpy() @ W, strict=True)
        },
    }


def spec_block(df: pd.DataFrame, controls: list[int], jss: bool, description: str) -> dict:
    from pysyncon import Synth

    X0, X1, Z0, Z1 = matrices(df, controls, jss)
    X0s, X1s, sd = scaled(X0, X1)
    block: dict = {
        "description": description,
        "controls": [str(c) for c in Z0.columns],
        "predictors": [str(p) for p in X0.index],
        "X1": {str(p): float(v) for p, v in X1.items()},
        "X0": {str(u): {str(p): float(v) for p, v in X0[u].items()} for u in X0.columns},
        "Z1": {str(int(t)): float(v) for t, v in Z1.items()},
        "Z0": {str(u): {str(int(t)): float(v) for t, v in Z0[u].items()} for u in Z0.columns},
        "predictor_sd": {str(p): float(s) for p, s in zip(X0.index, sd, strict=True)},
        "predictor_sample_mean": {str(p): float(v) for p, v in X0.mean(axis=1).items()},
        "fits": {},
        "custom_v": {},
    }
    # pysyncon's outer optimiser, the four settings R synth() tries
    for method in ("Nelder-Mead", "BFGS"):
        for start in ("equal", "ols"):
            key = f"{method.lower().replace('-', '_')}_{start}"
            s = Synth()
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s.fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, optim_method=method, optim_initial=start)
            rec = fit_record(X0, X1, Z0, Z1, s.W, s.V)
            rec["pysyncon_loss_v"] = float(s.loss_V)
            rec["call"] = (
                f"Synth().fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, optim_method={method!r}, "
                f"optim_initial={start!r})  # optim_options={{'maxiter': 1000}}"
            )
            rec["seconds"] = time.perf_counter() - t0
            block["fits"][key] = rec
    best = min(block["fits"], key=lambda k: block["fits"][k]["loss_v"])
    block["best_fit"] = best

    # the outcome-only lower bound of loss_v over W (any V can do no better)
    Zc, Zt = Z0.to_numpy(), Z1.to_numpy()
    lb = simplex_qp(Zc.T @ Zc, Zc.T @ Zt, np.full(Zc.shape[1], 1 / Zc.shape[1]))
    z = Zt - Zc @ lb["w"]
    block["loss_v_lower_bound"] = {
        "loss_v": float(z @ z / len(z)),
        "weights": {str(u): float(w) for u, w in zip(Z0.columns, lb["w"], strict=True) if w > 0},
    }

    # fixed V: pysyncon's W (SLSQP) and the exact simplex-QP solution
    fixed = {
        "equal": np.full(len(X0.index), 1.0 / len(X0.index)),
        "pysyncon_best_fit_v": np.array(list(block["fits"][best]["v"].values())),
    }
    if len(PYSYNCON_TEST_V) == len(X0.index) and not jss and SPAIN in controls:
        fixed["pysyncon_repo_test_v"] = np.array(PYSYNCON_TEST_V)
    for name, V in fixed.items():
        s = Synth()
        s.fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, custom_V=V)
        Vn = V / V.sum()
        P = X0s.T @ np.diag(Vn) @ X0s
        q = X0s.T @ np.diag(Vn) @ X1s
        ex = simplex_qp(P, q, np.asarray(s.W))
        rec = {
            "call": "Synth().fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, custom_V=v)",
            "pysyncon": fit_record(X0, X1, Z0, Z1, np.asarray(s.W), V),
            "exact": fit_record(X0, X1, Z0, Z1, ex["w"], V),
            "exact_unique": ex["unique"],
            "exact_kkt_residual": ex["kkt_residual_on_support"],
            "exact_min_multiplier_off_support": ex["nu_min_off_support"],
            "max_abs_w_difference": float(np.abs(np.asarray(s.W) - ex["w"]).max()),
        }
        block["custom_v"][name] = rec
    return block


# Published figures, typed in by hand (README.md gives the sources).
PUBLISHED = {
    "r_synth_jss_spec_cmg777": {
        "source": (
            "R Synth (synth(..., optimxmethod='BFGS')) on the jss_2011 specification, executed and "
            "logged in github.com/cmg777/starter-academic-v501, content/post/"
            "r_basic_synthetic_control/execution_log.txt (commit d3c496d3) and "
            "web_app/data/results.json (commit 0e9f0e16)"
        ),
        "spec": "jss_2011",
        "weights_3dp": {"Cataluna": 0.851, "Madrid (Comunidad De)": 0.149, "others": 0.0},
        "loss_v": 0.0088646,
        "loss_w": 0.2467,
        "predictor_balance_3dp": {
            "school.illit": [3.321, 7.645, 10.983],
            "school.prim": [85.893, 82.285, 80.911],
            "school.med": [7.522, 6.965, 5.427],
            "school.high": [3.264, 3.105, 2.679],
            "invest": [24.647, 21.583, 21.424],
            "special.1.gdpcap": [5.285, 5.271, 3.581],
            "special.2.sec.agriculture": [6.844, 6.179, 21.353],
            "special.3.sec.energy": [4.106, 2.760, 5.310],
            "special.4.sec.industry": [45.082, 37.636, 22.425],
            "special.5.sec.construction": [6.150, 6.952, 7.276],
            "special.6.sec.services.venta": [33.754, 41.104, 36.528],
            "special.7.sec.services.nonventa": [4.072, 5.371, 7.111],
            "special.8.popdens": [246.890, 196.288, 99.414],
        },
        "predictor_balance_columns": ["treated", "synthetic", "sample_mean"],
        "att_mean_gap_1970_1997": -0.580,
        "largest_gap": {"year": 1989, "gap": -1.036},
    },
    "pysyncon_repo_test": {
        "source": (
            "github.com/sdfordham/pysyncon tests/test_synth_basque.py and examples/basque.ipynb, "
            "commit 34350ca5 (v1.6.0); Synth().fit(dataprep, optim_method='Nelder-Mead', "
            "optim_initial='equal')"
        ),
        "spec": "pysyncon_example",
        "weights": {"Cataluna": 0.850816306, "Madrid (Comunidad De)": 0.149183694, "others": 0.0},
        "v": dict(
            zip(
                PREDICTORS + [f"special.{i}.{v}" for i, (v, _, _) in enumerate(SPECIAL, 1)],
                PYSYNCON_TEST_V,
                strict=True,
            )
        ),
        "mspe": 0.008864544955047298,
        "att_1975_1997": -0.6995647842110987,
        "att_se_1975_1997": 0.07078092130438395,
    },
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--basque-csv", type=Path, required=True)
    args = ap.parse_args()
    df = load(args.basque_csv)
    out: dict = {
        "package": "pysyncon",
        "versions": {p: md.version(p) for p in ("pysyncon", "numpy", "scipy", "pandas")}
        | {"python": platform.python_version()},
        "data": {
            "what": "R Synth package data frame `basque` (Abadie & Gardeazabal 2003), as CSV",
            "sha256": DATA_SHA256,
            "rows": len(df),
            "missing_values": missing_values(df),
        },
        "published": PUBLISHED,
        "specs": {},
    }
    donors = [c for c in range(2, 19) if c != TREATED]
    out["specs"]["rsynth_help"] = spec_block(
        df, donors, False, "R Synth ?synth example: 14 predictors, donors = regions 2-16 and 18"
    )
    out["specs"]["pysyncon_example"] = spec_block(
        df, [SPAIN, *donors], False, "pysyncon examples/basque.ipynb: as ?synth, Spain (1) added"
    )
    out["specs"]["jss_2011"] = spec_block(
        df,
        donors,
        True,
        "ADH 2011 JSS: as ?synth, school.post.high merged into school.high, the 4 schooling "
        "predictors rescaled to percent of their sum (13 predictors)",
    )
    OUT.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
