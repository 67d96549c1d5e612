"""Two-period ATT estimators with covariates: doubly robust, normalised IPW and outcome regression.

Pure numpy over unit-level arrays (the third layer of a design): the caller gathers the arrays
(for a group-time cell of `att_gt`, only the needed columns leave the engine) and gets back the ATT
and its influence function. The estimators are those of the R package DRDID (Sant'Anna & Zhao
2020), which R `did` 2.x calls for every group-time ATT; they reproduce DRDID / moderndid 0.2.0
to floating-point precision, including the estimation-effect corrections of the influence function.

- ``method="dr"``: locally efficient doubly robust DiD, Sant'Anna & Zhao (2020) eq. (3.1)
  (DRDID::drdid_panel) / eq. (3.4) for repeated cross-sections (DRDID::drdid_rc).
- ``method="ipw"``: normalised (Hajek) IPW DiD of Abadie (2005), Sant'Anna & Zhao (2020) eq. (4.1)
  (DRDID::std_ipw_did_panel / std_ipw_did_rc).
- ``method="reg"``: outcome-regression DiD of Heckman, Ichimura & Todd (1997), Sant'Anna & Zhao
  (2020) eq. (2.2) (DRDID::reg_did_panel / reg_did_rc).

Influence-function scaling (what `att_gt` aggregates)
------------------------------------------------------
Both functions return ``(att, inf)`` where ``inf`` has one entry per input row and is DRDID's
``att.inf.func``: the estimator's asymptotically linear representation with

    att_hat - att = mean(inf) + o_p(n^-1/2),   n = len(inf) (rows passed in, zero weights included),

so ``Var(att_hat) ~ Var(inf) / n``. ``mean(inf)`` is zero up to rounding (every estimating equation
is solved exactly). DRDID's analytic standard error is
``sd(inf) * sqrt(n - 1) / n = sqrt(sum((inf - mean(inf))**2)) / n``, returned by
:func:`influence_se` (moderndid uses the same formula; older DRDID releases used
``sd(inf) / sqrt(n)``, larger by ``sqrt(n / (n - 1))``). R `did`'s ``att_gt`` rescales a cell's IF by
``n_all / n_cell`` before stacking cells over all units and then uses ``sqrt(mean(inf**2) / n_all)``.

One known DRDID quirk is kept for parity: ``drdid_rc(method="dr")`` adds the estimation effect of
the pre-period comparison regression with the post-period sign, so its IF differs from the exact
empirical IF by ``2 * alr_c0 @ (M3_pre - M1_pre)`` (zero in the limit when the propensity score is
correctly specified; about 2% of the SE in a simulated sample of 400). The panel estimators and the
other two repeated-cross-section estimators return the exact empirical influence function.

Nuisance models follow DRDID exactly: the propensity score is a weighted logit fitted by maximum
likelihood (Newton-Raphson here, no statsmodels at run time) and clipped to ``[1e-6, 1 - 1e-6]``
(moderndid clips both ends, R DRDID only the upper one; they differ only for scores below 1e-6);
comparison units with a score at or above ``trim_level`` (0.995) get weight zero; outcome
regressions are weighted least squares. Sampling weights are normalised to mean one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import linalg, special

from attribution import config
from attribution.errors import DataError, DesignError, EstimationError, OptionError
from attribution.options import EstMethod, check_option

__all__ = ["SeparationError", "drdid_panel", "drdid_rc", "influence_se", "logit_mle"]

_PS_CLIP = 1e-6
"""DRDID keeps propensity scores away from 0 and 1 by this much (avoids division by zero)."""
_RANK_TOL = 1e-7
"""Tolerance of the pivoted QR rank check on unit-norm columns (the tolerance of R's lm / glm)."""
_MAX_NEWTON = 100


class SeparationError(EstimationError):
    """The propensity-score logit has no finite maximum (complete or quasi-complete separation).

    A subclass so that `att_gt` can report such a cell as NA, as R `did` does, while every other
    estimation failure still stops the call.
    """


# ---------------------------------------------------------------------------------------------
# Public estimators
# ---------------------------------------------------------------------------------------------


def drdid_panel(
    y1: np.ndarray,
    y0: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray | None = None,
    *,
    method: EstMethod,
    trim_level: float = 0.995,
    names: Sequence[str] | None = None,
) -> tuple[float, np.ndarray]:
    """ATT and its influence function from a two-period balanced panel with covariates.

    Parameters
    ----------
    y1, y0: post- and pre-period outcomes, shape (n,).
    d: 1 for units treated in the post period, 0 for comparison units, shape (n,).
    x: covariates, shape (n, p), INCLUDING the intercept column (as R's ``model.matrix`` builds
        it); a column of ones alone gives the unconditional DiD.
    w: non-negative sampling weights (normalised to mean one); None means equal weights.
    method: "dr" (DRDID::drdid_panel), "ipw" (std_ipw_did_panel) or "reg" (reg_did_panel).
    trim_level: comparison units with propensity score >= trim_level get weight zero (dr, ipw).
    names: names of the columns of ``x``, used in error messages.

    Returns
    -------
    (att, inf): the estimate and DRDID's influence function (one entry per unit; see the module
    docstring for its scaling: ``influence_se(inf)`` is DRDID's standard error).
    """
    check_option("method", method, EstMethod)
    trim_level = _check_trim(trim_level)
    n = _length("d", d)
    y1v = _vector("y1", y1, n)
    y0v = _vector("y0", y0, n)
    dv = _binary("d", d, n)
    xm, xnames = _matrix(x, n, names)
    wv = _weights(w, n)
    _require_both_groups(dv, "d")
    dy = y1v - y0v
    if method == "reg":
        return _reg_panel(dy, dv, xm, wv, xnames)
    ps = _propensity(dv, xm, wv, xnames)
    if method == "ipw":
        return _ipw_panel(dy, dv, xm, wv, ps, trim_level)
    return _dr_panel(dy, dv, xm, wv, ps, trim_level, xnames)


def drdid_rc(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray | None = None,
    *,
    method: EstMethod,
    trim_level: float = 0.995,
    names: Sequence[str] | None = None,
) -> tuple[float, np.ndarray]:
    """ATT and its influence function from two repeated cross-sections (or an unbalanced panel).

    One row per observation: outcome ``y``, period indicator ``post`` (1 = post, 0 = pre),
    group indicator ``d``, covariates ``x`` (with intercept), weights ``w``. Methods: "dr" =
    DRDID::drdid_rc (locally efficient DR, four outcome regressions), "ipw" = std_ipw_did_rc,
    "reg" = reg_did_rc. The influence function has one entry per row, scaled as in
    :func:`drdid_panel`. R `did` uses these for ``allow_unbalanced_panel=True`` and sums a unit's
    rows after rescaling.
    """
    check_option("method", method, EstMethod)
    trim_level = _check_trim(trim_level)
    n = _length("d", d)
    yv = _vector("y", y, n)
    pv = _binary("post", post, n)
    dv = _binary("d", d, n)
    xm, xnames = _matrix(x, n, names)
    wv = _weights(w, n)
    _require_both_groups(dv, "d")
    _require_both_groups(pv, "post")
    for g, gname in ((1.0, "treated"), (0.0, "comparison")):
        for t, tname in ((1.0, "post"), (0.0, "pre")):
            if not np.any((dv == g) & (pv == t) & (wv > 0)):
                raise DesignError(
                    f"no {gname} observations in the {tname} period",
                    columns=["d", "post"],
                    fix="each of the four (group, period) cells needs observations",
                )
    if method == "reg":
        return _reg_rc(yv, pv, dv, xm, wv, xnames)
    ps = _propensity(dv, xm, wv, xnames)
    if method == "ipw":
        return _ipw_rc(yv, pv, dv, xm, wv, ps, trim_level)
    return _dr_rc(yv, pv, dv, xm, wv, ps, trim_level, xnames)


def influence_se(inf: np.ndarray) -> float:
    """DRDID's analytic standard error from an influence function: sd(inf) * sqrt(n - 1) / n."""
    v = np.asarray(inf, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise DataError(
            "an influence function must be a finite vector with at least two entries",
            fix="pass the `inf` returned by drdid_panel / drdid_rc",
        )
    return float(np.sqrt(np.sum((v - v.mean()) ** 2)) / v.size)


def logit_mle(
    d: np.ndarray, x: np.ndarray, w: np.ndarray, *, names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by Newton-Raphson with step halving: (coefficients, fitted probabilities).

    Maximises sum_i w_i [d_i x_i'b - log(1 + exp(x_i'b))], the likelihood R's
    ``glm(family=binomial, weights=w)`` maximises. Raises EstimationError naming the covariates
    when the design is rank deficient or the maximum does not exist (complete or quasi-complete
    separation: coefficients diverge).
    """
    names = list(names)
    _check_rank(x, w, names, what="the propensity-score (logit) model")
    raw_moment = (x**2).T @ w
    beta = np.zeros(x.shape[1])
    eta = np.zeros(x.shape[0])
    loglik = _logit_loglik(d, eta, w)
    step = np.zeros_like(beta)
    for _ in range(_MAX_NEWTON):
        p = special.expit(eta)
        grad = x.T @ (w * (d - p))
        hess = x.T @ ((w * p * (1.0 - p))[:, None] * x)
        # Separation shows up as fitted probabilities collapsing to 0/1: the information carried
        # by a covariate (or by the whole design) vanishes relative to its raw second moment.
        diag_h = np.diag(hess)
        collapsed = diag_h < 1e-10 * raw_moment
        scale_h = np.sqrt(np.clip(diag_h, np.finfo(float).tiny, None))
        scaled = hess / np.outer(scale_h, scale_h)
        eig = np.linalg.eigvalsh(scaled)
        if collapsed.any() or not np.all(np.isfinite(eig)) or eig[0] < 1e-13 * eig[-1]:
            raise _separation_error(names, step, collapsed)
        step = linalg.solve(scaled, grad / scale_h, assume_a="pos") / scale_h
        scale = 1.0
        while True:
            cand = beta + scale * step
            eta_c = x @ cand
            ll_c = _logit_loglik(d, eta_c, w)
            if ll_c >= loglik - 1e-12 * (1.0 + abs(loglik)) or scale < 1e-10:
                break
            scale /= 2.0
        change = np.max(np.abs(cand - beta))
        beta, eta, loglik = cand, eta_c, ll_c
        if change <= 1e-10 * (1.0 + np.max(np.abs(beta))):
            if not np.all(np.isfinite(beta)):
                break
            return beta, special.expit(eta)
    raise _separation_error(names, step, np.zeros(len(names), dtype=bool))


# ---------------------------------------------------------------------------------------------
# Panel estimators (DRDID::reg_did_panel, std_ipw_did_panel, drdid_panel)
# ---------------------------------------------------------------------------------------------


def _reg_panel(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray, names: list[str]
) -> tuple[float, np.ndarray]:
    n = dy.size
    wc = w * (1.0 - d)
    beta = _wls(dy, x, wc, names, what="the outcome regression among comparison units")
    out = x @ beta
    w_treat = w * d
    mw = w_treat.mean()
    eta_treat = np.mean(w_treat * dy) / mw
    eta_cont = np.mean(w_treat * out) / mw
    att = eta_treat - eta_cont
    alr_ols = _ols_alr(dy - out, x, wc, n)
    inf_treat = (w_treat * dy - w_treat * eta_treat) / mw
    inf_cont = (w_treat * out - w_treat * eta_cont + alr_ols @ (x.T @ w_treat / n)) / mw
    return float(att), inf_treat - inf_cont


def _ipw_panel(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    ps: np.ndarray,
    trim_level: float,
) -> tuple[float, np.ndarray]:
    n = dy.size
    keep = _trim(ps, d, trim_level)
    w_treat = keep * w * d
    w_cont = keep * w * ps * (1.0 - d) / (1.0 - ps)
    mt, mc = _weight_means(w_treat, w_cont)
    eta_treat = w_treat * dy / mt
    eta_cont = w_cont * dy / mc
    att_treat, att_cont = eta_treat.mean(), eta_cont.mean()
    att = att_treat - att_cont
    alr_ps = _logit_alr(d, ps, x, w, n)
    inf_treat = eta_treat - w_treat * att_treat / mt
    inf_cont = eta_cont - w_cont * att_cont / mc
    m_ps = x.T @ (w_cont * (dy - att_cont)) / n / mc
    return float(att), inf_treat - (inf_cont + alr_ps @ m_ps)


def _dr_panel(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    ps: np.ndarray,
    trim_level: float,
    names: list[str],
) -> tuple[float, np.ndarray]:
    n = dy.size
    keep = _trim(ps, d, trim_level)
    wc_ols = w * (1.0 - d)
    beta = _wls(dy, x, wc_ols, names, what="the outcome regression among comparison units")
    out = x @ beta
    resid = dy - out
    w_treat = keep * w * d
    w_cont = keep * w * ps * (1.0 - d) / (1.0 - ps)
    mt, mc = _weight_means(w_treat, w_cont)
    eta_treat = np.mean(w_treat * resid) / mt
    eta_cont = np.mean(w_cont * resid) / mc
    att = eta_treat - eta_cont
    alr_ols = _ols_alr(resid, x, wc_ols, n)
    alr_ps = _logit_alr(d, ps, x, w, n)
    inf_treat = (w_treat * resid - w_treat * eta_treat - alr_ols @ (x.T @ w_treat / n)) / mt
    lead_cont = w_cont * resid - w_cont * eta_cont
    inf_cont = (lead_cont + alr_ps @ (x.T @ lead_cont / n) - alr_ols @ (x.T @ w_cont / n)) / mc
    return float(att), inf_treat - inf_cont


# ---------------------------------------------------------------------------------------------
# Repeated cross-section estimators (DRDID::reg_did_rc, std_ipw_did_rc, drdid_rc)
# ---------------------------------------------------------------------------------------------


def _reg_rc(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    names: list[str],
) -> tuple[float, np.ndarray]:
    n = y.size
    w_c0 = w * (1.0 - d) * (1.0 - post)
    w_c1 = w * (1.0 - d) * post
    what = "the outcome regression among comparison units in the {} period"
    out_pre = x @ _wls(y, x, w_c0, names, what=what.format("pre"))
    out_post = x @ _wls(y, x, w_c1, names, what=what.format("post"))
    w_treat_pre = w * d * (1.0 - post)
    w_treat_post = w * d * post
    w_cont = w * d
    m_tpre, m_tpost, m_cont = w_treat_pre.mean(), w_treat_post.mean(), w_cont.mean()
    reg_treat_pre = w_treat_pre * y / m_tpre
    reg_treat_post = w_treat_post * y / m_tpost
    reg_cont = w_cont * (out_post - out_pre) / m_cont
    a_tpre, a_tpost, a_cont = reg_treat_pre.mean(), reg_treat_post.mean(), reg_cont.mean()
    att = (a_tpost - a_tpre) - a_cont
    alr_pre = _ols_alr(y - out_pre, x, w_c0, n)
    alr_post = _ols_alr(y - out_post, x, w_c1, n)
    inf_treat_pre = reg_treat_pre - w_treat_pre * a_tpre / m_tpre
    inf_treat_post = reg_treat_post - w_treat_post * a_tpost / m_tpost
    m1 = x.T @ w_cont / n / m_cont
    inf_cont = reg_cont - w_cont * a_cont / m_cont + alr_post @ m1 - alr_pre @ m1
    return float(att), (inf_treat_post - inf_treat_pre) - inf_cont


def _ipw_rc(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    ps: np.ndarray,
    trim_level: float,
) -> tuple[float, np.ndarray]:
    n = y.size
    keep = _trim(ps, d, trim_level)
    odds = ps / (1.0 - ps)
    w_treat_pre = keep * w * d * (1.0 - post)
    w_treat_post = keep * w * d * post
    w_cont_pre = keep * w * odds * (1.0 - d) * (1.0 - post)
    w_cont_post = keep * w * odds * (1.0 - d) * post
    parts = []
    for wt in (w_treat_pre, w_treat_post, w_cont_pre, w_cont_post):
        m = wt.mean()
        if not m > 0:
            raise _no_weight_error()
        eta = wt * y / m
        parts.append((wt, m, eta, eta.mean()))
    (wtp, mtp, etp, atp), (wtq, mtq, etq, atq), (wcp, mcp, ecp, acp), (wcq, mcq, ecq, acq) = parts
    att = (atq - atp) - (acq - acp)
    alr_ps = _logit_alr(d, ps, x, w, n)
    inf_treat = (etq - wtq * atq / mtq) - (etp - wtp * atp / mtp)
    inf_cont = (ecq - wcq * acq / mcq) - (ecp - wcp * acp / mcp)
    m_pre = x.T @ (wcp * (y - acp)) / n / mcp
    m_post = x.T @ (wcq * (y - acq)) / n / mcq
    inf_cont = inf_cont + alr_ps @ (m_post - m_pre)
    return float(att), inf_treat - inf_cont


def _dr_rc(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    ps: np.ndarray,
    trim_level: float,
    names: list[str],
) -> tuple[float, np.ndarray]:
    n = y.size
    keep = _trim(ps, d, trim_level)
    cell_w = {
        (g, t): w * (d if g else 1.0 - d) * (post if t else 1.0 - post)
        for g in (0, 1)
        for t in (0, 1)
    }
    fits = {}
    for (g, t), wt in cell_w.items():
        label = ("treated" if g else "comparison") + (" post" if t else " pre")
        what = f"the outcome regression among {label}-period observations"
        fits[(g, t)] = x @ _wls(y, x, wt, names, what=what)
    out_c0, out_c1, out_t0, out_t1 = fits[(0, 0)], fits[(0, 1)], fits[(1, 0)], fits[(1, 1)]
    out_cont = post * out_c1 + (1.0 - post) * out_c0
    odds = ps / (1.0 - ps)
    w_treat_pre = keep * w * d * (1.0 - post)
    w_treat_post = keep * w * d * post
    w_cont_pre = keep * w * odds * (1.0 - d) * (1.0 - post)
    w_cont_post = keep * w * odds * (1.0 - d) * post
    w_d = keep * w * d
    w_dt1 = w_treat_post
    w_dt0 = w_treat_pre
    means = {}
    for key, wt in (
        ("tpre", w_treat_pre),
        ("tpost", w_treat_post),
        ("cpre", w_cont_pre),
        ("cpost", w_cont_post),
        ("d", w_d),
    ):
        means[key] = wt.mean()
        if not means[key] > 0:
            raise _no_weight_error()
    resid = y - out_cont
    eta_tpre = w_treat_pre * resid / means["tpre"]
    eta_tpost = w_treat_post * resid / means["tpost"]
    eta_cpre = w_cont_pre * resid / means["cpre"]
    eta_cpost = w_cont_post * resid / means["cpost"]
    gap_post = out_t1 - out_c1
    gap_pre = out_t0 - out_c0
    eta_d_post = w_d * gap_post / means["d"]
    eta_dt1_post = w_dt1 * gap_post / means["tpost"]
    eta_d_pre = w_d * gap_pre / means["d"]
    eta_dt0_pre = w_dt0 * gap_pre / means["tpre"]
    a = {
        k: v.mean()
        for k, v in (
            ("tpre", eta_tpre),
            ("tpost", eta_tpost),
            ("cpre", eta_cpre),
            ("cpost", eta_cpost),
            ("d_post", eta_d_post),
            ("dt1_post", eta_dt1_post),
            ("d_pre", eta_d_pre),
            ("dt0_pre", eta_dt0_pre),
        )
    }
    att = (
        (a["tpost"] - a["tpre"])
        - (a["cpost"] - a["cpre"])
        + (a["d_post"] - a["dt1_post"])
        - (a["d_pre"] - a["dt0_pre"])
    )
    # Asymptotic linear representations of the four OLS fits and of the logit.
    alr_c0 = _ols_alr(y - out_c0, x, cell_w[(0, 0)], n)
    alr_c1 = _ols_alr(y - out_c1, x, cell_w[(0, 1)], n)
    alr_t0 = _ols_alr(y - out_t0, x, cell_w[(1, 0)], n)
    alr_t1 = _ols_alr(y - out_t1, x, cell_w[(1, 1)], n)
    alr_ps = _logit_alr(d, ps, x, w, n)

    def colmean(v: np.ndarray) -> np.ndarray:
        return x.T @ v / n

    # Treated component: leading terms and the effect of the comparison regressions.
    inf_tpre_1 = eta_tpre - w_treat_pre * a["tpre"] / means["tpre"]
    inf_tpost_1 = eta_tpost - w_treat_post * a["tpost"] / means["tpost"]
    m1_post = -colmean(w_treat_post * post) / means["tpost"]
    m1_pre = -colmean(w_treat_pre * (1.0 - post)) / means["tpre"]
    inf_treat_or = alr_c1 @ m1_post + alr_c0 @ m1_pre
    inf_treat = (inf_tpost_1 - inf_tpre_1) + inf_treat_or
    # Comparison component: leading terms, propensity-score and regression estimation effects.
    inf_cpre_1 = eta_cpre - w_cont_pre * a["cpre"] / means["cpre"]
    inf_cpost_1 = eta_cpost - w_cont_post * a["cpost"] / means["cpost"]
    m2_pre = colmean(w_cont_pre * (resid - a["cpre"])) / means["cpre"]
    m2_post = colmean(w_cont_post * (resid - a["cpost"])) / means["cpost"]
    inf_cont_ps = alr_ps @ (m2_post - m2_pre)
    m3_post = -colmean(w_cont_post * post) / means["cpost"]
    m3_pre = -colmean(w_cont_pre * (1.0 - post)) / means["cpre"]
    inf_cont_or = alr_c1 @ m3_post + alr_c0 @ m3_pre
    inf_cont = (inf_cpost_1 - inf_cpre_1) + inf_cont_ps + inf_cont_or
    dr_att_inf_1 = inf_treat - inf_cont
    # Extra terms of the locally efficient estimator.
    inf_eff1 = eta_d_post - w_d * a["d_post"] / means["d"]
    inf_eff2 = eta_dt1_post - w_dt1 * a["dt1_post"] / means["tpost"]
    inf_eff3 = eta_d_pre - w_d * a["d_pre"] / means["d"]
    inf_eff4 = eta_dt0_pre - w_dt0 * a["dt0_pre"] / means["tpre"]
    inf_eff = (inf_eff1 - inf_eff2) - (inf_eff3 - inf_eff4)
    mom_post = colmean(w_d / means["d"] - w_dt1 / means["tpost"])
    mom_pre = colmean(w_d / means["d"] - w_dt0 / means["tpre"])
    inf_or_post = alr_t1 @ mom_post - alr_c1 @ mom_post
    inf_or_pre = alr_t0 @ mom_pre - alr_c0 @ mom_pre
    inf_or = inf_or_post - inf_or_pre
    return float(att), dr_att_inf_1 + inf_eff + inf_or


# ---------------------------------------------------------------------------------------------
# Nuisance pieces
# ---------------------------------------------------------------------------------------------


def _propensity(d: np.ndarray, x: np.ndarray, w: np.ndarray, names: list[str]) -> np.ndarray:
    """DRDID's propensity score: weighted logit MLE, clipped to [1e-6, 1 - 1e-6]."""
    _, ps = logit_mle(d, x, w, names=names)
    return np.clip(ps, _PS_CLIP, 1.0 - _PS_CLIP)


class _Alr:
    """Asymptotic linear representation of a nuisance estimator, kept in factored form.

    Row i of the (n, p) representation is ``u_i * x_i' A`` (A = inverse of the scaled Hessian or
    Gram matrix); ``alr @ m`` returns the n-vector ``u * (x @ (A @ m))`` without forming the matrix.
    """

    __slots__ = ("a", "u", "x")

    def __init__(self, u: np.ndarray, x: np.ndarray, a: np.ndarray) -> None:
        self.u, self.x, self.a = u, x, a

    def __matmul__(self, m: np.ndarray) -> np.ndarray:
        return self.u * (self.x @ (self.a @ m))


def _logit_alr(d: np.ndarray, ps: np.ndarray, x: np.ndarray, w: np.ndarray, n: int) -> _Alr:
    """Logit coefficients: score_i' (H / n)^-1 with score_i = w_i (d_i - ps_i) x_i."""
    info = x.T @ ((ps * (1.0 - ps) * w)[:, None] * x)
    return _Alr(w * (d - ps), x, _inv_pd(info, "the propensity-score information matrix") * n)


def _ols_alr(resid: np.ndarray, x: np.ndarray, wt: np.ndarray, n: int) -> _Alr:
    """Weighted OLS coefficients: w_i e_i x_i' (X'WX / n)^-1."""
    gram = x.T @ (wt[:, None] * x) / n
    return _Alr(wt * resid, x, _inv_pd(gram, "an outcome-regression Gram matrix"))


def _wls(
    y: np.ndarray, x: np.ndarray, wt: np.ndarray, names: list[str], *, what: str
) -> np.ndarray:
    """Weighted least squares over the rows with positive weight (rank checked first)."""
    rows = wt > 0
    xs, ys, ws = x[rows], y[rows], wt[rows]
    _check_rank(xs, ws, names, what=what)
    sw = np.sqrt(ws)
    beta, *_ = linalg.lstsq(xs * sw[:, None], ys * sw, lapack_driver="gelsy")
    return np.asarray(beta, dtype=float)


def _check_rank(x: np.ndarray, wt: np.ndarray, names: list[str], *, what: str) -> None:
    """Pivoted QR of the weighted design: name the covariates that are linear combinations."""
    rows = wt > 0
    xs = x[rows] * np.sqrt(wt[rows])[:, None]
    p = x.shape[1]
    if xs.shape[0] < p:
        raise EstimationError(
            f"{what} has {xs.shape[0]} observation(s) with positive weight for {p} coefficients",
            columns=names,
            fix="use fewer covariates, or a larger comparison / treated group",
        )
    # Unit-norm columns first, so the tolerance is relative to each column's own size (as in R's
    # dqrdc2) and covariates measured on very different scales are not mistaken for collinear.
    norms = np.linalg.norm(xs, axis=0)
    zero = norms == 0
    _, r, piv = linalg.qr(xs / np.where(zero, 1.0, norms), mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > _RANK_TOL))
    if rank < p:
        bad = [names[j] for j in piv[rank:]]
        # Express each redundant column through the kept ones to name its partners.
        coef = linalg.solve_triangular(r[:rank, :rank], r[:rank, rank:]) if rank else None
        links = []
        for k, name in enumerate(bad):
            partners = (
                [names[piv[i]] for i in np.flatnonzero(np.abs(coef[:, k]) > 1e-8)]
                if coef is not None
                else []
            )
            links.append(
                f"{name!r} = combination of {', '.join(repr(q) for q in partners)}"
                if partners
                else f"{name!r} has no variation"
            )
        raise EstimationError(
            f"covariates are collinear (or constant) in {what}: the design has rank {rank} < {p} "
            f"({'; '.join(links)})",
            columns=bad,
            fix=f"drop {', '.join(repr(b) for b in bad)} (or the covariates it duplicates)",
        )


def _inv_pd(m: np.ndarray, what: str) -> np.ndarray:
    try:
        return linalg.inv(m)
    except (linalg.LinAlgError, ValueError):
        raise EstimationError(
            f"{what} is singular", fix="drop collinear covariates or use fewer covariates"
        ) from None


def _logit_loglik(d: np.ndarray, eta: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (d * eta - np.logaddexp(0.0, eta))))


def _separation_error(names: list[str], step: np.ndarray, collapsed: np.ndarray) -> SeparationError:
    big = np.abs(step)
    if collapsed.any():
        bad = [names[j] for j in np.flatnonzero(collapsed)]
    elif big.size and np.all(np.isfinite(big)) and big.max() > 0:
        bad = [names[j] for j in np.flatnonzero(big >= 0.1 * big.max())]
    else:
        bad = list(names)
    return SeparationError(
        "the propensity-score logit has no finite maximum: the covariates separate treated "
        "from comparison units (complete or quasi-complete separation), so some units have no "
        "comparable counterpart",
        columns=bad,
        fix="drop or coarsen the covariates named, or restrict the sample to the region of overlap",
    )


def _trim(ps: np.ndarray, d: np.ndarray, trim_level: float) -> np.ndarray:
    """DRDID's trimming: comparison units with ps >= trim_level are dropped; treated never are."""
    return np.where(d == 1, 1.0, (ps < trim_level).astype(float))


def _weight_means(w_treat: np.ndarray, w_cont: np.ndarray) -> tuple[float, float]:
    mt, mc = float(w_treat.mean()), float(w_cont.mean())
    if not mt > 0 or not mc > 0:
        raise _no_weight_error()
    return mt, mc


def _no_weight_error() -> DesignError:
    return DesignError(
        "no treated or no comparison observations carry weight after propensity-score trimming",
        columns=["d"],
        fix="check overlap: comparison units with propensity score >= trim_level are dropped",
    )


# ---------------------------------------------------------------------------------------------
# Input checks (typed errors naming the offending argument and rows)
# ---------------------------------------------------------------------------------------------


def _check_trim(trim_level: float) -> float:
    try:
        ok = 0.0 < float(trim_level) <= 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OptionError(f"trim_level={trim_level!r} must be in (0, 1]", fix="use e.g. 0.995")
    return float(trim_level)


def _length(name: str, a: object) -> int:
    arr = np.asarray(a)
    if arr.ndim != 1 or arr.size == 0:
        raise DataError(
            f"{name} must be a non-empty one-dimensional array, got shape {arr.shape}",
            columns=[name],
        )
    return int(arr.size)


def _numeric(name: str, a: object) -> np.ndarray:
    try:
        return np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric", columns=[name]) from None


def _examples(name: str, values: np.ndarray, bad: np.ndarray) -> pd.DataFrame:
    idx = np.flatnonzero(bad)[: config.get().example_rows]
    return pd.DataFrame({"row": idx, name: values[idx]})


def _vector(name: str, a: object, n: int) -> np.ndarray:
    v = _numeric(name, a)
    if v.ndim != 1 or v.size != n:
        raise DataError(
            f"{name} has shape {v.shape}; expected ({n},) like d",
            columns=[name],
            fix="pass one value per observation for every argument",
        )
    bad = ~np.isfinite(v)
    if bad.any():
        raise DataError(
            f"{name} has {int(bad.sum())} missing or infinite value(s)",
            columns=[name],
            rows=_examples(name, v, bad),
            fix="drop or impute those rows before estimating",
        )
    return v


def _binary(name: str, a: object, n: int) -> np.ndarray:
    v = _vector(name, a, n)
    bad = (v != 0) & (v != 1)
    if bad.any():
        raise DataError(
            f"{name} must be 0/1; {int(bad.sum())} value(s) are not",
            columns=[name],
            rows=_examples(name, v, bad),
            fix=f"code {name} as 1 (treated / post) and 0 (comparison / pre)",
        )
    return v


def _matrix(x: object, n: int, names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    m = _numeric("x", x)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[0] != n or m.shape[1] == 0:
        raise DataError(
            f"x has shape {m.shape}; expected ({n}, p) with p >= 1 (intercept included)",
            columns=["x"],
            fix="pass the covariate matrix with one row per observation and an intercept column",
        )
    p = m.shape[1]
    labels = [f"x{j}" for j in range(p)] if names is None else [str(s) for s in names]
    if len(labels) != p:
        raise DataError(
            f"names has {len(labels)} entries for {p} covariate column(s)",
            columns=labels,
            fix="give one name per column of x",
        )
    bad_rows = ~np.all(np.isfinite(m), axis=1)
    if bad_rows.any():
        bad_cols = [labels[j] for j in np.flatnonzero(~np.all(np.isfinite(m), axis=0))]
        idx = np.flatnonzero(bad_rows)[: config.get().example_rows]
        rows = pd.DataFrame(m[idx], columns=labels)
        rows.insert(0, "row", idx)
        raise DataError(
            f"covariates have missing or infinite values in {int(bad_rows.sum())} row(s)",
            columns=bad_cols,
            rows=rows,
            fix="drop or impute those rows before estimating",
        )
    return m, labels


def _weights(w: object, n: int) -> np.ndarray:
    if w is None:
        return np.ones(n)
    v = _vector("w", w, n)
    bad = v < 0
    if bad.any():
        raise DataError(
            f"weights must be non-negative; {int(bad.sum())} are negative",
            columns=["w"],
            rows=_examples("w", v, bad),
            fix="pass sampling weights >= 0",
        )
    if not v.sum() > 0:
        raise DataError("all weights are zero", columns=["w"], fix="pass positive weights")
    return v / v.mean()


def _require_both_groups(v: np.ndarray, name: str) -> None:
    if np.all(v == 1) or np.all(v == 0):
        level = int(v[0])
        raise DesignError(
            f"{name} is {level} for every observation: the DiD needs both values",
            columns=[name],
            fix=f"include observations with {name}={1 - level}",
        )
