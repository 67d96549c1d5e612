"""Regenerate the long-event-study HonestDiD reference (honest_long.json) in the reference venv.

    .venv-peers/bin/python tests/reference/did/make_reference_honest_long.py

Needs ``moderndid[didhonest]==0.2.0`` in .venv-peers (make peers). Input: a simulated event study
with 9 pre-periods and 23 post-periods (`simulate_event_study`, fixed seed; betahat and sigma are
stored in the JSON, so the tests never re-simulate). For three targets θ = l'τ_post (the first
post period, the sixth, and the average of all 23) it stores:

- relative magnitudes, ARP "C-LF" (hybrid with least-favourable first stage, κ = α/10) and
  "Conditional" (hybrid_flag "ARP"): the union over the 2·T_pre polyhedra ΔRM_{s,±}(M̄) for
  s = -(T_pre-1), …, 0 as in R HonestDiD's computeConditionalCS_DeltaRM, each polyhedron's
  accepted grid from moderndid's ARP engine (`compute_arp_nuisance_ci`, GRID_POINTS points on
  θ̂ ± (3·M̄·Σ_j|Σ_{k>=j} l_k|·max pre-period change + 8 se(θ̂)), doubled until no grid end is
  accepted; rows_for_arp = the post-period moments), then lb / ub = the extreme accepted grid
  points (the grid step is stored with each row). moderndid's own
  `create_sensitivity_results_rm` loops over s = -(T_pre-1), …, -1 with 0-based column offsets,
  which leaves out the polyhedron where the largest pre-period change is the earliest one; R's
  loop has it, so the union is built here;
- for C-LF, the least-favourable critical value that engine computes for each polyhedron
  (`compute_least_favorable_cv`, 1,000 draws, seed 0; recorded by wrapping the call), so a test
  can separate our ARP machinery from the Monte-Carlo noise of that critical value;
- smoothness, FLCI: `create_sensitivity_results_sm(method="FLCI")`;
- for the first post period, moderndid's public `create_sensitivity_results_rm` (C-LF) as is.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_PRE, N_POST = 9, 23
SEED = 20240
ALPHA = 0.05
MBARS = [0.0, 0.5, 1.0, 2.0]
MS = [0.0, 0.005, 0.01, 0.02, 0.04]
GRID_POINTS = 4001


def simulate_event_study(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """betahat (pre then post, reference omitted) and a positive-definite covariance.

    Covariance: AR(1) correlation 0.6 with standard errors growing with distance from the
    reference, plus a random positive semi-definite part. Truth: a linear pre-trend of 0.002 per
    period and effects 0.05 + 0.002·t after launch.
    """
    rng = np.random.default_rng(seed)
    k = N_PRE + N_POST
    times = np.concatenate([np.arange(-N_PRE, 0), np.arange(1, N_POST + 1)])
    g = rng.normal(size=(k, k)) / np.sqrt(k)
    corr = 0.6 ** np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    sd = 0.02 * (1 + 0.03 * np.abs(times))
    sigma = np.outer(sd, sd) * corr + 0.5e-4 * (g @ g.T)
    tau = np.where(times > 0, 0.05 + 0.002 * times, 0.0)
    beta = tau + 0.002 * times + rng.multivariate_normal(np.zeros(k), sigma)
    return beta, sigma


def r_rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """R HonestDiD's .create_A_RM (s = -(n_pre-1), …, 0; 1-based columns n_pre+s, n_pre+1+s)."""
    n = n_pre + n_post
    atilde = np.zeros((n, n + 1))
    for r in range(n):
        atilde[r, r : r + 2] = (-1.0, 1.0)
    v = np.zeros(n + 1)
    v[n_pre + s - 1 : n_pre + s + 1] = (-1.0, 1.0)
    if not positive:
        v = -v
    bound = np.vstack([np.tile(v, (n_pre, 1)), np.tile(mbar * v, (n_post, 1))])
    a = np.vstack([atilde - bound, -atilde - bound])
    a = a[np.einsum("ij,ij->i", a, a) > 1e-10]
    return np.delete(a, n_pre, axis=1)


def rm_union(beta, sigma, l_vec, mbar, flag, half):
    """R's union over polyhedra on a grid center ± half; widened until no end is accepted."""
    from moderndid.didhonest import arp_nuisance

    center = float(l_vec @ beta[N_PRE:])
    recorded: list[float] = []
    original = arp_nuisance.compute_least_favorable_cv

    def recording_cv(*args, **kwargs):  # the critical value the engine computes and uses
        cv = original(*args, **kwargs)
        recorded.append(float(cv))
        return cv

    arp_nuisance.compute_least_favorable_cv = recording_cv
    try:
        for _ in range(6):
            lo, hi = center - half, center + half
            accept = np.zeros(GRID_POINTS, dtype=bool)
            recorded.clear()
            keys = []
            for s in range(-(N_PRE - 1), 1):
                for positive in (True, False):
                    a = r_rm_constraints(N_PRE, N_POST, mbar, s, positive)
                    rows = np.flatnonzero(np.any(a[:, N_PRE:] != 0, axis=1))
                    res = arp_nuisance.compute_arp_nuisance_ci(
                        beta,
                        sigma,
                        l_vec,
                        a,
                        np.zeros(len(a)),
                        N_PRE,
                        N_POST,
                        alpha=ALPHA,
                        hybrid_flag=flag,
                        hybrid_list={"hybrid_kappa": ALPHA / 10},
                        grid_lb=lo,
                        grid_ub=hi,
                        grid_points=GRID_POINTS,
                        rows_for_arp=rows,
                    )
                    accept |= res.accept_grid[:, 1] > 0
                    # our s counts pre-period changes from the oldest: 0, …, T_pre - 1
                    keys.append((s + N_PRE - 1, 1.0 if positive else -1.0))
            if not (accept[0] or accept[-1]):
                break
            half *= 2.0
        else:
            raise RuntimeError("the accepted set still touches the grid's end")
    finally:
        arp_nuisance.compute_least_favorable_cv = original
    grid = np.linspace(lo, hi, GRID_POINTS)
    cvs = [[s, sign, cv] for (s, sign), cv in zip(keys, recorded, strict=True)] if recorded else []
    step = (hi - lo) / (GRID_POINTS - 1)
    if not accept.any():
        return [mbar, float("nan"), float("nan"), step], cvs
    return [mbar, float(grid[accept].min()), float(grid[accept].max()), step], cvs


def rm_job(job: tuple[str, str, str]) -> tuple[str, str, list, dict]:
    """One target and one method: every M̄ (run in a worker process)."""
    name, flag, label = job
    warnings.simplefilter("ignore", UserWarning)  # moderndid: "CI is open at one endpoint"
    beta, sigma = simulate_event_study()
    l_vec = TARGETS[name]
    sd_theta = float(np.sqrt(l_vec @ sigma[N_PRE:, N_PRE:] @ l_vec))
    spread = float(np.abs(np.cumsum(l_vec[::-1])[::-1]).sum())
    maxpre = float(np.abs(np.diff(np.concatenate([beta[:N_PRE], [0.0]]))).max())
    rows, cvs = [], {}
    t0 = time.time()
    for mbar in MBARS:
        row, cv = rm_union(
            beta, sigma, l_vec, mbar, flag, mbar * spread * 3 * maxpre + 8 * sd_theta
        )
        rows.append(row)
        if cv:
            cvs[f"{mbar:g}"] = cv
        print(name, label, row, f"{time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return name, label, rows, cvs


TARGETS = {
    "first": np.eye(N_POST)[0],
    "sixth": np.eye(N_POST)[5],
    "average": np.full(N_POST, 1.0 / N_POST),
}


def main() -> None:
    from moderndid.didhonest.sensitivity import (
        create_sensitivity_results_rm,
        create_sensitivity_results_sm,
    )

    beta, sigma = simulate_event_study()
    out: dict = {
        "source": "moderndid 0.2.0 didhonest (ARP engine per polyhedron, FLCI); "
        "see make_reference_honest_long.py",
        "versions": {
            "python": platform.python_version(),
            **{p: md.version(p) for p in ("moderndid", "numpy", "scipy", "cvxpy")},
        },
        "n_pre": N_PRE,
        "n_post": N_POST,
        "alpha": ALPHA,
        "seed": SEED,
        "grid_points": GRID_POINTS,
        "betahat": beta.tolist(),
        "sigma": sigma.tolist(),
        "targets": {
            name: {"l_vec": lv.tolist(), "relative_magnitudes": {}, "lf_critical_values": {}}
            for name, lv in TARGETS.items()
        },
    }
    jobs = [(n, f, lab) for n in TARGETS for f, lab in (("LF", "C-LF"), ("ARP", "Conditional"))]
    with ProcessPoolExecutor(max_workers=2) as pool:
        for name, label, rows, cvs in pool.map(rm_job, jobs):
            entry = out["targets"][name]
            entry["relative_magnitudes"][label] = rows
            if cvs:
                entry["lf_critical_values"] = cvs
    for name, l_vec in TARGETS.items():
        sm = create_sensitivity_results_sm(
            beta, sigma, N_PRE, N_POST, method="FLCI", m_vec=np.array(MS), l_vec=l_vec
        )
        out["targets"][name]["smoothness_flci"] = [
            [float(m), float(lb), float(ub)]
            for m, lb, ub in zip(sm["m"], sm["lb"], sm["ub"], strict=True)
        ]
    rm = create_sensitivity_results_rm(
        beta, sigma, N_PRE, N_POST, m_bar_vec=np.array(MBARS[1:]), l_vec=TARGETS["first"]
    )
    out["moderndid_public_rm_clf_first"] = [
        [float(m), float(lb), float(ub)]
        for m, lb, ub in zip(rm["Mbar"], rm["lb"], rm["ub"], strict=True)
    ]
    (HERE / "honest_long.json").write_text(json.dumps(out, indent=1))
    print("wrote honest_long.json", file=sys.stderr)


if __name__ == "__main__":
    main()
