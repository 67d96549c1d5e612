"""Regenerate sdid_prop99.json: our SDID / SC / DiD fits of Prop 99 at full precision.

Run from the repository root:  .venv/bin/python -m tests.reference.synth.make_sdid_reference

The published numbers the tests compare against are typed into the JSON's "published" block by
hand (see README.md for where each comes from); this script only refreshes the "computed" block,
which guards against silent numerical drift (weights to 1e-6, estimates to 1e-8).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attribution.designs.synth.inference import sum_normalize
from attribution.designs.synth.panel import prepare_panel
from attribution.designs.synth.sdid import cohort_estimate, fit_cohort
from tests.reference.synth.prop99 import load_long

HERE = Path(__file__).parent
OUT = HERE / "sdid_prop99.json"


def exact_placebo_se(Y: np.ndarray, fit) -> float:
    """Placebo SE with every control in turn as the placebo-treated unit (the B → ∞ limit)."""
    co = fit.controls
    taus = []
    for j in range(len(co)):
        rest = np.delete(co, j)
        tau, _, _ = cohort_estimate(
            Y,
            fit.spec,
            co[[j]],
            rest,
            omega0=sum_normalize(np.delete(fit.omega, j)),
            lambda0=fit.lam,
        )
        taus.append(tau)
    return float(np.std(taus, ddof=0))


def computed() -> dict:
    p = prepare_panel(load_long(), outcome="packs", unit="state", time="year", treatment="treated")
    tr = np.flatnonzero(p.treated)
    co = np.flatnonzero(~p.treated)
    out = {}
    for method in ("sdid", "sc", "did"):
        f = fit_cohort(p.Y, int(p.adoption[tr[0]]), tr, co, method)
        out[method] = {
            "estimate": f.tau,
            "unit_weights": {str(p.units[c]): float(w) for c, w in zip(co, f.omega, strict=True)},
            "time_weights": {str(p.times[t]): float(w) for t, w in enumerate(f.lam)},
            "zeta_omega": f.spec.zeta_omega,
            "noise_level": f.spec.noise_level,
            "exact_placebo_se": exact_placebo_se(p.Y, f),
        }
    return out


def main() -> None:
    ref = json.loads(OUT.read_text()) if OUT.exists() else {}
    ref["computed"] = computed()
    OUT.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
