"""Nuisance models and sample splits for double ML, fitted through econml.

The default nuisance learner is scikit-learn's histogram gradient boosting: fast on millions of rows,
no scaling needed, captures the non-linear confounding (activity, segment) a linear model misses. Any
scikit-learn estimator is accepted. The sample splits are made here (seeded; by cluster when
clustered, stratified by treatment level when discrete) and handed to econml as explicit folds, so
the same splits can be given to another implementation (the DoubleML parity test) and a cluster
never sits on both sides of a split.

Large data (`Budgeted`): on millions of rows a learner may be fitted on a seeded subsample of at most
`nuisance_rows` rows of each fold's training set, and predicts in chunks of `PREDICT_CHUNK` rows, so
the models' working memory is bounded by the subsample and the chunk, not by the table; the
out-of-fold predictions (hence the residuals and the final stage) still cover every row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils.metaestimators import available_if

__all__ = [
    "PREDICT_CHUNK",
    "Budgeted",
    "CrossFit",
    "accepts_float32",
    "budget",
    "default_classifier",
    "default_multiclass",
    "default_regressor",
    "fit_discrete",
    "fit_linear",
    "make_folds",
]


PREDICT_CHUNK = 200_000
"""Rows per prediction call of a `Budgeted` learner (bounds the memory of predicting a large fold)."""
FLOAT32_LEARNERS = ("HistGradientBoostingRegressor", "HistGradientBoostingClassifier")
"""Learners that bin their features (so float32 features lose nothing they would use): with these,
the pulled confounder matrix is held in float32 in large-data mode (`nuisance_rows=`)."""


class Budgeted(BaseEstimator):
    """`model` fitted on at most `max_rows` rows of its training set (a seeded subsample, rows kept
    in order), predicting in chunks of `chunk` rows. With `max_rows=None` it is `model` itself, up to
    the chunking (predictions row by row are unchanged)."""

    def __init__(
        self, model: Any = None, max_rows: int | None = None, seed: int = 0, chunk: int = 0
    ) -> None:
        self.model = model
        self.max_rows = max_rows
        self.seed = seed
        self.chunk = chunk

    def fit(self, X: np.ndarray, y: np.ndarray) -> Budgeted:
        n = X.shape[0]
        if self.max_rows is not None and n > self.max_rows:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(n, size=self.max_rows, replace=False))
            X, y = X[keep], y[keep]
        self.model_ = clone(self.model).fit(X, y)
        self.n_fit_rows_ = X.shape[0]
        if hasattr(self.model_, "classes_"):
            self.classes_ = self.model_.classes_
        return self

    def _chunked(self, method: str, X: np.ndarray) -> np.ndarray:
        f = getattr(self.model_, method)
        size = self.chunk or PREDICT_CHUNK
        if X.shape[0] <= size:
            return f(X)
        return np.concatenate([f(X[i : i + size]) for i in range(0, X.shape[0], size)])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._chunked("predict", X)

    @available_if(lambda self: hasattr(self.model, "predict_proba"))
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._chunked("predict_proba", X)

    def __sklearn_tags__(self) -> Any:
        return self.model.__sklearn_tags__()


def budget(model: Any, *, max_rows: int | None, seed: int, n: int) -> Any:
    """`model` as econml should see it: `Budgeted` when subsampling is asked for or the table is
    larger than one prediction chunk. Otherwise, and for a scikit-learn CV learner (LassoCV ...)
    without subsampling, the model itself, so econml's own treatment of it (choosing the
    hyperparameters once, then refitting per fold) is unchanged."""
    if max_rows is None:
        from econml.sklearn_extensions.model_selection import SklearnCVSelector

        if n <= PREDICT_CHUNK or SklearnCVSelector.can_wrap(model):
            return model
    return Budgeted(model, max_rows=max_rows, seed=seed)


def accepts_float32(*models: Any) -> bool:
    """Every learner bins its features (histogram gradient boosting): float32 input costs nothing."""
    return all(type(m).__name__ in FLOAT32_LEARNERS for m in models)


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

        if isinstance(m_t, Budgeted):  # one subsample for all exposures, chunked once
            m_t.set_params(model=MultiOutputRegressor(m_t.model))
        else:
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
