"""Nuisance models and sample splits for double ML, fitted through econml.

The default nuisance learner is scikit-learn's histogram gradient boosting: fast on millions of rows,
no scaling needed, captures the non-linear confounding (activity, segment) a linear model misses. Any
scikit-learn estimator is accepted. The sample splits are made here (seeded; by cluster when
clustered, stratified by treatment level when discrete) and handed to econml as explicit folds, so
the same splits can be given to another implementation (the DoubleML parity test) and a cluster
never sits on both sides of a split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier

__all__ = [
    "CrossFit",
    "default_classifier",
    "default_multiclass",
    "default_regressor",
    "fit_discrete",
    "fit_linear",
    "make_folds",
]


def default_regressor(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=100, random_state=seed)


def default_classifier(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, random_state=seed)


def default_multiclass(seed: int) -> Any:
    """Propensity over many combinations: boosting with a slower rate and large leaves, because
    the default classifier drives the probabilities of rare combinations to ~0 out of fold, and
    doubly robust weights are their inverses."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.05, min_samples_leaf=100, random_state=seed
    )


def make_folds(
    n: int,
    *,
    cv: int,
    seed: int,
    clusters: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`cv` (train, test) index pairs: shuffled K-fold; whole clusters per fold when clustered
    (clusters shuffled, then dealt round-robin by size so folds stay balanced); stratified by
    treatment level for a discrete treatment."""
    idx = np.arange(n)
    if clusters is not None:
        labels, codes = np.unique(clusters, return_inverse=True)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(labels))
        sizes = np.bincount(codes, minlength=len(labels))
        # largest first (stable on the shuffled order), each to the currently smallest fold
        order = order[np.argsort(-sizes[order], kind="stable")]
        load = np.zeros(cv)
        fold_of = np.empty(len(labels), dtype=int)
        for g in order:
            k = int(np.argmin(load))
            fold_of[g] = k
            load[k] += sizes[g]
        fold = fold_of[codes]
    elif strata is not None:
        from sklearn.model_selection import StratifiedKFold

        fold = np.empty(n, dtype=int)
        skf = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed % 2**32)
        for k, (_, test) in enumerate(skf.split(np.zeros(n), strata)):
            fold[test] = k
    else:
        from sklearn.model_selection import KFold

        fold = np.empty(n, dtype=int)
        kf = KFold(n_splits=cv, shuffle=True, random_state=seed % 2**32)
        for k, (_, test) in enumerate(kf.split(idx)):
            fold[test] = k
    return [(idx[fold != k], idx[fold == k]) for k in range(cv)]


@dataclasses.dataclass(frozen=True)
class CrossFit:
    """Out-of-fold residuals (original row order) and what econml estimated from them."""

    y_res: np.ndarray  # (n,)
    t_res: np.ndarray  # (n, p): residual treatments (or treatment-level indicators)
    estimator: Any  # the fitted econml estimator
    propensity: np.ndarray | None = None  # (n, levels) out-of-fold, discrete treatments only


def fit_linear(
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    x: np.ndarray | None,
    *,
    folds: list[tuple[np.ndarray, np.ndarray]],
    model_y: Any,
    model_t: Any,
    estimator: str,
    seed: int,
) -> CrossFit:
    """Cross-fit E[y|W,X] and E[t|W,X] with econml's DML learners and return the residuals."""
    from econml.dml import CausalForestDML, LinearDML, SparseLinearDML

    m_t = clone(model_t)
    if t.ndim == 2 and t.shape[1] > 1:  # one model per exposure (most learners are single-output)
        from sklearn.multioutput import MultiOutputRegressor

        m_t = MultiOutputRegressor(m_t)
    common = dict(
        model_y=clone(model_y),
        model_t=m_t,
        cv=folds,
        random_state=seed % 2**32,
        discrete_treatment=False,
    )
    if estimator == "linear":
        est = LinearDML(**common)
    elif estimator == "sparse":
        est = SparseLinearDML(**common)
    else:
        est = CausalForestDML(**common, n_estimators=100, min_samples_leaf=10, inference=True)
    est.fit(
        y,
        t if t.shape[1] > 1 else t[:, 0],
        X=x,
        W=w,
        cache_values=True,
        inference=None if estimator == "forest" else "auto",
    )
    y_res, t_res, _, _ = est.residuals_
    return CrossFit(
        y_res=np.asarray(y_res, float).reshape(-1),
        t_res=np.asarray(t_res, float).reshape(len(y), -1),
        estimator=est,
    )


def fit_discrete(
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    x: np.ndarray | None,
    *,
    folds: list[tuple[np.ndarray, np.ndarray]],
    model_y: Any,
    model_t: Any,
    seed: int,
    levels: np.ndarray,
) -> CrossFit:
    """Average effects of each treatment level against the first through econml's doubly robust
    learner (LinearDRLearner), with out-of-fold propensities for the overlap check."""
    from econml.dr import LinearDRLearner

    est = LinearDRLearner(
        model_regression=clone(model_y),
        model_propensity=clone(model_t),
        categories=list(levels),
        cv=folds,
        random_state=seed % 2**32,
    )
    est.fit(y, t, X=x, W=w, cache_values=True)
    feats = w if x is None else np.hstack([x, w])
    prop = np.empty((len(y), len(levels)))
    for (_, test), nuis in zip(folds, est.models_nuisance_[0], strict=True):
        prop[test] = nuis._model_propensity.best_model.predict_proba(feats[test])
    onehot = (t.reshape(-1, 1) == levels.reshape(1, -1)).astype(float)
    return CrossFit(
        y_res=np.full(len(y), np.nan),
        t_res=onehot[:, 1:] - prop[:, 1:],
        estimator=est,
        propensity=prop,
    )


def is_model(model: Any, *, classifier: bool | None = None) -> bool:
    """A scikit-learn style estimator (get_params, fit, predict[_proba])."""
    if not (hasattr(model, "get_params") and hasattr(model, "fit") and hasattr(model, "predict")):
        return False
    if classifier is True:
        return is_classifier(model) and hasattr(model, "predict_proba")
    return True
