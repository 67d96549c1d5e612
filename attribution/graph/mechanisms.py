"""Attribution of a shift in a metric's mean to the causal mechanisms that changed (dowhy gcm).

Budhathoki, Janzing, Bloebaum & Ng (2021), "Why did the distribution change?": fit each node's
mechanism (root: its empirical distribution; other nodes: an additive-noise linear model of its
parents) on the data before and after, then split the change of the target's mean into Shapley
contributions of replacing each node's old mechanism by the new one. The contributions add up to the
model's shift of the mean. dowhy's answer varies with the Monte-Carlo seed and with the sample, so
the attribution is repeated on bootstrap resamples of both periods with a seed each, and the result
reports the interval of every contribution, never a single draw. Every mechanism is refitted on each
period (no mechanism-change pre-test, whose kernel tests cost O(n²)): a mechanism that did not change
shows as a contribution whose interval covers zero.
"""

from __future__ import annotations

import contextlib
import io
import logging
import random

import numpy as np
import pandas as pd

from attribution.graph.dag import CausalGraph

__all__ = ["bootstrap_contributions"]


def _gcm():  # -> the dowhy.gcm module
    """dowhy.gcm, imported on first use without its compile-time escape-sequence warnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        from dowhy import gcm
        from dowhy.gcm import shapley  # noqa: F401
    return gcm


def _model(graph: CausalGraph, target: str):  # -> gcm.StructuralCausalModel
    import networkx as nx

    gcm = _gcm()

    g = graph.to_networkx()
    keep = nx.ancestors(g, target) | {target}
    sub = nx.DiGraph(g.subgraph([n for n in graph.nodes if n in keep]))
    model = gcm.StructuralCausalModel(sub)
    for n in sub.nodes:
        if sub.in_degree(n) == 0:
            model.set_causal_mechanism(n, gcm.EmpiricalDistribution())
        else:
            model.set_causal_mechanism(n, gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor()))
    return model, list(sub.nodes)


def _one(
    model, before: pd.DataFrame, after: pd.DataFrame, target: str, num_samples: int, seed: int
) -> dict[str, float]:
    gcm = _gcm()
    from dowhy.gcm.shapley import ShapleyApproximationMethods, ShapleyConfig

    gcm.util.general.set_random_seed(seed)
    out = gcm.distribution_change(
        model,
        before,
        after,
        target,
        num_samples=num_samples,
        difference_estimation_func=_mean_difference,
        independence_test=_always_changed,
        conditional_independence_test=_always_changed_given,
        mechanism_change_test_fdr_control_method=None,
        shapley_config=ShapleyConfig(
            approximation_method=ShapleyApproximationMethods.EXACT, n_jobs=1
        ),
    )
    return {str(k): float(v) for k, v in out.items()}


def _mean_difference(old: np.ndarray, new: np.ndarray) -> float:
    return float(np.mean(new) - np.mean(old))


def _always_changed(x: np.ndarray, y: np.ndarray) -> float:
    return 0.0


def _always_changed_given(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    return 0.0


def bootstrap_contributions(
    graph: CausalGraph,
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    target: str,
    n_boot: int,
    num_samples: int,
    seed: int,
) -> pd.DataFrame:
    """One row per bootstrap replicate (both periods resampled), one column per upstream node."""
    gcm = _gcm()

    gcm.config.disable_progress_bars()
    model, nodes = _model(graph, target)
    before = before[nodes].astype(float)
    after = after[nodes].astype(float)
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    rows = []
    quiet = logging.getLogger("dowhy")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002 (dowhy seeds the global RNGs)
    try:
        for ss in seeds:
            rng = np.random.default_rng(ss)
            b = before.iloc[rng.integers(0, len(before), len(before))].reset_index(drop=True)
            a = after.iloc[rng.integers(0, len(after), len(after))].reset_index(drop=True)
            dowhy_seed = int(rng.integers(0, 2**31 - 1))
            with contextlib.redirect_stderr(io.StringIO()):
                rows.append(_one(model, b, a, target, num_samples, dowhy_seed))
    finally:
        quiet.setLevel(level)
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return pd.DataFrame(rows, columns=nodes)
