"""Regenerate the HonestDiD reference numbers (honest_ehec.json) in the reference venv.

    .venv-peers/bin/python tests/reference/did/make_reference_honest.py

Needs ``moderndid[didhonest]==0.2.0`` in .venv-peers (moderndid's port of the R HonestDiD package;
its didhonest extra adds cvxpy). Input: the event-study coefficients and CR1 covariance that pyfixest
estimates on the README sample (pyfixest_ehec.json, from make_reference_pyfixest.py). Output: FLCI
intervals under ΔSD(M) and C-LF intervals under ΔRM(M̄) for the first post period, with the grids
of the HonestDiD README, plus the README's own printed numbers (R HonestDiD on R fixest output,
3 significant digits) copied by hand for provenance.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# HonestDiD README (github.com/asheshrambachan/HonestDiD, README.md, "Example usage – Medicaid
# expansions"), printed tibbles; lb, ub for M = 0, 0.01, ..., 0.05 and Mbar = 0.5, 1, 1.5, 2.
README_SD = [
    [0.0, 0.0259, 0.0607],
    [0.01, 0.0132, 0.0787],
    [0.02, 0.00286, 0.0907],
    [0.03, -0.00714, 0.101],
    [0.04, -0.0171, 0.111],
    [0.05, -0.0271, 0.121],
]
README_RM = [
    [0.5, 0.0240, 0.0672],
    [1.0, 0.0170, 0.0720],
    [1.5, 0.00824, 0.0797],
    [2.0, -0.000916, 0.0881],
]


def main() -> None:
    from moderndid.didhonest.sensitivity import (
        create_sensitivity_results_rm,
        create_sensitivity_results_sm,
    )

    ref = json.loads((HERE / "pyfixest_ehec.json").read_text())["event_study"]
    beta = np.array(ref["estimate"])
    sigma = np.array(ref["vcov"])
    n_pre = sum(1 for e in ref["event_times"] if e < -1)
    n_post = len(beta) - n_pre
    m_vec = np.round(np.arange(0, 0.051, 0.01), 10)
    sd = create_sensitivity_results_sm(beta, sigma, n_pre, n_post, method="FLCI", m_vec=m_vec)
    mbar = np.array([0.5, 1.0, 1.5, 2.0])
    rm = create_sensitivity_results_rm(beta, sigma, n_pre, n_post, m_bar_vec=mbar)
    out = {
        "source": "moderndid 0.2.0 didhonest on pyfixest_ehec.json (e = 0, alpha = 0.05)",
        "smoothness_flci": [
            [float(m), float(lb), float(ub)]
            for m, lb, ub in zip(sd["m"], sd["lb"], sd["ub"], strict=True)
        ],
        "relative_magnitudes_clf": [
            [float(m), float(lb), float(ub)]
            for m, lb, ub in zip(rm["Mbar"], rm["lb"], rm["ub"], strict=True)
        ],
        "readme_smoothness_flci": README_SD,
        "readme_relative_magnitudes_clf": README_RM,
    }
    (HERE / "honest_ehec.json").write_text(json.dumps(out, indent=1))
    print("wrote honest_ehec.json")


if __name__ == "__main__":
    main()
