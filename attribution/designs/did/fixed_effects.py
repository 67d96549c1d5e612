"""Two-way fixed effects: the static TWFE regression, the TWFE event study and the plain 2×2 DiD.

Model: ``y_it = a_i + l_t + b·D_it (+ X_it'g) + e_it``. The fixed effects are swept out by the
within transformation (alternating projections, Gaurav & Gaure; exact after one sweep on a balanced
panel), then OLS on the demeaned columns (Frisch–Waugh–Lovell) gives the coefficients.

Standard errors are cluster-robust (CR1, Liang & Zeger 1986) with fixest's small-sample convention for
fixed-effects models, as implemented by pyfixest 0.60 ``ssc(k_adj=True, k_fixef="nonnested",
G_adj=True)``: ``V = G/(G-1) · (n-1)/(n-K) · (X'X)^-1 (Σ_g X_g'u_g u_g'X_g) (X'X)^-1`` where ``K``
counts the slope coefficients plus the fixed-effect levels that are *not* nested in the clusters
(each fully nested fixed effect counts one), and intervals / p-values use Student t with ``G-1``
degrees of freedom. With units as clusters this is ``K = k + T`` (T = number of periods).
Singleton observations (a unit seen once) are kept; pyfixest / fixest drop them by default, which
changes n in that factor — the estimates are the same.

The treatment in :func:`twfe` must be absorbing (0 until the unit adopts, 1 from then on): with
heterogeneous or dynamic effects the static TWFE coefficient is a weighted average with possibly
negative weights (Goodman-Bacon 2021; de Chaisemartin & D'Haultfœuille 2020) — use the event study,
Sun & Abraham or Callaway & Sant'Anna for those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from attribution import config
from attribution.data.checks import require_complete
from attribution.data.engine import Data, as_table, fetch, fingerprint, require_columns
from attribution.data.panel import check_panel
from attribution.designs.did.panel import validate_did_panel
from attribution.errors import DataError, DesignError, EstimationError, OptionError
from attribution.inference import critical_value, uniform_critical_value, wald_table
from attribution.options import check_alpha
from attribution.results import Provenance, Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "EventStudyResult",
    "FeFit",
    "PretrendTest",
    "TwfeResult",
    "did_2x2",
    "event_study",
    "fit_fe_ols",
    "pretrend_test",
    "twfe",
]

VCOV_NOTE = (
    "CR1 cluster-robust: G/(G-1)·(n-1)/(n-K), K = slopes + fixed-effect levels not nested in the "
    "clusters (fixest / pyfixest default); t(G-1) intervals"
)


# ------------------------------------------------------------------------------------------------
# pure math over arrays
# ------------------------------------------------------------------------------------------------
def demean(
    columns: np.ndarray, fe: Sequence[np.ndarray], *, tol: float = 1e-13, max_iter: int = 10_000
) -> np.ndarray:
    """Sweep fixed effects out of each column of `columns` (n × p) by alternating projections.

    `fe` holds one integer code array (0..L-1) per fixed-effect dimension. One sweep is exact for a
    single dimension or a balanced two-way panel; otherwise the sweeps repeat until the largest
    change is below `tol` times the column scale (Gaure 2013, "lfe").
    """
    x = np.array(columns, dtype=float, copy=True)
    if x.ndim == 1:
        x = x[:, None]
    if not fe:
        return x
    counts = [np.bincount(codes).astype(float) for codes in fe]
    scale = max(float(np.abs(x).max(initial=0.0)), 1.0)
    for _ in range(max_iter):
        change = 0.0
        for codes, n_g in zip(fe, counts, strict=True):
            for j in range(x.shape[1]):
                means = np.bincount(codes, weights=x[:, j], minlength=len(n_g)) / n_g
                step = means[codes]
                x[:, j] -= step
                change = max(change, float(np.abs(step).max(initial=0.0)))
        if len(fe) == 1 or change <= tol * scale:
            return x
    raise EstimationError(
        f"the fixed-effect demeaning did not converge in {max_iter} sweeps",
        fix="check for a badly connected panel (units and periods that barely overlap)",
    )


def _nested(fe_codes: np.ndarray, cluster_codes: np.ndarray) -> bool:
    """True if every level of the fixed effect lies inside one cluster."""
    order = np.lexsort((cluster_codes, fe_codes))
    f, c = fe_codes[order], cluster_codes[order]
    same_level = f[1:] == f[:-1]
    return not bool(np.any(same_level & (c[1:] != c[:-1])))


@dataclass(frozen=True)
class FeFit:
    """OLS with absorbed fixed effects and CR1 covariance (what every TWFE variant here returns)."""

    coef: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_clusters: int
    df_k: int
    df_t: int


def fit_fe_ols(
    y: np.ndarray,
    x: np.ndarray,
    fe: Sequence[np.ndarray],
    cluster: np.ndarray,
    *,
    names: Sequence[str],
) -> FeFit:
    """Regress y on x absorbing the fixed effects `fe`; cluster-robust CR1 covariance (module doc).

    Raises DesignError naming the regressors that are collinear with the fixed effects (pyfixest
    drops them silently; a dropped treatment dummy would change what the estimate means).
    """
    n = len(y)
    x = np.asarray(x, dtype=float).reshape(n, -1)
    k = x.shape[1]
    both = demean(np.column_stack([y, x]), fe)
    yd, xd = both[:, 0], both[:, 1:]
    if k == 0:
        raise DesignError("no regressor left to estimate")
    xtx = xd.T @ xd
    scale = np.sqrt(np.clip(np.diag(xtx), 0.0, None))
    ref_scale = np.sqrt(np.clip(np.diag(x.T @ x), 0.0, None))
    dead = scale <= 1e-10 * np.maximum(ref_scale, 1e-300)
    safe = np.where(dead, 1.0, scale)
    corr = xtx / np.outer(safe, safe)
    corr[dead, :] = 0.0
    corr[:, dead] = 0.0
    # pivoted QR of the (k × k) normalised Gram matrix names the collinear columns cheaply
    _, r, piv = scipy.linalg.qr(corr, pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-10))
    if rank < k:
        bad = [names[i] for i in sorted(piv[rank:])]
        raise DesignError(
            f"regressor(s) {bad} are collinear with the fixed effects or each other",
            columns=bad,
            fix="drop them, widen/narrow the event window, or add never-treated (or later-treated) "
            "units so every relative period is identified",
        )
    xtx_inv = np.linalg.inv(xtx)
    coef = xtx_inv @ (xd.T @ yd)
    resid = yd - xd @ coef
    cl_codes, cl_idx = np.unique(cluster, return_inverse=True)
    g = len(cl_codes)
    if g < 2:
        raise DesignError(
            "cluster-robust standard errors need at least two clusters; the data have one",
            fix="cluster on a finer variable",
        )
    xu = xd * resid[:, None]
    scores = np.column_stack([np.bincount(cl_idx, weights=xu[:, j], minlength=g) for j in range(k)])
    meat = scores.T @ scores
    # small-sample factor (pyfixest get_ssc, k_fixef="nonnested")
    k_fe = [int(codes.max()) + 1 for codes in fe]
    n_fe = len(fe)
    k_fe_adj = sum(k_fe) - (n_fe - 1) if n_fe > 1 else sum(k_fe)
    nested = [_nested(codes, cl_idx) for codes in fe]
    k_nested = sum(kf for kf, ok in zip(k_fe, nested, strict=True) if ok)
    n_fully = sum(nested)
    if n_fe == 0:
        df_k = k
    elif k_nested == 0:
        df_k = k + k_fe_adj
    else:
        df_k = k + k_fe_adj - k_nested + n_fully
    if n - df_k <= 0:
        raise DesignError(
            f"{n} observations cannot identify {df_k} parameters",
            fix="use more periods or units",
        )
    adj = (g / (g - 1)) * (n - 1) / (n - df_k)
    vcov = adj * xtx_inv @ meat @ xtx_inv
    return FeFit(coef=coef, vcov=vcov, n_obs=n, n_clusters=g, df_k=int(df_k), df_t=g - 1)


def wald_chi2(est: np.ndarray, vcov: np.ndarray) -> tuple[float, int, float]:
    """Joint Wald statistic est' V^-1 est, its degrees of freedom and the chi-square p-value."""
    est = np.asarray(est, float)
    if est.size == 0:
        raise DesignError("no coefficients to test")
    try:
        stat = float(est @ np.linalg.solve(vcov, est))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the covariance of the tested coefficients is singular",
            fix="drop redundant coefficients",
        ) from exc
    df = int(est.size)
    return stat, df, float(stats.chi2.sf(stat, df))


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TwfeResult(Result):
    """Static TWFE (or 2×2) coefficient(s) with CR1 cluster-robust inference."""

    n_obs: int
    n_units: int
    n_periods: int
    n_clusters: int
    vcov_type: str = VCOV_NOTE
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})

    @property
    def estimate(self) -> float:
        """The first (treatment) coefficient."""
        return float(self.table["estimate"].iloc[0])

    @property
    def std_error(self) -> float:
        return float(self.table["std_error"].iloc[0])


@dataclass(frozen=True, kw_only=True)
class EventStudyResult(Result):
    """Event-study coefficients by event time (reference period normalised to 0, not in the table).

    `table` has one row per event time with pointwise intervals plus `conf_low_uniform` /
    `conf_high_uniform` (sup-t simultaneous band at the same level).
    """

    ref: int
    n_obs: int
    n_units: int
    n_clusters: int
    uniform_crit: float
    estimator: str
    vcov_type: str = VCOV_NOTE
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    extra: pd.DataFrame | None = field(default=None, repr=False, metadata={"internal": True})

    @property
    def cohort_effects(self) -> pd.DataFrame | None:
        """Cohort × event-time coefficients behind an interaction-weighted estimate (else None)."""
        return None if self.extra is None else self.extra.copy(deep=False)

    def event_study(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(event_times, estimates, vcov) — the protocol `pretrend_test` and `honest_did` consume."""
        return (
            self.table["event_time"].to_numpy(int).copy(),
            self.table["estimate"].to_numpy(float).copy(),
            np.array(self.vcov, copy=True),
        )

    def plot(self, *, ax: Axes | None = None, uniform: bool = True) -> Figure:
        """Coefficients by event time with pointwise bars and (if `uniform`) the sup-t band."""
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax)
        t = self.table
        e = t["event_time"].to_numpy(float)
        est = t["estimate"].to_numpy(float)
        if uniform and np.isfinite(self.uniform_crit):
            ax.fill_between(
                e,
                t["conf_low_uniform"].to_numpy(float),
                t["conf_high_uniform"].to_numpy(float),
                alpha=0.2,
                step=None,
                label=f"{100 * (1 - self.alpha):g}% uniform band",
            )
        ax.errorbar(
            e,
            est,
            yerr=[est - t["conf_low"].to_numpy(float), t["conf_high"].to_numpy(float) - est],
            fmt="o",
            capsize=3,
            label=f"estimate, {100 * (1 - self.alpha):g}% pointwise",
        )
        ax.plot([self.ref], [0.0], "o", mfc="white", color="C0", label=f"reference ({self.ref})")
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.axvline(self.ref + 0.5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("event time (periods since adoption)")
        ax.set_ylabel("effect")
        ax.set_title(self.design)
        ax.legend(loc="best", fontsize="small")
        return fig


@dataclass(frozen=True, kw_only=True)
class PretrendTest(Result):
    """Joint Wald test that every pre-period event-study coefficient is zero."""

    statistic: float
    df: int
    p_value: float
    event_times: tuple[int, ...]


# ------------------------------------------------------------------------------------------------
# helpers shared with sunab / components
# ------------------------------------------------------------------------------------------------
def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(f"{what} must be a column name (a non-empty string), got {value!r}")
    return value


def _names(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (_name(value, what),)
    if isinstance(value, Sequence):
        return tuple(_name(v, what) for v in value)
    raise OptionError(f"{what} must be a column name or a list of names, got {value!r}")


def _distinct_roles(roles: dict[str, Sequence[str] | str | None]) -> None:
    flat: list[str] = []
    for v in roles.values():
        if v is None:
            continue
        flat.extend([v] if isinstance(v, str) else list(v))
    dup = sorted({c for c in flat if flat.count(c) > 1})
    if dup:
        raise OptionError(
            f"the same column is given more than one role: {dup}",
            columns=dup,
            fix="pass distinct columns for " + ", ".join(roles),
        )


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values), sort=True)[0].astype(np.int64)


def _pull(table: ir.Table, cols: Sequence[str], *, what: str) -> pd.DataFrame:
    unique = list(dict.fromkeys(cols))
    return fetch(table.select(*unique), what=what).reset_index(drop=True)


def _check_window(window: object) -> tuple[int, int] | None:
    if window is None:
        return None
    ok = (
        isinstance(window, Sequence)
        and len(window) == 2
        and all(isinstance(w, int | np.integer) and not isinstance(w, bool) for w in window)
        and window[0] <= window[1]
    )
    if not ok:
        raise OptionError(
            f"window={window!r} must be a pair of integers (first, last event time), first <= last"
        )
    return int(window[0]), int(window[1])


def _check_ref(ref: object) -> int:
    if not isinstance(ref, int | np.integer) or isinstance(ref, bool):
        raise OptionError(f"ref={ref!r} must be an integer event time (e.g. -1)")
    return int(ref)


def _event_table(
    event_times: np.ndarray,
    fit_coef: np.ndarray,
    vcov: np.ndarray,
    *,
    alpha: float,
    df: float | None,
) -> tuple[pd.DataFrame, float]:
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    table = wald_table([f"e={int(e)}" for e in event_times], fit_coef, se, alpha=alpha, df=df)
    table.insert(1, "event_time", np.asarray(event_times, dtype=np.int64))
    ucrit = uniform_critical_value(vcov, alpha, seed=config.get().seed)
    if df is not None and np.isfinite(ucrit):
        # scale the normal sup-t value by the t/normal ratio so small-G bands are not too narrow
        ucrit *= critical_value(alpha, df) / critical_value(alpha)
    table["conf_low_uniform"] = table["estimate"] - ucrit * se
    table["conf_high_uniform"] = table["estimate"] + ucrit * se
    return table, ucrit


# ------------------------------------------------------------------------------------------------
# public designs
# ------------------------------------------------------------------------------------------------
def twfe(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    treatment: str,
    cluster: str | None = None,
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> TwfeResult:
    """Static two-way fixed-effects DiD ``y ~ treatment (+ covariates) | idname + tname``.

    The treatment column must be 0/1 and absorbing (once 1, a unit stays 1); panels may be
    unbalanced. Standard errors: CR1 clustered on `cluster` (default `idname`) with fixest's
    small-sample convention (module docstring); matches ``pyfixest.feols(..., vcov={"CRV1": ...})``.
    """
    yname, tname, idname = _name(yname, "yname"), _name(tname, "tname"), _name(idname, "idname")
    treatment = _name(treatment, "treatment")
    cluster = idname if cluster is None else _name(cluster, "cluster")
    covs = _names(covariates, "covariates")
    alpha = check_alpha(alpha)
    _distinct_roles(
        {
            "yname": yname,
            "tname": tname,
            "idname": idname,
            "treatment": treatment,
            "covariates": covs,
        }
    )
    if cluster in (yname, tname, treatment, *covs):
        raise OptionError(f"cluster={cluster!r} is also used as another role", columns=[cluster])
    t = as_table(data)
    spec = {yname: "numeric", tname: "key", idname: "key", treatment: "binary", cluster: "key"}
    spec.update(dict.fromkeys(covs, "numeric"))
    require_columns(t, spec, role="twfe")
    require_complete(t, list(spec), role="twfe")
    shape = check_panel(t, unit=idname, time=tname, require_balanced=False)
    df = _pull(t, [yname, tname, idname, treatment, cluster, *covs], what="twfe")
    d = df[treatment].astype(float)
    bad = ~d.isin([0.0, 1.0])
    if bad.any():
        raise DataError(
            f"treatment column {treatment!r} must be 0/1; {int(bad.sum()):,} rows hold other values",
            columns=[treatment],
            rows=df.loc[bad, [idname, tname, treatment]].head(config.get().example_rows),
            fix="code the treatment as 1 for treated unit-periods and 0 otherwise "
            "(for a continuous exposure use the DML design)",
        )
    _require_absorbing(df, idname=idname, tname=tname, treatment=treatment)
    if d.nunique() < 2:
        raise DesignError(
            f"treatment {treatment!r} never varies (all {int(d.iloc[0])})",
            columns=[treatment],
            fix="the panel needs both treated and untreated unit-periods",
        )
    x = df[[treatment, *covs]].to_numpy(float)
    fe = [_codes(df[idname]), _codes(df[tname])]
    fit = fit_fe_ols(
        df[yname].to_numpy(float), x, fe, df[cluster].to_numpy(), names=[treatment, *covs]
    )
    se = np.sqrt(np.diag(fit.vcov))
    table = wald_table([treatment, *covs], fit.coef, se, alpha=alpha, df=fit.df_t)
    return TwfeResult(
        design="did.twfe",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.twfe",
            data=fingerprint(t, n_rows=shape.n_rows),
            options={
                "yname": yname,
                "tname": tname,
                "idname": idname,
                "treatment": treatment,
                "cluster": cluster,
                "covariates": list(covs),
                "alpha": alpha,
            },
        ),
        n_obs=fit.n_obs,
        n_units=shape.n_units,
        n_periods=len(shape.periods),
        n_clusters=fit.n_clusters,
        vcov=fit.vcov,
    )


def _require_absorbing(df: pd.DataFrame, *, idname: str, tname: str, treatment: str) -> None:
    """Raise DataError naming units whose 0/1 treatment switches off again."""
    s = df[[idname, tname, treatment]].sort_values([idname, tname])
    prev = s.groupby(idname, sort=False)[treatment].shift()
    off = (prev == 1) & (s[treatment] == 0)
    if off.any():
        units = s.loc[off, idname].unique()
        rows = s[s[idname].isin(units[: config.get().example_rows])]
        raise DataError(
            f"treatment {treatment!r} switches off (1 then 0) in {len(units):,} unit(s); TWFE DiD "
            "here needs an absorbing treatment (0 before adoption, 1 from adoption on)",
            columns=[idname, tname, treatment],
            rows=rows.head(3 * config.get().example_rows),
            fix="code treatment as 'ever adopted by this period', or drop the periods after a "
            "unit switches off (treatment reversals need a different design, e.g. "
            "de Chaisemartin–D'Haultfœuille)",
        )


def event_study(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    ref: int = -1,
    window: tuple[int, int] | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """TWFE dynamic event study ``y ~ Σ_{e≠ref} 1[t-g=e] | idname + tname``.

    `gname` is the first treated period (0 = never treated, R `did`'s convention); never-treated
    units have every event-time dummy 0. With `window=(lo, hi)`, treated-unit rows whose event time
    lies outside [lo, hi] are dropped (not binned) and reported in `n_obs`. Matches pyfixest
    ``feols("y ~ i(rel_time, ref=ref) | id + t", vcov={"CRV1": cluster})``. Under staggered
    adoption with heterogeneous effects these coefficients mix cohorts with non-convex weights
    (Sun & Abraham 2021) — see :func:`attribution.designs.did.sunab.sun_abraham`.
    """
    ref = _check_ref(ref)
    win = _check_window(window)
    alpha = check_alpha(alpha)
    panel = validate_did_panel(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        clustervars=cluster,
        allow_unbalanced_panel=True,
    )
    cluster = idname if cluster is None else cluster
    t = panel.table
    df = _pull(
        t.mutate(_cohort=panel.cohort()),
        [yname, tname, idname, cluster, "_cohort"],
        what="event_study",
    )
    frame, rel = _relative_time(df, tname=tname, cohort="_cohort", ref=ref, window=win)
    times = np.array(sorted(set(rel[np.isfinite(rel)].astype(int)) - {ref}), dtype=np.int64)
    if ref not in set(rel[np.isfinite(rel)].astype(int)):
        raise DesignError(
            f"the reference event time ref={ref} is not observed for any treated unit",
            columns=[tname, gname],
            fix="choose a ref among the observed event times "
            f"({sorted(set(rel[np.isfinite(rel)].astype(int)))[:12]}…) or widen the window",
        )
    if len(times) == 0:
        raise DesignError("no event time besides the reference is observed", columns=[gname])
    x = (rel[:, None] == times[None, :]).astype(float)
    names = [f"e={e}" for e in times]
    fe = [_codes(frame[idname]), _codes(frame[tname])]
    fit = fit_fe_ols(frame[yname].to_numpy(float), x, fe, frame[cluster].to_numpy(), names=names)
    table, ucrit = _event_table(times, fit.coef, fit.vcov, alpha=alpha, df=fit.df_t)
    return EventStudyResult(
        design="did.event_study",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.event_study",
            data=fingerprint(t, n_rows=panel.n_rows),
            options={
                "yname": yname,
                "tname": tname,
                "idname": idname,
                "gname": gname,
                "ref": ref,
                "window": list(win) if win else None,
                "cluster": cluster,
                "alpha": alpha,
            },
            seed=config.get().seed,
        ),
        ref=ref,
        n_obs=fit.n_obs,
        n_units=int(frame[idname].nunique()),
        n_clusters=fit.n_clusters,
        uniform_crit=ucrit,
        estimator="twfe",
        vcov=fit.vcov,
    )


def _relative_time(
    df: pd.DataFrame,
    *,
    tname: str,
    cohort: str,
    ref: int,
    window: tuple[int, int] | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Event time t - g for treated units (NaN for never treated), applying the window."""
    g = df[cohort].to_numpy(float)
    tt = df[tname].to_numpy(float)
    rel = np.where(g > 0, tt - g, np.nan)
    finite = rel[np.isfinite(rel)]
    if finite.size and not np.allclose(finite, np.round(finite)):
        raise DataError(
            f"event times {tname} - cohort are not whole numbers",
            columns=[tname, cohort],
            fix="use integer period indices for the time and cohort columns",
        )
    if window is not None:
        lo, hi = window
        if not lo <= ref <= hi:
            raise OptionError(
                f"window={list(window)} does not contain the reference event time ref={ref}",
                fix="widen the window or move ref inside it",
            )
        keep = ~np.isfinite(rel) | ((rel >= lo) & (rel <= hi))
        inside = np.isfinite(rel) & keep
        if not inside.any():
            raise DesignError(
                f"no treated observation has an event time inside window={list(window)}",
                columns=[tname, cohort],
                fix="widen the window",
            )
        df = df.loc[keep].reset_index(drop=True)
        rel = rel[keep]
    return df, np.round(rel)


def did_2x2(
    data: Data,
    *,
    yname: str,
    group: str,
    post: str,
    idname: str | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> TwfeResult:
    """The canonical 2×2 DiD: ``y ~ group:post (+ covariates) | FE``.

    With `idname` (a panel) the fixed effects are unit + post, so `group` is absorbed; without it
    (repeated cross-sections) they are group + post. The term in `tidy()` is ``"{group}:{post}"``.
    `group` must be constant within a unit; both are 0/1. CR1 clustered on `cluster` (default
    `idname`; required for cross-sections, since errors are rarely independent there).
    """
    yname, group, post = _name(yname, "yname"), _name(group, "group"), _name(post, "post")
    idname = None if idname is None else _name(idname, "idname")
    covs = _names(covariates, "covariates")
    alpha = check_alpha(alpha)
    if cluster is None:
        if idname is None:
            raise OptionError(
                "did_2x2 without idname needs an explicit cluster",
                fix="pass cluster= (e.g. the unit or market column)",
            )
        cluster = idname
    cluster = _name(cluster, "cluster")
    _distinct_roles(
        {"yname": yname, "group": group, "post": post, "idname": idname, "covariates": covs}
    )
    t = as_table(data)
    spec: dict[str, str] = {yname: "numeric", group: "binary", post: "binary", cluster: "key"}
    if idname is not None:
        spec[idname] = "key"
    spec.update(dict.fromkeys(covs, "numeric"))
    require_columns(t, spec, role="did_2x2")
    require_complete(t, list(spec), role="did_2x2")
    df = _pull(t, list(spec), what="did_2x2")
    ex = config.get().example_rows
    for c in (group, post):
        bad = ~df[c].astype(float).isin([0.0, 1.0])
        if bad.any():
            raise DataError(
                f"{c!r} must be 0/1; {int(bad.sum()):,} rows hold other values",
                columns=[c],
                rows=df.loc[bad, [c]].head(ex),
                fix="code it 1/0",
            )
    cells = df.groupby([df[group].astype(int), df[post].astype(int)]).size()
    missing = [(gv, pv) for gv in (0, 1) for pv in (0, 1) if (gv, pv) not in cells.index]
    if missing:
        raise DesignError(
            f"the 2×2 design has empty cells ({group}, {post}) = {missing}",
            columns=[group, post],
            fix="every combination of group and post must have observations",
        )
    if idname is not None:
        varies = df.groupby(idname)[group].nunique()
        if (varies > 1).any():
            units = varies[varies > 1].index[:ex]
            raise DataError(
                f"{group!r} changes within {int((varies > 1).sum()):,} unit(s); the treated group "
                "is a unit-level attribute",
                columns=[idname, group],
                rows=df[df[idname].isin(units)][[idname, group, post]].head(3 * ex),
                fix=f"set {group} = 1 on every row of a treated unit (use `post` for timing)",
            )
        fe = [_codes(df[idname]), _codes(df[post])]
    else:
        fe = [_codes(df[group]), _codes(df[post])]
    term = f"{group}:{post}"
    x = np.column_stack([df[group].to_numpy(float) * df[post].to_numpy(float), df[list(covs)]])
    fit = fit_fe_ols(df[yname].to_numpy(float), x, fe, df[cluster].to_numpy(), names=[term, *covs])
    se = np.sqrt(np.diag(fit.vcov))
    table = wald_table([term, *covs], fit.coef, se, alpha=alpha, df=fit.df_t)
    return TwfeResult(
        design="did.2x2",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.2x2",
            data=fingerprint(t, n_rows=len(df)),
            options={
                "yname": yname,
                "group": group,
                "post": post,
                "idname": idname,
                "cluster": cluster,
                "covariates": list(covs),
                "alpha": alpha,
            },
        ),
        n_obs=fit.n_obs,
        n_units=int(df[idname].nunique()) if idname else len(df),
        n_periods=2,
        n_clusters=fit.n_clusters,
        vcov=fit.vcov,
    )


def pretrend_test(result: Any) -> PretrendTest:
    """Joint Wald (chi-square) test that all pre-period event-study coefficients are zero.

    Works for any result with the ``event_study() -> (event_times, estimates, vcov)`` protocol
    (EventStudyResult, Callaway–Sant'Anna dynamic aggregation). Pre-periods are event times below
    -1 for results that include the reference -1 with zero variance, otherwise every event time < 0.
    """
    if not hasattr(result, "event_study"):
        raise OptionError(
            f"pretrend_test needs an event-study result, got {type(result).__name__}",
            fix="pass the result of event_study, sun_abraham, launch_event_study or "
            "aggte(type='dynamic')",
        )
    times, est, vcov = result.event_study()
    times = np.asarray(times, dtype=float)
    est = np.asarray(est, dtype=float)
    vcov = np.asarray(vcov, dtype=float)
    var = np.diag(vcov)
    pre = (times < 0) & (var > 0)
    if not pre.any():
        raise DesignError(
            "the event study has no pre-period coefficient to test",
            fix="estimate leads (event times < 0 other than the reference)",
        )
    stat, dof, p = wald_chi2(est[pre], vcov[np.ix_(pre, pre)])
    table = pd.DataFrame(
        {
            "term": ["pre-trend (joint)"],
            "estimate": [stat],
            "std_error": [np.nan],
            "conf_low": [np.nan],
            "conf_high": [np.nan],
            "p_value": [p],
            "df": [dof],
        }
    )
    alpha = float(getattr(result, "alpha", config.get().alpha))
    return PretrendTest(
        design="did.pretrend_test",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.pretrend_test",
            data=getattr(getattr(result, "provenance", None), "data", None),
            options={"source": getattr(result, "design", type(result).__name__)},
        ),
        statistic=stat,
        df=dof,
        p_value=p,
        event_times=tuple(int(e) for e in times[pre]),
    )
