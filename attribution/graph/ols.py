"""Least squares with heteroskedasticity-robust (HC1) covariance, on arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.errors import EstimationError

__all__ = ["covariate_columns", "hc1_ols", "residualise"]


def hc1_ols(y: np.ndarray, x: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and HC1 standard errors of y on x (x holds its own intercept column).

    Collinear columns are an EstimationError naming them (never a silently dropped regressor).
    """
    n, k = x.shape
    if n <= k:
        raise EstimationError(f"{n} rows cannot fit {k} coefficients", fix="use more rows")
    scale = np.sqrt((x**2).mean(0))
    scale[scale == 0] = 1.0
    xs = x / scale
    q, r = np.linalg.qr(xs)
    diag = np.abs(np.diag(r))
    tol = diag.max() * max(n, k) * np.finfo(float).eps * 1e3
    if (diag <= tol).any():
        bad = [names[i] for i in np.flatnonzero(diag <= tol)]
        raise EstimationError(
            f"{', '.join(bad)} is a linear combination of the other regressors (perfectly "
            "collinear), so its effect is not identified",
            columns=[b for b in bad if b != "(intercept)"],
            fix="drop one of the collinear columns from the treatments or confounders",
        )
    beta_s = np.linalg.solve(r, q.T @ y)
    resid = y - xs @ beta_s
    rinv = np.linalg.inv(r)
    bread = rinv @ rinv.T  # (X'X)^-1 in the scaled basis
    meat = (xs * resid[:, None] ** 2).T @ xs
    cov = bread @ meat @ bread * n / (n - k)
    beta = beta_s / scale
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) / scale
    return beta, se


def covariate_columns(col: pd.Series, name: str) -> tuple[list[np.ndarray], list[str], bool]:
    """A numeric column as itself; a string, categorical or boolean one as one 0/1 dummy per value
    (the first dropped). Returns the columns, their names and whether it was categorical."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return [col.to_numpy(float)], [name], False
    text = col.astype(str)
    levels = sorted(text.unique())
    return (
        [(text == lev).to_numpy(float) for lev in levels[1:]],
        [f"{name}={lev}" for lev in levels[1:]],
        True,
    )


def residualise(values: np.ndarray, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """`values` (n × m) minus their least-squares projection on an intercept and `columns`."""
    cols = [np.ones(len(frame))]
    for c in columns:
        cols += covariate_columns(frame[c], c)[0]
    x = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(x, values, rcond=None)
    return values - x @ coef
