"""Panels behind sdid_jackknife.json, rebuilt from the CSVs in this folder (no synthdid import).

- `cps.csv`: the R synthdid package's CPS state-year panel (50 states, 1979–2018), as shipped in
  the synthdid-py 0.1.0 wheel (`synthdid/data/CPS.csv`, byte-identical). Its three policy columns
  switch on in 2018 only, so as shipped it is a single-cohort panel.
- `cps_staggered(outcome)`: a staggered panel built from it by a fixed rule (placebo policies on real
  outcomes): states with `min_wage` in 2018 adopt in 2010, states with `abort_ban` but not
  `min_wage` adopt in 2014, the other 31 states are never treated.
- `example_panel(name)`: the two seeded staggered panels synthdid-py uses to illustrate and test
  staggered adoption (sdist `examples/staggered_adoption.py::simulate(seed=0)` and
  `tests/test_staggered.py::make_staggered_panel(seed=0)`), saved as generated (full precision).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["EXAMPLES", "cps_single_cohort", "cps_staggered", "example_panel", "load_cps"]

HERE = Path(__file__).resolve().parent
COHORT_RULE = {"min_wage": 2010, "abort_ban": 2014}  # first matching column wins, in this order
EXAMPLES = {
    "example_staggered_adoption": "example_staggered_adoption_seed0.csv",
    "test_make_staggered_panel": "test_make_staggered_panel_seed0.csv",
}


def load_cps() -> pd.DataFrame:
    """CPS as shipped: state, year, log_wage, hours, urate, min_wage, open_carry, abort_ban."""
    return pd.read_csv(
        HERE / "cps.csv", sep=";", true_values=["TRUE"], false_values=["FALSE"]
    ).sort_values(["state", "year"], ignore_index=True)


def cps_single_cohort(policy: str, outcome: str = "log_wage") -> pd.DataFrame:
    """CPS with one shipped policy as the treatment (all adopters in 2018: one post period)."""
    d = load_cps()
    return pd.DataFrame(
        {
            "state": d["state"],
            "year": d["year"].astype("int64"),
            outcome: d[outcome].astype("float64"),
            "treated": d[policy].astype("int64"),
        }
    )


def cps_staggered(outcome: str = "log_wage") -> pd.DataFrame:
    """CPS with the staggered placebo adoption of `COHORT_RULE`; columns state, year, outcome, g, treated."""
    d = load_cps()
    last = d[d["year"] == d["year"].max()].set_index("state")
    g = pd.Series(0, index=last.index, dtype="int64")
    for policy, year in reversed(list(COHORT_RULE.items())):  # earlier entries overwrite later
        g[last[policy].astype(bool)] = year
    out = pd.DataFrame(
        {
            "state": d["state"],
            "year": d["year"].astype("int64"),
            outcome: d[outcome].astype("float64"),
        }
    )
    out["g"] = out["state"].map(g).astype("int64")
    out["treated"] = ((out["g"] > 0) & (out["year"] >= out["g"])).astype("int64")
    return out


def example_panel(name: str) -> pd.DataFrame:
    """One of synthdid-py's seeded staggered examples: unit, year, y, treated (0/1 absorbing)."""
    d = pd.read_csv(HERE / EXAMPLES[name])
    return d.astype({"year": "int64", "y": "float64", "treated": "int64"})
