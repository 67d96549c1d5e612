"""Synthetic difference-in-differences and its SC / DiD special cases, over N×T arrays.

Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021), "Synthetic Difference-in-Differences",
American Economic Review 111(12), Algorithm 1, with the choices of the authors' R package synthdid:

- unit weights ω (with intercept) solve eq. (2)–(3) on the pre-period, ridge ζ_ω = (N_tr·T_post)^{1/4}·σ̂,
  σ̂ = standard deviation of the first differences of the control units' pre-period outcomes;
- time weights λ (with intercept) solve eq. (4), ridge ζ_λ = 10⁻⁶·σ̂;
- Frank–Wolfe with the synthdid schedule (see `solvers`), stopping at a decrease below (10⁻⁵σ̂)²;
- τ̂ = (ȳ_tr,post − Σω_i ȳ_i,post) − (Σλ_t ȳ_tr,t − Σ_i Σ_t ω_i λ_t y_it)  (eq. 1 solved in closed form).

"sc" is synthdid's ``sc_estimate`` (no intercept, ζ_ω = 10⁻⁶σ̂, no time weights); "did" is
``did_estimate`` (uniform ω and λ). Staggered adoption is handled as in Clarke, Pailañir, Athey &
Imbens (2023, Stata Journal, `sdid`): one block problem per adoption cohort, using the never-treated
units as controls and all periods, and the ATT as the average of the cohort estimates weighted by
each cohort's number of treated unit-periods.

Everything here is pure numpy over arrays; `inference` re-runs `cohort_estimate` on resampled index
sets, holding ζ and the stopping tolerance fixed at their full-sample values (as synthdid does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attribution.designs.synth.solvers import row_gram, simplex_weights

__all__ = [
    "CohortFit",
    "CohortSpec",
    "att_weights",
    "cohort_estimate",
    "estimate_att",
    "fit_cohort",
    "noise_level",
]

ETA_LAMBDA = 1e-6
ETA_SC = 1e-6
MIN_DECREASE = 1e-5


@dataclass(frozen=True)
class CohortSpec:
    """Everything fixed about a cohort's problem: its adoption column and tuning constants."""

    adoption: int  # first treated column index (= number of pre-periods T0)
    method: str
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    noise_level: float


@dataclass(frozen=True)
class CohortFit:
    """One adoption cohort's estimate, with the weights it used."""

    spec: CohortSpec
    treated: np.ndarray  # row indices of the cohort's treated units
    controls: np.ndarray  # row indices of the controls (never-treated)
    omega: np.ndarray  # unit weights over `controls`
    lam: np.ndarray  # time weights over the T0 pre-periods
    tau: float

    def intercept(self, Y: np.ndarray) -> float:
        """ω₀: mean pre-period gap between treated average and the ω-weighted controls."""
        a = self.spec.adoption
        gap = Y[self.treated, :a].mean(axis=0) - self.omega @ Y[self.controls, :a]
        return float(gap.mean()) if self.spec.method != "sc" else 0.0


def noise_level(Y_controls_pre: np.ndarray) -> float:
    """σ̂: standard deviation (n−1) of all first differences of the control units' pre-period rows."""
    d = np.diff(np.asarray(Y_controls_pre, dtype=float), axis=1)
    if d.size < 2:
        return float("nan")
    return float(np.std(d, ddof=1))


def make_spec(
    Y: np.ndarray,
    adoption: int,
    controls: np.ndarray,
    n_treated: int,
    method: str,
    *,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
) -> CohortSpec:
    """Tuning constants for a cohort, from the full-sample data (synthdid defaults)."""
    T = Y.shape[1]
    sigma = noise_level(Y[controls, :adoption])
    s = sigma if np.isfinite(sigma) else 0.0
    if zeta_omega is None:
        eta = ETA_SC if method == "sc" else (n_treated * (T - adoption)) ** 0.25
        zeta_omega = eta * s
    if zeta_lambda is None:
        zeta_lambda = ETA_LAMBDA * s
    return CohortSpec(
        adoption=int(adoption),
        method=method,
        zeta_omega=float(zeta_omega),
        zeta_lambda=float(zeta_lambda),
        min_decrease=MIN_DECREASE * s,
        noise_level=sigma,
    )


def _center_rows(M: np.ndarray) -> np.ndarray:
    return M - M.mean(axis=1, keepdims=True)


def solve_omega(
    Y: np.ndarray,
    spec: CohortSpec,
    treated: np.ndarray,
    controls: np.ndarray,
    omega0: np.ndarray | None = None,
    *,
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """Unit weights: match the treated average's pre-period path (up to an intercept for SDID).

    `gram`, if given, is the N×N Gram matrix of the (centred, for SDID) pre-period rows of all
    units, so that resampled problems only index it.
    """
    a = spec.adoption
    intercept = spec.method != "sc"
    if gram is None:
        P = Y[:, :a]
        rows = np.concatenate([controls, treated])
        Z = _center_rows(P[rows]) if intercept else P[rows]
        gram = Z @ Z.T
        nc = len(controls)
        controls = np.arange(nc)
        treated = np.arange(nc, len(rows))
    Ab = gram[np.ix_(controls, treated)].mean(axis=1)
    bb = float(gram[np.ix_(treated, treated)].mean())
    return simplex_weights(
        gram,
        Ab,
        bb,
        zeta=spec.zeta_omega,
        n_rows=a,
        min_decrease=spec.min_decrease,
        x0=omega0,
        idx=controls,
    )


def solve_lambda(
    Y: np.ndarray,
    spec: CohortSpec,
    controls: np.ndarray,
    lambda0: np.ndarray | None = None,
) -> np.ndarray:
    """Time weights: pre-periods whose (intercept-shifted) average matches the controls' post mean."""
    a = spec.adoption
    Z = np.empty((Y.shape[0], a + 1))
    Z[:, :a] = Y[:, :a]
    Z[:, a] = Y[:, a:].mean(axis=1)
    S, m = row_gram(Z, np.asarray(controls, dtype=np.int64))
    H = S - np.outer(m, m) / len(controls)  # Gram of the columns centred over the controls
    return simplex_weights(
        H[:a, :a],
        H[:a, a],
        float(H[a, a]),
        zeta=spec.zeta_lambda,
        n_rows=len(controls),
        min_decrease=spec.min_decrease,
        x0=lambda0,
    )


def tau_from_weights(
    Y: np.ndarray,
    adoption: int,
    treated: np.ndarray,
    controls: np.ndarray,
    omega: np.ndarray,
    lam: np.ndarray,
) -> float:
    """τ̂ = (−ω, 1/N_tr)ᵀ Y (−λ, 1/T_post): the weighted double difference (synthdid)."""
    a = adoption
    yt = Y[treated].mean(axis=0)
    yc = omega @ Y[controls]
    post = yt[a:].mean() - yc[a:].mean()
    pre = lam @ yt[:a] - lam @ yc[:a]
    return float(post - pre)


def cohort_estimate(
    Y: np.ndarray,
    spec: CohortSpec,
    treated: np.ndarray,
    controls: np.ndarray,
    *,
    omega0: np.ndarray | None = None,
    lambda0: np.ndarray | None = None,
    gram: np.ndarray | None = None,
    update: bool = True,
) -> tuple[float, np.ndarray, np.ndarray]:
    """(τ̂, ω, λ) for one block problem. With `update=False`, ω0 and λ0 are used as given."""
    a = spec.adoption
    nc = len(controls)
    if spec.method == "did":
        omega = np.full(nc, 1.0 / nc)
        lam = np.full(a, 1.0 / a)
    elif not update:
        omega = np.asarray(omega0, dtype=float)
        lam = np.asarray(lambda0, dtype=float)
    else:
        lam = np.zeros(a) if spec.method == "sc" else solve_lambda(Y, spec, controls, lambda0)
        omega = solve_omega(Y, spec, treated, controls, omega0, gram=gram)
    return tau_from_weights(Y, a, treated, controls, omega, lam), omega, lam


def fit_cohort(
    Y: np.ndarray,
    adoption: int,
    treated: np.ndarray,
    controls: np.ndarray,
    method: str,
    *,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
) -> CohortFit:
    """Full-sample estimate for one cohort (synthdid's synthdid_estimate / sc_estimate / did_estimate)."""
    spec = make_spec(
        Y,
        adoption,
        controls,
        len(treated),
        method,
        zeta_omega=zeta_omega,
        zeta_lambda=zeta_lambda,
    )
    tau, omega, lam = cohort_estimate(Y, spec, treated, controls)
    return CohortFit(spec=spec, treated=treated, controls=controls, omega=omega, lam=lam, tau=tau)


def att_weights(n_treated: np.ndarray, n_post: np.ndarray) -> np.ndarray:
    """Cohort weights ∝ number of treated unit-periods (Clarke et al. 2023, eq. for the ATT)."""
    w = np.asarray(n_treated, dtype=float) * np.asarray(n_post, dtype=float)
    return w / w.sum()


def estimate_att(
    Y: np.ndarray,
    cohorts: dict[int, np.ndarray],
    controls: np.ndarray,
    method: str,
    *,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
) -> tuple[float, list[CohortFit], np.ndarray]:
    """(ATT, per-cohort fits, cohort weights) for adoption column → treated rows `cohorts`."""
    fits = [
        fit_cohort(Y, a, tr, controls, method, zeta_omega=zeta_omega, zeta_lambda=zeta_lambda)
        for a, tr in sorted(cohorts.items())
    ]
    T = Y.shape[1]
    w = att_weights(
        np.array([len(f.treated) for f in fits]), np.array([T - f.spec.adoption for f in fits])
    )
    return float(np.dot(w, [f.tau for f in fits])), fits, w
