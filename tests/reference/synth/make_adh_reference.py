"""Regenerate adh_pysyncon.json: pysyncon 1.7 ADH fits on Prop 99 used by tests/designs/synth/test_adh.py.

Run: .venv/bin/python -m tests.reference.synth.make_adh_reference

pysyncon's `Synth` standardises predictors by their standard deviation across units, picks V by
Nelder–Mead (from equal weights, 1000 iterations) over |x|/Σ|x|, and solves the inner problem with
SLSQP. Two fits:

- `lags3`: special predictors cigarette sales in 1975, 1980 and 1988, V optimised on the 1970–1988
  MSPE (its loss_V is the pre-period MSPE we must not exceed);
- `equal_v_all_lags`: the 19 pre-period outcomes as predictors with V fixed to equal weights
  (`custom_V`), where California lies outside the donors' hull so W is unique.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pysyncon
from pysyncon import Dataprep, Synth

from tests.reference.synth.prop99 import load_long

OUT = Path(__file__).with_name("adh_pysyncon.json")
PRE = range(1970, 1989)


def dataprep(df, years: list[int]) -> Dataprep:
    states = sorted(df["state"].unique())
    return Dataprep(
        foo=df,
        predictors=[],
        predictors_op="mean",
        dependent="packs",
        unit_variable="state",
        time_variable="year",
        treatment_identifier="California",
        controls_identifier=[s for s in states if s != "California"],
        time_predictors_prior=PRE,
        time_optimize_ssr=PRE,
        special_predictors=[("packs", [y], "mean") for y in years],
    )


def main() -> None:
    df = load_long()
    out: dict = {
        "pysyncon_version": pysyncon.__version__ if hasattr(pysyncon, "__version__") else "1.7.0"
    }
    s = Synth()
    t0 = time.perf_counter()
    s.fit(dataprep(df, [1975, 1980, 1988]))
    out["lags3"] = {
        "mspe": float(s.loss_V),
        "v": [float(x) for x in s.V],
        "weights": {str(k): float(v) for k, v in zip(s.W_names, s.W, strict=True)},
        "seconds": time.perf_counter() - t0,
    }
    s2 = Synth()
    dp = dataprep(df, list(PRE))
    t0 = time.perf_counter()
    s2.fit(dp, custom_V=np.full(len(PRE), 1.0 / len(PRE)))
    X0, _ = dp.make_covariate_mats()
    out["equal_v_all_lags"] = {
        "mspe": float(s2.loss_V),
        "weights": {str(k): float(v) for k, v in zip(X0.columns, s2.W, strict=True)},
        "seconds": time.perf_counter() - t0,
    }
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
