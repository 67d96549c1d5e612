"""Regenerate sdid_jackknife.json: synthdid-py 0.1.0's jackknife SE (and ATT) for SDID.

Run from the repository root in the reference venv (synthdid-py is installed there by `make peers`):

    .venv-peers/bin/python tests/reference/synth/sdid_jackknife/make_reference.py

synthdid-py (PyPI `synthdid-py`, import name `synthdid`) ports the R synthdid package and adds
staggered adoption following Stata `sdid`. Its staggered jackknife (`StaggeredEstimate.se(
method="jackknife")`) leaves out each unit in turn, holds every cohort's ω (renormalised over the
kept controls) and λ fixed, and RECOMPUTES the cohort weights N_tr,kept · T_post of the aggregate
ATT (README.md has the details). For comparison the script also evaluates, from the same fitted
weights, the jackknife with the cohort weights held at their full-sample values (what
`attribution` does today) and Stata `sdid`'s per-cohort jackknife SEs; those two are derived here,
not outputs of synthdid-py.

The example panels are saved as CSV beside this script. They were produced once with
`--export-examples DIR`, DIR being the unpacked synthdid-py 0.1.0 sdist (`pip download
--no-deps --no-binary :all: synthdid-py==0.1.0`), by running its `examples/staggered_adoption.py`
`simulate(seed=0)` and its `tests/test_staggered.py` `make_staggered_panel(seed=0)`.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "sdid_jackknife.json"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


panels = _load("panels")


# ---------------------------------------------------------------------------------------------
# One-off export of synthdid-py's seeded example panels (runs its code; none of it is copied here)
# ---------------------------------------------------------------------------------------------


def _function_from(path: Path, name: str):
    """Execute one top-level function of a source file, with the file's top-level constants."""
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if isinstance(n, ast.Assign)]
    body += [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    scope: dict = {"np": np, "pd": pd}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), scope)
    return scope[name]


def export_examples(sdist: Path) -> None:
    simulate = _function_from(sdist / "examples" / "staggered_adoption.py", "simulate")
    simulate(seed=0).to_csv(HERE / panels.EXAMPLES["example_staggered_adoption"], index=False)
    make = _function_from(sdist / "tests" / "test_staggered.py", "make_staggered_panel")
    frame = make(seed=0).rename(columns={"d": "treated"})
    frame.to_csv(HERE / panels.EXAMPLES["test_make_staggered_panel"], index=False)
    print("wrote the example panels")


# ---------------------------------------------------------------------------------------------
# Reference numbers
# ---------------------------------------------------------------------------------------------


def _jk_se(u: np.ndarray) -> float:
    u = np.asarray(u, dtype=float)
    u = u[np.isfinite(u)]
    n = u.size
    return float(np.sqrt((n - 1) / n * np.sum((u - u.mean()) ** 2))) if n > 1 else float("nan")


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def staggered_case(frame: pd.DataFrame, *, unit: str, time: str, outcome: str, source: str) -> dict:
    import synthdid
    from synthdid.staggered import _att_with_fixed_weights, _cohort_blocks
    from synthdid.utils import sum_normalize

    est = synthdid.staggered_synthdid_estimate(
        frame, unit=unit, time=time, outcome=outcome, treatment="treated"
    )
    panel = est.panel
    N, T = panel.Y.shape
    se = est.se(method="jackknife")

    # synthdid-py's own leave-one-out replicates (the private helper its se() calls), so the
    # per-unit values can be compared, not just their spread.
    blocks = _cohort_blocks(panel, est.control_pool)
    reps = np.empty(N)
    for i in range(N):
        keep = np.ones(N, dtype=bool)
        keep[i] = False
        reps[i] = _att_with_fixed_weights(panel, blocks, est.estimates, keep)
    assert abs(_jk_se(reps) - se) < 1e-12 * max(1.0, se), "replicates do not reproduce se()"

    # Derived (not synthdid-py): same replicates with the cohort weights of the ATT held fixed, and
    # the per-cohort replicates τ̂_a(−i) over all N units (Stata sdid's per-cohort SE, e(tau)).
    full_w = est.by_cohort["weight"].to_numpy()
    full_tau = est.by_cohort["tau"].to_numpy()
    fixed = np.empty(N)
    per = np.tile(full_tau, (N, 1))
    for i in range(N):
        keep = np.ones(N, dtype=bool)
        keep[i] = False
        for k, b in enumerate(blocks):
            rows, n0 = b["rows"], b["n0"]
            kept = keep[rows]
            e = est.estimates[b["adoption_time"]]
            omega = sum_normalize(np.asarray(e.weights.omega)[kept[:n0]])
            lam = np.asarray(e.weights.lambda_)
            n_tr = int(kept[n0:].sum())
            Y = panel.Y[np.ix_(rows[kept], b["columns"])]
            unit_coef = np.concatenate([-omega, np.full(n_tr, 1.0 / n_tr)])
            time_coef = np.concatenate([-lam, np.full(b["n_post"], 1.0 / b["n_post"])])
            per[i, k] = float(unit_coef.dot(Y).dot(time_coef)) if n_tr else np.nan
        fixed[i] = float(per[i] @ full_w) if np.all(np.isfinite(per[i])) else np.nan

    cohorts = []
    for k, (b, row) in enumerate(zip(blocks, est.by_cohort.itertuples(), strict=True)):
        e = est.estimates[b["adoption_time"]]
        controls = panel.units[b["rows"][: b["n0"]]]
        cohorts.append(
            {
                "adoption_time": int(b["adoption_time"]),
                "n_treated": int(row.n_treated),
                "n_control": int(row.n_control),
                "n_pre": int(row.n_pre),
                "n_post": int(row.n_post),
                "tau": float(row.tau),
                "weight": float(row.weight),
                "treated_units": [str(u) for u in panel.units[b["rows"][b["n0"] :]]],
                "omega": {str(u): float(w) for u, w in zip(controls, e.weights.omega, strict=True)},
                "lambda": {
                    str(panel.time[t]): float(w)
                    for t, w in zip(b["columns"][: b["t0"]], e.weights.lambda_, strict=True)
                },
                "derived_stata_cohort_jackknife_se": _jk_se(per[:, k]),
            }
        )
    return {
        "source": source,
        "call": (
            f"synthdid.staggered_synthdid_estimate(df, unit={unit!r}, time={time!r}, "
            f"outcome={outcome!r}, treatment='treated')  # estimator='synthdid', "
            "control_pool='never_treated'; then .se(method='jackknife')"
        ),
        "n_units": int(N),
        "n_periods": int(T),
        "n_never_treated": int((panel.adoption < 0).sum()),
        "att": float(est.att),
        "jackknife_se": _num(se),
        "jackknife_replicates": {str(u): _num(r) for u, r in zip(panel.units, reps, strict=True)},
        "cohorts": cohorts,
        "derived_fixed_cohort_weight_jackknife_se": _num(_jk_se(fixed)),
        "derived_fixed_cohort_weight_replicates": {
            str(u): _num(r) for u, r in zip(panel.units, fixed, strict=True)
        },
    }


def block_case(frame: pd.DataFrame, *, unit: str, time: str, outcome: str, source: str) -> dict:
    """Single adoption date: R-synthdid's block estimator and its fixed-weight jackknife."""
    import synthdid

    p = synthdid.panel_matrices(frame, unit=unit, time=time, outcome=outcome, treatment="treated")
    est = synthdid.synthdid_estimate(p.Y, p.N0, p.T0)
    se = synthdid.jackknife_se(est)
    stag = synthdid.staggered_synthdid_estimate(
        frame, unit=unit, time=time, outcome=outcome, treatment="treated"
    )
    stag_se = stag.se(method="jackknife")
    same = (np.isnan(se) and np.isnan(stag_se)) or abs(se - stag_se) < 1e-10
    return {
        "source": source,
        "call": (
            f"p = synthdid.panel_matrices(df, unit={unit!r}, time={time!r}, outcome={outcome!r}, "
            "treatment='treated'); est = synthdid.synthdid_estimate(p.Y, p.N0, p.T0); "
            "synthdid.jackknife_se(est)"
        ),
        "n_units": int(p.Y.shape[0]),
        "n_control": int(p.N0),
        "n_treated": int(p.Y.shape[0] - p.N0),
        "n_pre": int(p.T0),
        "n_post": int(p.Y.shape[1] - p.T0),
        "att": float(est),
        "jackknife_se": _num(se),
        "staggered_att": float(stag.att),
        "staggered_jackknife_se": _num(stag_se),
        "staggered_path_agrees": bool(same and abs(stag.att - float(est)) < 1e-10),
    }


def main() -> None:
    import importlib.metadata as md

    import synthdid

    out: dict = {
        "package": "synthdid-py",
        "versions": {
            "synthdid-py": md.version("synthdid-py"),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": md.version("scipy"),
            "python": platform.python_version(),
        },
    }
    # Prop 99: the package's own copy (identical to causalpy's, see README) — one treated unit.
    prop = synthdid.load_california_prop99().rename(
        columns={"State": "state", "Year": "year", "PacksPerCapita": "packs"}
    )
    out["prop99"] = block_case(
        prop,
        unit="state",
        time="year",
        outcome="packs",
        source="synthdid.load_california_prop99() (R synthdid's california_prop99)",
    )
    for policy in ("min_wage", "abort_ban", "open_carry"):
        out[f"cps_{policy}_2018"] = block_case(
            panels.cps_single_cohort(policy),
            unit="state",
            time="year",
            outcome="log_wage",
            source=f"panels.cps_single_cohort({policy!r}) (cps.csv as shipped; {policy} = treated)",
        )
    for outcome in ("log_wage", "hours"):
        out[f"cps_staggered_{outcome}"] = staggered_case(
            panels.cps_staggered(outcome),
            unit="state",
            time="year",
            outcome=outcome,
            source=f"panels.cps_staggered({outcome!r})",
        )
    for name in panels.EXAMPLES:
        out[name] = staggered_case(
            panels.example_panel(name),
            unit="unit",
            time="year",
            outcome="y",
            source=f"panels.example_panel({name!r}) ({panels.EXAMPLES[name]})",
        )
    OUT.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export-examples", type=Path, metavar="SDIST_DIR")
    args = ap.parse_args()
    if args.export_examples:
        export_examples(args.export_examples)
    else:
        main()
