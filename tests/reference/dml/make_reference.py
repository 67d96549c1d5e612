"""Reference numbers from the DoubleML package (PLR, partialling out) for `at.dml` parity.

Run in a venv with DoubleML 0.11.4 (`make references` uses .venv-peers):

    python tests/reference/dml/make_reference.py

Writes plr_data.csv (DoubleML's `make_plr_CCDDHNR2018`, seeded) and plr_reference.json: the fold of
every row (sklearn KFold(5, shuffle=True, random_state=SEED), the splits `at.dml(random_state=SEED,
cv=5)` draws), DoubleML's estimate and standard error with LinearRegression learners on exactly those
folds, its `sensitivity_analysis` for two scenarios and its `sensitivity_benchmark` for X1.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import doubleml as dml_pkg
import numpy as np
from doubleml.plm.datasets import make_plr_CCDDHNR2018
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

HERE = Path(__file__).resolve().parent
SEED = 3141
N_OBS = 500
DIM_X = 20
CV = 5
SCENARIOS = [
    {"cf_y": 0.03, "cf_d": 0.03, "rho": 1.0, "level": 0.95, "null": 0.0},
    {"cf_y": 0.1, "cf_d": 0.05, "rho": 0.8, "level": 0.9, "null": 0.2},
]


def main() -> None:
    np.random.seed(SEED)  # noqa: NPY002 - DoubleML draws from the legacy global generator
    df = make_plr_CCDDHNR2018(n_obs=N_OBS, dim_x=DIM_X, alpha=0.5, return_type="DataFrame")
    df.to_csv(HERE / "plr_data.csv", index=False, float_format="%.17g")
    x_cols = [f"X{i}" for i in range(1, DIM_X + 1)]
    fold = np.empty(N_OBS, dtype=int)
    for k, (_, test) in enumerate(
        KFold(CV, shuffle=True, random_state=SEED).split(np.arange(N_OBS))
    ):
        fold[test] = k
    smpls = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(CV)]

    def fit(cols: list[str]) -> dml_pkg.DoubleMLPLR:
        data = dml_pkg.DoubleMLData(df, y_col="y", d_cols="d", x_cols=cols)
        model = dml_pkg.DoubleMLPLR(
            data, LinearRegression(), LinearRegression(), draw_sample_splitting=False
        )
        model.set_sample_splitting([smpls])
        model.fit()
        return model

    model = fit(x_cols)
    sens = []
    for sc in SCENARIOS:
        model.sensitivity_analysis(
            cf_y=sc["cf_y"],
            cf_d=sc["cf_d"],
            rho=sc["rho"],
            level=sc["level"],
            null_hypothesis=sc["null"],
        )
        p = model.sensitivity_params
        sens.append(
            {
                **sc,
                "theta_lower": float(p["theta"]["lower"][0]),
                "theta_upper": float(p["theta"]["upper"][0]),
                "ci_lower": float(p["ci"]["lower"][0]),
                "ci_upper": float(p["ci"]["upper"][0]),
                "rv": float(p["rv"][0]),
                "rva": float(p["rva"][0]),
            }
        )
    bench = model.sensitivity_benchmark(benchmarking_set=["X1"])
    out = {
        "provenance": {
            "script": "tests/reference/dml/make_reference.py",
            "doubleml": version("doubleml"),
            "scikit-learn": version("scikit-learn"),
            "numpy": version("numpy"),
            "data": "doubleml.plm.datasets.make_plr_CCDDHNR2018(n_obs=500, dim_x=20, alpha=0.5) after "
            f"np.random.seed({SEED}); saved in plr_data.csv",
            "learners": "LinearRegression() for ml_l and ml_m; score 'partialling out'; n_rep=1",
        },
        "seed": SEED,
        "cv": CV,
        "fold": "".join(str(k) for k in fold),  # fold of row i, one digit per row
        "coef": float(model.coef[0]),
        "se": float(model.se[0]),
        "sensitivity": sens,
        "benchmark_X1": {
            k: float(bench[k].iloc[0]) for k in ("cf_y", "cf_d", "rho", "delta_theta")
        },
    }
    (HERE / "plr_reference.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"coef {out['coef']:.10g} se {out['se']:.10g}")


if __name__ == "__main__":
    main()
