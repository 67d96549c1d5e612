"""`fit`: synthetic difference-in-differences (and SC / DiD in the same framework) on a long panel.

Layers: validate the request → `prepare_panel` (checks in the engine, one guarded pull, wide
arrays) → pure math (`sdid`, `inference`) → `SynthResult`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from attribution import config
from attribution.data.engine import Data, as_table, fingerprint
from attribution.designs.synth import inference as inf
from attribution.designs.synth.panel import SynthPanel, prepare_panel
from attribution.designs.synth.results import SynthResult
from attribution.designs.synth.sdid import CohortFit, estimate_att
from attribution.errors import DesignError, EstimationError, OptionError
from attribution.inference import wald_table
from attribution.options import SeMethod, SynthMethod, check_alpha, check_option
from attribution.results import Provenance

__all__ = ["fit", "project_covariates"]


def fit(
    data: Data,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    method: SynthMethod = "sdid",
    se_method: SeMethod | None = "placebo",
    covariates: Sequence[str] | None = None,
    n_reps: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
) -> SynthResult:
    """Average effect on the treated unit-periods by SDID (Arkhangelsky et al. 2021), SC or DiD.

    Parameters
    ----------
    data: long panel (pandas DataFrame or Ibis table), one row per (unit, time), balanced.
    outcome, unit, time, treatment: column names; `treatment` is 0/1 for treated unit-periods
        (block or staggered adoption; it must never switch off).
    method: "sdid" (unit and time weights, with intercepts), "sc" (synthdid's sc_estimate: unit
        weights without intercept, no time weights), "did" (uniform weights).
    se_method: "placebo" (Algorithm 4; needs more never-treated than treated units),
        "jackknife" (fixed weights; ≥ 2 treated units per adoption cohort), "bootstrap"
        (Algorithm 2; ≥ 2 treated units), or None (no standard error).
    covariates: time-varying covariates, partialled out as in the "projected" approach (Kranz
        2022; Clarke et al. 2023): β̂ from a two-way fixed-effects regression of the outcome on
        the covariates over the untreated unit-periods, then the design runs on Y − Xβ̂.
    n_reps: placebo / bootstrap replications (default `config.n_placebo`).
    seed: seed for the replications (default `config.seed`).
    alpha: 1 − confidence level of the normal intervals (default `config.alpha`).
    zeta_omega, zeta_lambda: override the ridge penalties ζ_ω (default (N_tr·T_post)^{1/4}·σ̂, or
        10⁻⁶σ̂ for SC) and ζ_λ (default 10⁻⁶σ̂) for every cohort.
    """
    method = check_option("method", method, SynthMethod)
    if se_method is not None:
        se_method = check_option("se_method", se_method, SeMethod)
    cfg = config.get()
    alpha = check_alpha(cfg.alpha if alpha is None else alpha)
    seed = _check_seed(cfg.seed if seed is None else seed)
    n_reps = _check_reps(n_reps, se_method, cfg.n_placebo)
    zeta_omega = _check_zeta("zeta_omega", zeta_omega, method, allowed=("sdid", "sc"))
    zeta_lambda = _check_zeta("zeta_lambda", zeta_lambda, method, allowed=("sdid",))
    if not isinstance(treatment, str):
        raise OptionError(
            f"treatment must be a column name, got {treatment!r}",
            fix="pass the 0/1 column that marks treated unit-periods",
        )

    table = as_table(data)
    panel = prepare_panel(
        table, outcome=outcome, unit=unit, time=time, treatment=treatment, covariates=covariates
    )
    Y = panel.Y
    beta = None
    if panel.X:
        Y, beta = project_covariates(panel)

    _check_pre_periods(panel, method)
    att, fits, w = estimate_att(
        Y,
        panel.cohorts(),
        np.flatnonzero(panel.donors),
        method,
        zeta_omega=zeta_omega,
        zeta_lambda=zeta_lambda,
    )

    reps, se, cohort_se = None, math.nan, np.full(len(fits), np.nan)
    if se_method is not None:
        _check_se_feasible(se_method, fits, panel)
        se, cohort_se, reps, _ = inf.standard_error(Y, fits, se_method, n_reps=n_reps, seed=seed)

    return _result(
        panel=panel,
        Y=Y,
        table=table,
        fits=fits,
        weights=w,
        att=att,
        se=se,
        cohort_se=cohort_se,
        reps=reps,
        beta=beta,
        method=method,
        se_method=se_method,
        n_reps=n_reps,
        seed=seed,
        alpha=alpha,
        options={
            "outcome": outcome,
            "unit": unit,
            "time": time,
            "treatment": treatment,
            "method": method,
            "se_method": se_method,
            "covariates": list(panel.X),
            "n_reps": n_reps,
            "zeta_omega": zeta_omega,
            "zeta_lambda": zeta_lambda,
        },
    )


# -- validation --------------------------------------------------------------------------------


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise OptionError(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


def _check_reps(n_reps: object, se_method: str | None, default: int) -> int | None:
    if se_method in (None, "jackknife"):
        if n_reps is not None:
            raise OptionError(
                f"n_reps={n_reps!r} has no effect with se_method={se_method!r}",
                fix="drop n_reps, or use se_method='placebo' or 'bootstrap'",
            )
        return None
    if n_reps is None:
        return int(default)
    if isinstance(n_reps, bool) or not isinstance(n_reps, int | np.integer) or int(n_reps) < 2:
        raise OptionError(f"n_reps={n_reps!r} must be an integer ≥ 2")
    return int(n_reps)


def _check_zeta(name: str, value: object, method: str, *, allowed: tuple[str, ...]) -> float | None:
    if value is None:
        return None
    if method not in allowed:
        raise OptionError(
            f"{name} has no effect with method={method!r}",
            fix=f"drop {name}; it applies to method {' or '.join(repr(a) for a in allowed)}",
        )
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v >= 0):
        raise OptionError(f"{name}={value!r} must be a finite number ≥ 0")
    return v


def _check_pre_periods(panel: SynthPanel, method: str) -> None:
    """SDID and SC need ≥ 2 pre-periods per cohort (weights and the noise level σ̂)."""
    if method == "did":
        return
    for a, treated in panel.cohorts().items():
        if a < 2:
            raise DesignError(
                f"cohort first treated at {panel.times[a]!r} has {a} pre-period(s); method "
                f"{method!r} needs at least 2 to fit weights and estimate the noise level",
                columns=[panel.time, panel.treatment or ""],
                rows=pd.DataFrame(
                    {panel.unit: panel.units[treated], "first_treated": panel.times[a]}
                ),
                fix="add earlier periods, drop these units, or use method='did'",
            )


def _check_se_feasible(se_method: str, fits: list[CohortFit], panel: SynthPanel) -> None:
    n_tr = sum(len(f.treated) for f in fits)
    n_co = len(fits[0].controls)
    if se_method == "placebo" and n_co <= n_tr:
        raise DesignError(
            f"placebo standard errors need more never-treated units than treated units; there are "
            f"{n_co} never-treated and {n_tr} treated units",
            columns=[panel.treatment or ""],
            fix="use se_method='jackknife' or 'bootstrap' (several treated units), or add donors",
        )
    if se_method == "bootstrap" and n_tr < 2:
        raise DesignError(
            "bootstrap standard errors need at least 2 treated units; there is 1 "
            f"({panel.units[fits[0].treated[0]]!r})",
            columns=[panel.treatment or ""],
            fix="use se_method='placebo' with a single treated unit",
        )
    if se_method == "jackknife":
        small = [f for f in fits if len(f.treated) < 2]
        if small:
            rows = pd.DataFrame(
                {
                    "cohort": [panel.times[f.spec.adoption] for f in small],
                    "n_treated": [len(f.treated) for f in small],
                    "units": [", ".join(str(u) for u in panel.units[f.treated]) for f in small],
                }
            )
            raise DesignError(
                f"jackknife standard errors need at least 2 treated units in every adoption "
                f"cohort; {len(small)} cohort(s) have 1",
                columns=[panel.treatment or ""],
                rows=rows,
                fix="use se_method='placebo' (or 'bootstrap' with several treated units)",
            )
        single = [f for f in fits if np.count_nonzero(f.omega > 1e-12) < 2]  # numerically
        if single:
            raise DesignError(
                "the fixed-weight jackknife is undefined when a cohort's unit weights put all "
                f"weight on one donor ({panel.units[single[0].controls[np.argmax(single[0].omega)]]!r})",
                columns=[panel.treatment or ""],
                fix="use se_method='placebo' or 'bootstrap'",
            )


# -- covariates ---------------------------------------------------------------------------------


def project_covariates(panel: SynthPanel) -> tuple[np.ndarray, pd.Series]:
    """Y − Σ_k β̂_k X_k, with β̂ from a TWFE regression on the untreated unit-periods.

    The two-way within transformation on the (unbalanced) untreated cells is done by alternating
    projections (Guimarães & Portugal 2010); β̂ is then OLS of demeaned Y on demeaned X.
    """
    names = list(panel.X)
    untreated = ~panel.W if panel.W is not None else np.ones_like(panel.Y, dtype=bool)
    y = _demean_twoway(panel.Y, untreated)
    Xd = np.column_stack([_demean_twoway(panel.X[n], untreated) for n in names])
    # a covariate whose within-variation is rounding noise is absorbed by the fixed effects
    raw = np.column_stack([panel.X[n][untreated] for n in names])
    spread = np.sqrt(((raw - raw.mean(axis=0)) ** 2).sum(axis=0))
    within = np.sqrt((Xd**2).sum(axis=0))
    absorbed = [n for n, w, r in zip(names, within, spread, strict=True) if w <= 1e-8 * r or r == 0]
    unit_scaled = Xd / np.where(within > 0, within, 1.0)
    if absorbed or np.linalg.matrix_rank(unit_scaled, tol=1e-8) < len(names):
        raise DesignError(
            "covariates are collinear with the unit and time fixed effects (or with each other) "
            "on the untreated unit-periods" + (f": {absorbed}" if absorbed else ""),
            columns=absorbed or names,
            fix="drop covariates that are constant within units or within periods, or duplicated",
        )
    beta, *_ = np.linalg.lstsq(Xd, y, rcond=None)
    adj = panel.Y - sum(b * panel.X[n] for b, n in zip(beta, names, strict=True))
    return adj, pd.Series(beta, index=pd.Index(names, name="covariate"), name="beta")


def _demean_twoway(
    V: np.ndarray, mask: np.ndarray, tol: float = 1e-12, max_iter: int = 10_000
) -> np.ndarray:
    """Residual of V on unit and time dummies over the cells in `mask` (returned flat, masked)."""
    v = np.where(mask, V, 0.0).astype(float)
    m = mask.astype(float)
    n_i = m.sum(axis=1)
    n_t = m.sum(axis=0)
    scale = max(float(np.abs(v).max()), 1.0)
    for _ in range(max_iter):
        ri = np.divide(v.sum(axis=1), n_i, out=np.zeros_like(n_i), where=n_i > 0)
        v = (v - ri[:, None]) * m
        ct = np.divide(v.sum(axis=0), n_t, out=np.zeros_like(n_t), where=n_t > 0)
        v = (v - ct[None, :]) * m
        if np.abs(ct).max() < tol * scale:
            break
    else:
        raise EstimationError(
            "two-way demeaning of the covariates did not converge",
            fix="check for covariates that are nearly collinear with the fixed effects",
        )
    return v[mask]


# -- result -------------------------------------------------------------------------------------


def _result(
    *,
    panel: SynthPanel,
    Y: np.ndarray,
    table,
    fits: list[CohortFit],
    weights: np.ndarray,
    att: float,
    se: float,
    cohort_se: np.ndarray,
    reps: np.ndarray | None,
    beta: pd.Series | None,
    method: str,
    se_method: str | None,
    n_reps: int | None,
    seed: int,
    alpha: float,
    options: dict,
) -> SynthResult:
    T = Y.shape[1]
    times = panel.times
    donors = panel.units[fits[0].controls]
    cohort_labels = [times[f.spec.adoption] for f in fits]

    terms = ["ATT"]
    est = [att]
    ses = [se]
    if len(fits) > 1:
        terms += [f"ATT[{c}]" for c in cohort_labels]
        est += [f.tau for f in fits]
        ses += list(cohort_se)
    tidy = wald_table(terms, est, ses, alpha=alpha)
    tidy["cohort"] = pd.Series([None] + (cohort_labels if len(fits) > 1 else []), dtype=object)

    ctab = wald_table(
        [f"ATT[{c}]" for c in cohort_labels], [f.tau for f in fits], cohort_se, alpha=alpha
    )
    diag_rows = [_diagnostics(Y, f) for f in fits]
    cohorts = pd.DataFrame(
        {
            "cohort": cohort_labels,
            "adoption_index": [f.spec.adoption for f in fits],
            "n_treated": [len(f.treated) for f in fits],
            "n_post": [T - f.spec.adoption for f in fits],
            "weight": weights,
        }
    )
    cohorts = pd.concat([cohorts, ctab.drop(columns="term")], axis=1)
    cohorts["zeta_omega"] = [f.spec.zeta_omega for f in fits]
    cohorts["zeta_lambda"] = [f.spec.zeta_lambda for f in fits]
    cohorts["noise_level"] = [f.spec.noise_level for f in fits]
    cohorts = pd.concat([cohorts, pd.DataFrame(diag_rows)], axis=1)

    unit_w = pd.Series(
        sum(wk * f.omega for wk, f in zip(weights, fits, strict=True)),
        index=donors,
        name="omega",
    )
    max_a = max(f.spec.adoption for f in fits)
    lam = np.zeros(max_a)
    for wk, f in zip(weights, fits, strict=True):
        lam[: f.spec.adoption] += wk * f.lam
    time_w = pd.Series(lam, index=times[:max_a], name="lambda")

    long = []
    for c, f in zip(cohort_labels, fits, strict=True):
        long.append(
            pd.DataFrame({"cohort": c, "kind": "unit", "label": list(donors), "weight": f.omega})
        )
        long.append(
            pd.DataFrame(
                {
                    "cohort": c,
                    "kind": "time",
                    "label": list(times[: f.spec.adoption]),
                    "weight": f.lam,
                }
            )
        )
    cohort_weights = pd.concat(long, ignore_index=True)

    main = int(np.argmax([len(f.treated) for f in fits]))
    diagnostics = {
        **diag_rows[main],
        "n_units": int(Y.shape[0]),
        "n_periods": int(T),
        "n_treated_units": int(sum(len(f.treated) for f in fits)),
        "n_never_treated": len(fits[0].controls),
        "n_cohorts": len(fits),
    }
    design = {"sdid": "synth.sdid", "sc": "synth.sc", "did": "synth.did"}[method]
    prov = Provenance(
        design=design,
        data=fingerprint(table, n_rows=panel.n_rows),
        options=options,
        seed=seed if se_method in ("placebo", "bootstrap") else None,
    )
    return SynthResult(
        design=design,
        table=tidy,
        alpha=alpha,
        provenance=prov,
        method=method,
        se_method=se_method,
        estimate=att,
        std_error=float(se),
        unit_weights=unit_w,
        time_weights=time_w,
        cohorts=cohorts,
        cohort_weights=cohort_weights,
        diagnostics=diagnostics,
        n_reps=n_reps,
        beta=beta,
        Y=Y,
        units=panel.units,
        times=panel.times,
        treated=panel.treated.copy(),
        adoption=panel.adoption.copy(),
        omegas=tuple(f.omega for f in fits),
        lambdas=tuple(f.lam for f in fits),
        replicates=reps,
    )


def _diagnostics(Y: np.ndarray, f: CohortFit) -> dict:
    """Pre-period fit of the weighted donors (with intercept unless SC) and weight concentration."""
    a = f.spec.adoption
    gap = Y[f.treated, :a].mean(axis=0) - f.omega @ Y[f.controls, :a]
    if f.spec.method != "sc":
        gap = gap - gap.mean()
    lam_sq = float(np.sum(f.lam**2))
    return {
        "pre_rmse": float(np.sqrt(np.mean(gap**2))),
        "n_donors": int(np.count_nonzero(f.omega > 0)),
        "effective_donors": float(1.0 / np.sum(f.omega**2)),
        "effective_periods": float(1.0 / lam_sq) if lam_sq > 0 else math.nan,
    }
