"""`dml()`: effects of observational exposures by double/debiased machine learning on econml.

Thin orchestration: argument checks (request.py) → completeness and variation checks in the engine,
one pull of the role columns (stats.py) → sample splits and cross-fitted nuisance models through
econml (nuisance.py) → the orthogonal final stage with HC0 or CR1 covariance (moments.py) →
sensitivity elements (sensitivity.py) → `DmlResult` (results.py). Binary components: AIPW cell
means of their combinations (aipw.py) → `decompose.shapley_split`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from attribution import config
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.data.numeric import check_outcome
from attribution.data.roles import Roles, select_roles
from attribution.decompose import shapley_split
from attribution.designs.dml import aipw, heterogeneity, nuisance, sensitivity
from attribution.designs.dml import request as req
from attribution.designs.dml.moments import final_stage
from attribution.designs.dml.results import TOTAL, DmlResult, contribution_term
from attribution.designs.dml.stats import Pulled, pull
from attribution.errors import AttributionWarning, DesignError, EstimationError, OptionError
from attribution.inference import wald_table
from attribution.options import check_alpha, check_bool, check_int, check_option, check_seed
from attribution.progress import Steps
from attribution.results import Check, Provenance

__all__ = ["dml"]

DmlEstimator = Literal["linear", "sparse", "forest"]

MIN_RESIDUAL_SHARE = 0.01
"""Below this share of a treatment's variance left after adjusting for the confounders, the effect
rests on very little independent variation: warned and reported as a failed Check."""
MIN_NUISANCE_ROWS = 100
"""Smallest `nuisance_rows`: fewer rows fit no useful nuisance model."""
PROGRESS_ROWS = 500_000
"""From this many rows a fit is long enough that its steps are printed unless progress=False."""
OVERLAP = 0.01
"""Propensities outside [OVERLAP, 1 − OVERLAP] fail the overlap check (discrete treatments)."""
MAX_POOR_OVERLAP_SHARE = 0.05
"""Combinations of components: the overlap check fails when more than this share of units has a
propensity below OVERLAP for some combination (with 2^k cells a few such units are expected even
under mild confounding; their weights are trimmed)."""


def dml(
    data: Data,
    *,
    outcome: str,
    treatments: str | Sequence[str],
    confounders: Sequence[str],
    effect_modifiers: Sequence[str] | None = None,
    discrete_treatment: bool = False,
    estimator: DmlEstimator = "linear",
    model_y: BaseEstimator | None = None,
    model_t: BaseEstimator | None = None,
    cv: int = 5,
    cluster: str | None = None,
    random_state: int | None = None,
    alpha: float = 0.05,
    nuisance_rows: int | None = None,
    progress: bool | None = None,
) -> DmlResult:
    """Effects of one or several exposures on `outcome`, adjusting for `confounders` by double ML.

    Why: when exposure to a component was not randomised, it follows activity, segment and surface
    mix, which also drive the outcome. Double ML learns both dependences with flexible models on
    held-out folds and estimates the effect from what is left (Chernozhukov et al. 2018), so the
    estimate is insensitive to small errors of those models.

    Continuous `treatments` (several at once): the partially linear model y = t'θ + g(W) + ε; each θ_j
    is the effect of one more unit of exposure j with the others held fixed (with effects that vary,
    a variance-weighted average of them). With several treatments the headline (`total`) is the
    effect of raising every exposure by one unit. `discrete_treatment=True` (one column, binary or
    categorical): the average effect of each level against the first, by econml's doubly robust
    learner, with a propensity-overlap check. `discrete_treatment=True` with several 0/1 (or
    boolean) columns, one per component (which of E, R, K a unit got): the doubly robust (AIPW)
    average outcome under each of the 2^k combinations (cross-fitted multinomial propensity over
    the combinations, one outcome model per combination, propensities trimmed at 0.01), rows
    ``E+K`` for each combination against all off, the headline ``total`` (all on − all off) and its
    exact Shapley split in rows ``contribution(E)`` (`component` set; they add up to the total),
    through the same `decompose.shapley_split` as the factorial design. Every combination must
    have units.

    Heterogeneity (`effect_modifiers`): with categorical modifiers, rows per segment with
    Holm-adjusted p-values and Bonferroni simultaneous intervals across segments and a Wald
    (Cochran's Q) Check that the effect is equal in all segments; with any modifiers, a
    best-linear-predictor calibration Check (the outcome on an out-of-fold predicted effect: a
    slope above zero says the heterogeneity is real).

    Nuisance models: `model_y` (outcome) and `model_t` (treatment; a classifier when discrete) are any
    scikit-learn estimators; default histogram gradient boosting. `cv` folds, split by `cluster` when
    given (whole clusters per fold) with CR1 standard errors on G − 1 df; otherwise HC0 on the
    orthogonal moment (DoubleML's PLR standard error). `random_state` seeds the splits and the
    default models (default: `config.seed`). String or boolean confounders are one-hot encoded.
    `estimator` ("linear", "sparse", "forest") picks econml's LinearDML, SparseLinearDML or
    CausalForestDML for the cross-fitting; the average effects are always the orthogonal
    final-stage estimates on those residuals. Rows with missing values are refused, never dropped.

    Large data: only the role columns leave the engine (one pull, bounded by `config.max_pull_rows`).
    `nuisance_rows=N` (at least 100) fits each fold's nuisance models on a seeded subsample of at most
    N of its training rows, bounding the models' time and memory; they still predict every held-out
    row (in chunks), so the final stage and its standard errors use all rows. In that mode the
    confounder matrix is held as float32 when both learners are histogram gradient boosting (they
    bin features anyway). Off by default: the numbers are then those of econml on the full folds.
    Choose N large enough that the learners fit as well as on all rows (compare the nuisance R²
    checks): DML's guarantee needs nuisance errors that shrink with the sample, and a capped
    subsample's do not, so on very large data an N too small leaves a bias of several standard
    errors.
    `progress`: steps with timings on stderr; default (None) only for fits on at least
    500,000 rows.
    """
    alpha = check_alpha(alpha)
    outcome = req.check_column("outcome", outcome)
    treats = req.check_columns("treatments", treatments)
    confs = req.check_columns("confounders", confounders)
    mods = (
        ()
        if effect_modifiers is None
        else req.check_columns("effect_modifiers", effect_modifiers, allow_empty=True)
    )
    if cluster is not None:
        cluster = req.check_column("cluster", cluster)
    discrete = check_bool("discrete_treatment", discrete_treatment)
    estimator = check_option("estimator", estimator, DmlEstimator)
    cv = check_int("cv", cv, minimum=2, maximum=100)
    seed = (
        config.get().seed if random_state is None else check_seed(random_state, name="random_state")
    )
    req.check_learners(model_y, model_t, discrete=discrete)
    if nuisance_rows is not None:
        nuisance_rows = check_int("nuisance_rows", nuisance_rows, minimum=MIN_NUISANCE_ROWS)
    if progress is not None:
        progress = check_bool("progress", progress)
    req.check_roles(outcome, treats, confs, mods, cluster)
    if discrete and estimator != "linear":
        raise OptionError(
            f"estimator={estimator!r} is for continuous treatments",
            fix="use estimator='linear' with discrete_treatment=True (doubly robust learner)",
        )
    if cluster is not None and estimator != "linear":
        raise OptionError(
            f"cluster= is supported with estimator='linear', not {estimator!r}",
            fix="use estimator='linear' for cluster-robust double ML",
        )
    if estimator == "forest" and not mods:
        raise OptionError(
            "estimator='forest' needs effect_modifiers (the columns the effect may vary with)",
            fix="pass effect_modifiers=[...], or use estimator='linear'",
        )

    combos = discrete and len(treats) > 1
    table = as_table(data)
    spec = {outcome: "numeric", **dict.fromkeys(treats, "any" if discrete else "numeric")}
    spec.update(dict.fromkeys([*confs, *mods], "any"))
    if cluster is not None:
        spec[cluster] = "key"
    require_columns(table, spec, role="dml")
    if combos:
        schema = table.schema()
        for c in treats:
            if not (schema[c].is_numeric() or schema[c].is_boolean()):
                raise DesignError(
                    f"discrete_treatment=True with several treatments takes one 0/1 column per "
                    f"component, not one treatment column per level; {c!r} is {schema[c]}",
                    columns=[c],
                    fix="pass 0/1 (or boolean) indicators of the components a unit got, or one "
                    "categorical treatment column",
                )
    check_outcome(table, outcome)
    roles = select_roles(
        table,
        {
            "outcome": outcome,
            "treatments": treats,
            "confounders": confs,
            "effect_modifiers": mods or None,
            "cluster": cluster,
        },
    )
    with roles.user_names():
        return _estimate(
            roles,
            outcome=outcome,
            treats=treats,
            confs=confs,
            mods=mods,
            discrete=discrete,
            estimator=estimator,
            model_y=model_y,
            model_t=model_t,
            cv=cv,
            cluster=cluster,
            seed=seed,
            alpha=alpha,
            nuisance_rows=nuisance_rows,
            progress=progress,
        )


def _estimate(
    roles: Roles,
    *,
    outcome: str,
    treats: tuple[str, ...],
    confs: tuple[str, ...],
    mods: tuple[str, ...],
    discrete: bool,
    estimator: str,
    model_y: BaseEstimator | None,
    model_t: BaseEstimator | None,
    cv: int,
    cluster: str | None,
    seed: int,
    alpha: float,
    nuisance_rows: int | None,
    progress: bool | None,
) -> DmlResult:
    steps = Steps(3, enabled=bool(progress))
    combos = discrete and len(treats) > 1
    m_y = model_y if model_y is not None else nuisance.default_regressor(seed)
    if combos:
        m_t = model_t if model_t is not None else nuisance.default_multiclass(seed)
    elif discrete:
        m_t = model_t if model_t is not None else nuisance.default_classifier(seed)
    else:
        m_t = model_t if model_t is not None else nuisance.default_regressor(seed)
    float32 = nuisance_rows is not None and nuisance.accepts_float32(m_y, m_t)
    with steps.step("pulling the role columns from the engine"):
        data = pull(roles, treatments=treats, discrete=discrete and not combos, float32=float32)
    n = len(data.y)
    if progress is None and n >= PROGRESS_ROWS:
        steps.enabled = True
        steps.note(f"{n:,} rows pulled")
    notes: list[str] = []
    if data.encoded:
        notes.append(
            f"categorical column(s) {list(data.encoded)} entered the models as indicators of "
            "their levels (the first level is the reference)"
        )
    n_clusters = None
    if data.clusters is not None:
        n_clusters = len(np.unique(data.clusters))
        if n_clusters < cv:
            raise DesignError(
                f"cluster column {cluster!r} has {n_clusters} values, fewer than cv={cv} folds",
                columns=[cluster or ""],
                fix=f"use cv <= {n_clusters}, or cluster on a finer unit",
            )
    if combos:
        return _combinations(
            data,
            roles,
            m_y=m_y,
            m_t=m_t,
            seed=seed,
            notes=notes,
            outcome=outcome,
            treats=treats,
            confs=confs,
            mods=mods,
            cv=cv,
            cluster=cluster,
            n_clusters=n_clusters,
            alpha=alpha,
        )
    levels = req.treatment_levels(data.t, treats[0]) if discrete else None
    if n < 2 * cv:
        raise DesignError(
            f"{n} rows are too few for cv={cv} folds", fix="use more rows or fewer folds"
        )
    if not discrete:
        req.check_treatment_matrix(data.t, treats)
    strata = None
    if discrete:
        strata = np.searchsorted(levels, data.t)
        counts = np.bincount(strata, minlength=len(levels))
        if counts.min() < cv:
            raise DesignError(
                f"treatment {treats[0]!r} level {levels[int(np.argmin(counts))]!r} has "
                f"{int(counts.min())} rows, fewer than cv={cv} folds",
                columns=[treats[0]],
                fix="merge rare levels or use fewer folds",
            )
    folds = nuisance.make_folds(n, cv=cv, seed=seed, clusters=data.clusters, strata=strata)
    # the learners as econml sees them: subsampled fits and chunked predictions on large data
    f_y = nuisance.budget(m_y, max_rows=nuisance_rows, seed=seed, n=n)
    f_t = nuisance.budget(m_t, max_rows=nuisance_rows, seed=seed, n=n)
    train = max(len(tr) for tr, _ in folds)
    if nuisance_rows is not None and train > nuisance_rows:
        notes.append(
            f"nuisance models fitted on a seeded subsample of {nuisance_rows:,} of the up to "
            f"{train:,} training rows of each fold; their predictions, the residuals and the "
            "final stage use every row"
        )
    with (
        warnings.catch_warnings(),
        steps.step(
            f"cross-fitting {1 + len(treats)} nuisance model(s) on {cv} folds of {n:,} rows"
        ),
    ):
        warnings.filterwarnings("ignore", module="econml")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*Co-variance matrix is underdetermined.*")
        if discrete:
            return _discrete(
                data,
                roles,
                levels=levels,
                folds=folds,
                m_y=m_y,
                m_t=m_t,
                f_y=f_y,
                f_t=f_t,
                seed=seed,
                notes=notes,
                outcome=outcome,
                treats=treats,
                confs=confs,
                mods=mods,
                cv=cv,
                alpha=alpha,
                nuisance_rows=nuisance_rows,
            )
        fit = nuisance.fit_linear(
            data.y,
            data.t,
            data.w,
            data.x,
            folds=folds,
            model_y=f_y,
            model_t=f_t,
            estimator=estimator,
            seed=seed,
        )
    with steps.step("final stage on every row's residuals"):
        stage = final_stage(fit.y_res, fit.t_res, clusters=data.clusters)
    se = np.sqrt(np.clip(np.diag(stage.vcov), 0.0, None))
    tab = wald_table(list(treats), stage.theta, se, alpha=alpha, df=stage.df)
    if len(treats) > 1:
        ones = np.ones(len(treats))
        tot = float(ones @ stage.theta)
        tot_se = float(np.sqrt(max(ones @ stage.vcov @ ones, 0.0)))
        tab = pd.concat(
            [tab, wald_table([TOTAL], [tot], [tot_se], alpha=alpha, df=stage.df)],
            ignore_index=True,
        )
    checks, r2 = _linear_checks(data, fit, treats, outcome)
    if data.x_frame is not None:
        labels = _segment_labels(data.x_frame, roles)
        if labels is None:
            notes.append(
                "effect modifiers include numeric columns: no per-segment rows (the nuisance "
                "models use them; pass categorical modifiers for effects by segment)"
            )
        else:
            seg, seg_checks, seg_notes = heterogeneity.by_segment(
                fit.y_res, fit.t_res, labels, treats, clusters=data.clusters, alpha=alpha
            )
            tab = pd.concat([tab.assign(segment=None), seg], ignore_index=True)
            tab["segment"] = tab["segment"].astype(object)
            checks += seg_checks
            notes += seg_notes
    if data.x is not None:
        checks += heterogeneity.blp_linear(
            fit.y_res, fit.t_res, data.x, treats, folds=folds, clusters=data.clusters
        )
    if cluster is not None:
        notes.append(
            f"folds split by {cluster!r} and CR1 standard errors over {n_clusters} clusters "
            f"(t reference with {n_clusters - 1} df)"
            + ("; few clusters make CR1 unreliable" if (n_clusters or 0) < 30 else "")
        )
    sens = sensitivity.elements(
        data.y, fit.y_res, fit.t_res, stage.theta, stage.residual, stage.influence, stage.gram
    )
    # the partially linear model's mean outcome at zero exposure: E[y] − θ'E[t]
    zero_mean = float(
        np.mean(data.y) - stage.theta @ np.mean(data.t.reshape(len(data.y), -1), axis=0)
    )
    return _result(
        roles,
        tab=tab,
        checks=checks,
        r2=r2,
        vcov=stage.vcov,
        sens=sens,
        n=n,
        n_clusters=n_clusters,
        outcome=outcome,
        treats=treats,
        confs=confs,
        mods=mods,
        zero_exposure_mean=zero_mean,
        discrete=False,
        estimator=estimator,
        cluster=cluster,
        cv=cv,
        seed=seed,
        alpha=alpha,
        notes=notes,
        m_y=m_y,
        m_t=m_t,
        baseline_level=None,
        nuisance_rows=nuisance_rows,
    )


def _segment_labels(frame: pd.DataFrame, roles: Roles) -> np.ndarray | None:
    """One label per row for the combination of the categorical modifiers (None if any is numeric)."""
    schema = roles.table.schema()
    if not all(schema[c].is_string() or schema[c].is_boolean() for c in frame.columns):
        return None
    parts = [frame[c].astype(str) for c in frame.columns]
    label = parts[0]
    for p in parts[1:]:
        label = label + ", " + p
    return label.to_numpy()


def _linear_checks(
    data: Pulled, fit: nuisance.CrossFit, treats: tuple[str, ...], outcome: str
) -> tuple[list[Check], pd.DataFrame]:
    """Out-of-fold R² of every nuisance model and the residual-variation check per treatment."""
    checks: list[Check] = []
    rows = []
    var_y = float(np.var(data.y))
    r2_y = 1.0 - float(np.mean(fit.y_res**2)) / var_y
    rows.append({"model": "outcome", "column": outcome, "r2_out_of_fold": r2_y})
    checks.append(
        Check(
            "nuisance R² (outcome)",
            None,
            f"out-of-fold R² of the outcome model for {outcome}: {r2_y:.3f}",
            statistic=r2_y,
        )
    )
    for j, c in enumerate(treats):
        var_t = float(np.var(data.t[:, j]))
        left = float(np.mean(fit.t_res[:, j] ** 2)) / var_t
        rows.append({"model": "treatment", "column": c, "r2_out_of_fold": 1.0 - left})
        ok = left >= MIN_RESIDUAL_SHARE
        checks.append(
            Check(
                f"residual variation ({c})",
                ok,
                f"{100 * left:.3g}% of the variance of {c} is left after adjusting for the "
                f"confounders (out-of-fold R² of its model {1 - left:.3f})"
                + (
                    ""
                    if ok
                    else f"; below {100 * MIN_RESIDUAL_SHARE:g}%: the effect rests on "
                    "very little independent variation"
                ),
                statistic=left,
            )
        )
        if not ok:
            warnings.warn(
                f"only {100 * left:.3g}% of the variance of {c} is left after adjusting for the "
                "confounders: its effect is barely identified; see result.checks",
                AttributionWarning,
                stacklevel=4,
            )
    return checks, pd.DataFrame(rows)


def _discrete(
    data: Pulled,
    roles: Roles,
    *,
    levels: np.ndarray,
    folds: list,
    m_y: BaseEstimator,
    m_t: BaseEstimator,
    f_y: BaseEstimator,
    f_t: BaseEstimator,
    seed: int,
    notes: list[str],
    outcome: str,
    treats: tuple[str, ...],
    confs: tuple[str, ...],
    mods: tuple[str, ...],
    cv: int,
    alpha: float,
    nuisance_rows: int | None,
) -> DmlResult:
    # modifiers centred: the final stage's intercept is then the average effect over the sample
    x = None if data.x is None else data.x - data.x.mean(axis=0)
    fit = nuisance.fit_discrete(
        data.y,
        data.t,
        data.w,
        x,
        folds=folds,
        model_y=f_y,
        model_t=f_t,
        seed=seed,
        levels=levels,
    )
    est = fit.estimator
    col = treats[0]
    terms, theta, se = [], [], []
    for lev in levels[1:]:
        terms.append(col if len(levels) == 2 else f"{col}={_plain(lev)}")
        theta.append(float(np.squeeze(est.intercept_(T=lev))))
        se.append(float(np.squeeze(est.intercept__inference(T=lev).stderr)))
    tab = wald_table(terms, theta, se, alpha=alpha)
    prop = fit.propensity
    lo, hi = float(prop.min()), float(prop.max())
    ok = lo >= OVERLAP and hi <= 1 - OVERLAP
    checks = [
        Check(
            "propensity overlap",
            ok,
            f"out-of-fold propensities of the levels of {col} range over [{lo:.3g}, {hi:.3g}]"
            + (
                ""
                if ok
                else f"; outside [{OVERLAP:g}, {1 - OVERLAP:g}] some units have almost no "
                "comparable units in another level, and the doubly robust weights explode"
            ),
            statistic=lo,
        )
    ]
    if not ok:
        warnings.warn(
            f"poor overlap: propensities of {col} reach {lo:.3g} / {hi:.3g}; see result.checks",
            AttributionWarning,
            stacklevel=4,
        )
    onehot = data.t.reshape(-1, 1) == levels.reshape(1, -1)
    r2_t = 1.0 - float(np.mean((onehot - prop) ** 2) / np.mean(np.var(onehot, axis=0)))
    r2 = pd.DataFrame([{"model": "propensity", "column": col, "r2_out_of_fold": r2_t}])
    checks.append(
        Check(
            "nuisance R² (propensity)",
            None,
            f"out-of-fold R² (Brier skill) of the propensity model for {col}: {r2_t:.3f}",
            statistic=r2_t,
        )
    )
    if data.x is not None:
        # the learner's own cross-fitted doubly robust scores, one column per level
        scores = np.asarray(est._cached_values.nuisances[0], float).reshape(len(data.y), -1)
        pseudo = scores[:, 1:] - scores[:, [0]]
        labels = None if data.x_frame is None else _segment_labels(data.x_frame, roles)
        if labels is None:
            notes.append(
                "effect modifiers include numeric columns: no per-segment rows (the nuisance "
                "models use them; pass categorical modifiers for effects by segment)"
            )
        else:
            seg, seg_checks, seg_notes = heterogeneity.by_segment_discrete(
                pseudo, labels, terms, alpha=alpha
            )
            tab = pd.concat([tab.assign(segment=None), seg], ignore_index=True)
            tab["segment"] = tab["segment"].astype(object)
            checks += seg_checks
            notes += seg_notes
        checks += heterogeneity.blp_discrete(pseudo, data.x, terms, folds=folds)
    k = len(levels) - 1
    vcov = np.diag(np.asarray(se) ** 2) if k else np.zeros((0, 0))
    notes.append(
        f"average effects of each level of {col} against {_plain(levels[0])} (doubly robust)"
    )
    return _result(
        roles,
        tab=tab,
        checks=checks,
        r2=r2,
        vcov=vcov,
        sens=None,
        n=len(data.y),
        n_clusters=None,
        outcome=outcome,
        treats=treats,
        confs=confs,
        mods=mods,
        discrete=True,
        estimator="linear",
        cluster=None,
        cv=cv,
        seed=seed,
        alpha=alpha,
        notes=notes,
        m_y=m_y,
        m_t=m_t,
        baseline_level=_plain(levels[0]),
        terms=terms,
        nuisance_rows=nuisance_rows,
    )


def _combinations(
    data: Pulled,
    roles: Roles,
    *,
    m_y: BaseEstimator,
    m_t: BaseEstimator,
    seed: int,
    notes: list[str],
    outcome: str,
    treats: tuple[str, ...],
    confs: tuple[str, ...],
    mods: tuple[str, ...],
    cv: int,
    cluster: str | None,
    n_clusters: int | None,
    alpha: float,
) -> DmlResult:
    """Binary components: AIPW mean of the outcome under every combination, effects against all
    off, and the Shapley split of all on − all off through `decompose.shapley_split`."""
    k = len(treats)
    cell = req.check_components(data.t, treats)
    req.check_cells(cell, treats, cv=cv)
    folds = nuisance.make_folds(len(cell), cv=cv, seed=seed, clusters=data.clusters, strata=cell)
    for train, _ in folds:  # whole clusters per fold can leave a combination out of a training set
        absent = sorted(set(range(2**k)) - set(np.unique(cell[train]).tolist()))
        if absent:
            raise DesignError(
                f"combination {req.combination_term(absent[0], treats)} has units in too few "
                f"clusters of {cluster!r}: a training fold has none of them",
                columns=[*treats, cluster or ""],
                fix="use fewer folds, cluster on a finer unit, or estimate fewer components",
            )
    feats = data.w if data.x is None else np.hstack([data.w, data.x])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        cm = aipw.cell_means(
            data.y,
            cell,
            feats,
            n_cells=2**k,
            folds=folds,
            model_y=m_y,
            model_t=m_t,
            clusters=data.clusters,
        )
    base = np.zeros(2**k)
    base[0] = 1.0
    contrast = np.eye(2**k)[1:] - base  # each combination (and all on, last) against all off
    eff = contrast @ cm.means
    v_eff = contrast @ cm.vcov @ contrast.T
    terms = [req.combination_term(c, treats) for c in range(1, 2**k - 1)] + [TOTAL]
    se = np.sqrt(np.clip(np.diag(v_eff), 0.0, None))
    tab = wald_table(terms, eff, se, alpha=alpha, df=cm.df).assign(component=None)
    split = shapley_split(cm.means, cm.vcov, components=treats, alpha=alpha, df=cm.df)
    contrib = split.table.assign(term=[contribution_term(c) for c in split.table["component"]])
    tab = pd.concat([tab, contrib[tab.columns]], ignore_index=True)
    tab["component"] = tab["component"].astype(object)

    prop = cm.propensity
    lo = float(prop.min())
    poor = float(np.mean(prop.min(axis=1) < OVERLAP))
    ok = poor <= MAX_POOR_OVERLAP_SHARE
    names = ", ".join(treats)
    checks = [
        Check(
            "propensity overlap",
            ok,
            f"{100 * poor:.3g}% of units have an out-of-fold propensity below {OVERLAP:g} for some "
            f"of the {2**k} combinations of {names} (smallest {lo:.3g}); {cm.trimmed} units had "
            f"their own propensity clipped to {aipw.PROPENSITY_FLOOR:g}"
            + (
                ""
                if ok
                else f"; more than {100 * MAX_POOR_OVERLAP_SHARE:g}% of units have almost no "
                "comparable units in another combination: the estimates rest on extrapolation "
                "and trimmed weights"
            ),
            statistic=poor,
        )
    ]
    if not ok:
        warnings.warn(
            f"poor overlap: {100 * poor:.3g}% of units have a propensity below {OVERLAP:g} for "
            f"some combination of {names}; see result.checks",
            AttributionWarning,
            stacklevel=4,
        )
    onehot = cell.reshape(-1, 1) == np.arange(2**k).reshape(1, -1)
    r2_t = 1.0 - float(np.mean((onehot - prop) ** 2) / np.mean(np.var(onehot, axis=0)))
    pred = cm.outcome_pred[np.arange(len(cell)), cell]
    r2_y = 1.0 - float(np.mean((data.y - pred) ** 2) / np.var(data.y))
    r2 = pd.DataFrame(
        [
            {"model": "outcome", "column": outcome, "r2_out_of_fold": r2_y},
            {"model": "propensity", "column": "+".join(treats), "r2_out_of_fold": r2_t},
        ]
    )
    checks += [
        Check(
            "nuisance R² (outcome)",
            None,
            f"out-of-fold R² of the per-combination outcome models for {outcome}: {r2_y:.3f}",
            statistic=r2_y,
        ),
        Check(
            "nuisance R² (propensity)",
            None,
            f"out-of-fold R² (Brier skill) of the propensity model over the combinations of "
            f"{names}: {r2_t:.3f}",
            statistic=r2_t,
        ),
    ]
    notes.append(
        f"average {outcome} under each of the {2**k} combinations of {names} (doubly robust, "
        "cross-fitted multinomial propensity and one outcome model per combination); rows "
        "'E+K' are combinations against all off, 'total' is all on against all off, and the "
        "contribution rows are its exact Shapley split (they add up to total)"
    )
    if mods:
        notes.append(
            f"effect modifiers {list(mods)} enter the nuisance models; the combination effects are "
            "averages over them"
        )
    if cluster is not None:
        notes.append(
            f"folds split by {cluster!r} and CR1 standard errors over {n_clusters} clusters "
            f"(t reference with {(n_clusters or 0) - 1} df)"
        )
    return _result(
        roles,
        tab=tab,
        checks=checks,
        r2=r2,
        vcov=v_eff,
        sens=None,
        n=len(cell),
        n_clusters=n_clusters,
        outcome=outcome,
        treats=treats,
        confs=confs,
        mods=mods,
        discrete=True,
        estimator="linear",
        cluster=cluster,
        cv=cv,
        seed=seed,
        alpha=alpha,
        notes=notes,
        m_y=m_y,
        m_t=m_t,
        baseline_level="none",
        terms=terms,
        cell_means=pd.Series(
            cm.means, index=[req.combination_term(c, treats) for c in range(2**k)]
        ),
    )


def _result(
    roles: Roles,
    *,
    tab,
    checks,
    r2,
    vcov,
    sens,
    n,
    n_clusters,
    outcome,
    treats,
    confs,
    mods,
    discrete,
    estimator,
    cluster,
    cv,
    seed,
    alpha,
    notes,
    m_y,
    m_t,
    baseline_level,
    terms=None,
    nuisance_rows=None,
    cell_means=None,
    zero_exposure_mean=None,
) -> DmlResult:
    if not np.isfinite(tab["estimate"]).all():
        raise EstimationError(
            f"the effect estimates of {list(treats)} are not finite",
            columns=list(treats),
            fix="check for extreme values in the treatments and confounders",
        )
    names = list(terms or treats)
    provenance = Provenance(
        design="dml",
        data=fingerprint(roles.source, n_rows=n),
        options={
            "outcome": outcome,
            "treatments": list(treats),
            "confounders": list(confs),
            "effect_modifiers": list(mods),
            "discrete_treatment": discrete,
            "estimator": estimator,
            "model_y": repr(m_y),
            "model_t": repr(m_t),
            "cv": cv,
            "cluster": cluster,
            "alpha": alpha,
            "baseline_level": baseline_level,
            "nuisance_rows": nuisance_rows,
        },
        seed=seed,
    )
    return DmlResult(
        design="dml",
        table=tab,
        alpha=alpha,
        provenance=provenance,
        checks=tuple(checks),
        outcome=outcome,
        treatments=treats,
        confounders=confs,
        effect_modifiers=mods,
        estimator=estimator,
        discrete_treatment=discrete,
        cluster=cluster,
        n_obs=n,
        n_clusters=n_clusters,
        cv=cv,
        seed=seed,
        notes=tuple(roles.to_user(s) for s in notes),
        vcov_table=pd.DataFrame(vcov, index=names[: len(vcov)], columns=names[: len(vcov)]),
        nuisance_r2=r2,
        cell_means=cell_means,
        zero_exposure_mean=zero_exposure_mean,
        _sens=sens,
    )


def _plain(v: object) -> str:
    v = v.item() if isinstance(v, np.generic) else v
    return str(v)
