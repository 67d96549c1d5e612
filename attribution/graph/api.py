"""Public entry points of the graph family: identify, backdoor_regression, refute, mechanism_shift.

Thin orchestration: request checks (request.py) → graph math (identification.py) or the estimator's
re-runs (refuters.py) or the dowhy gcm attribution (mechanisms.py) → results.py. dowhy is imported
inside mechanism_shift only, so `import attribution` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from attribution.data.checks import require_complete
from attribution.data.engine import Data, as_table, fetch, fingerprint, require_columns
from attribution.data.numeric import check_outcome
from attribution.data.roles import select_roles
from attribution.errors import DataError, DesignError, EstimationError, OptionError
from attribution.graph import identification as idf
from attribution.graph import refuters as rf
from attribution.graph import request as req
from attribution.graph.dag import CausalGraph
from attribution.graph.mechanisms import bootstrap_contributions
from attribution.graph.ols import covariate_columns, hc1_ols
from attribution.graph.results import (
    Identification,
    MechanismShiftResult,
    RegressionResult,
    Stage,
    tidy_frame,
)
from attribution.inference import wald_table
from attribution.options import check_alpha, check_float, check_int, check_option, check_seed
from attribution.results import Provenance, Result, library_versions

__all__ = ["backdoor_regression", "identify", "mechanism_shift", "refute"]

IdentifyMethod = Literal["auto", "backdoor", "frontdoor", "mediation"]
RefuterName = Literal[
    "placebo_treatment", "random_common_cause", "data_subset", "unobserved_confounder"
]
REFUTERS: tuple[str, ...] = (
    "placebo_treatment",
    "random_common_cause",
    "data_subset",
    "unobserved_confounder",
)

MAX_REPS = 1_000
"""Upper bound on refuter replicates and bootstrap draws (each is a full re-estimate)."""


# ------------------------------------------------------------------------------------------------
# identification
# ------------------------------------------------------------------------------------------------
def identify(
    graph: CausalGraph,
    *,
    treatment: str | Sequence[str],
    outcome: str,
    method: IdentifyMethod = "auto",
    mediator: str | None = None,
) -> Identification:
    """How the graph identifies the effect of `treatment` on `outcome`, and what must be observed.

    Why: an observational estimate is only as good as its adjustment set; this derives it from the
    drawn system instead of from habit, and says in words which columns must be observed, which must
    not be adjusted for (downstream pipeline stages), and which confounding paths they close.

    method: "backdoor" (a minimal observed adjustment set), "frontdoor" (through observed pipeline
        stages that carry all of the effect, when a confounder is unobserved), "mediation" (the
        direct and indirect effect through `mediator`, default the first observed stage between
        treatment and outcome), or "auto": back-door if possible, else front-door.
    The result hands the adjustment set to at.dml: ``at.dml(data, **ident.dml_arguments())``.
    """
    graph = req.check_graph(graph)
    method = check_option("method", method, IdentifyMethod)
    treatments = req.check_columns_arg("treatment", treatment, allow_empty=False)
    outcome = req.check_column("outcome", outcome)
    if mediator is not None:
        mediator = req.check_column("mediator", mediator)
    idf.require_nodes(graph, *treatments, outcome)
    if outcome in treatments:
        raise DesignError(f"{outcome!r} is both the treatment and the outcome")
    g = graph.to_networkx()
    import networkx as nx

    if not any(nx.has_path(g, t, outcome) for t in treatments):
        raise DesignError(
            f"the graph has no directed path from {', '.join(treatments)} to {outcome}: its effect "
            "is zero by assumption",
            fix="add the edge through which it acts, if it does",
        )
    if method in ("frontdoor", "mediation") and len(treatments) > 1:
        raise DesignError(
            f"{method} identification takes one treatment", fix="identify each in turn"
        )
    if method in ("auto", "backdoor"):
        z = idf.backdoor_set(graph, treatments, outcome)
        if z is not None:
            return _backdoor(graph, treatments, outcome, z)
        if method == "backdoor" or len(treatments) > 1:
            raise _not_identified(graph, treatments, outcome, "back-door adjustment")
    t = treatments[0]
    if method in ("auto", "frontdoor"):
        m = idf.frontdoor_set(graph, t, outcome)
        if m is None:
            raise _not_identified(
                graph,
                treatments,
                outcome,
                "back-door or front-door adjustment"
                if method == "auto"
                else "front-door adjustment",
            )
        return _frontdoor(graph, t, outcome, m)
    return _mediation(graph, t, outcome, mediator)


def _ordered(graph: CausalGraph, names: set[str] | Sequence[str]) -> tuple[str, ...]:
    s = set(names)
    return tuple(n for n in graph.nodes if n in s)


def _not_adjust(graph: CausalGraph, t: Sequence[str], y: str) -> str:
    bad = idf.mediators(graph, t[0], y) if len(t) == 1 else ()
    if not bad:
        return ""
    return (
        f" Do not adjust for {', '.join(bad)}: they lie between treatment and outcome "
        "(pipeline stages the effect runs through), and adjusting would remove part of the effect."
    )


def _not_identified(graph: CausalGraph, t: Sequence[str], y: str, how: str) -> DesignError:
    paths = idf.confounding_paths(graph, t[0], y)
    latent = sorted(graph.latent)
    return DesignError(
        f"the effect of {', '.join(t)} on {y} is not identified by {how}: "
        + (
            f"the unobserved {', '.join(latent)} leave(s) a confounding path open"
            if latent
            else "a confounding path stays open"
        )
        + (f" (e.g. {paths[0]})" if paths else ""),
        fix="observe (measure) the unobserved confounder, or find a pipeline stage that carries "
        "all of the effect and is not itself confounded (front-door), or a randomised design",
    )


def _backdoor(graph: CausalGraph, t: tuple[str, ...], y: str, z: tuple[str, ...]) -> Identification:
    paths = idf.confounding_paths(graph, t[0], y) if len(t) == 1 else []
    tn = ", ".join(t)
    if z:
        text = (
            f"The effect of {tn} on {y} is identified by back-door adjustment for "
            f"{', '.join(z)}: observe and adjust for them; together they block every confounding "
            "path" + (f" (such as {paths[0]})" if paths else "") + "."
        )
    else:
        text = f"The effect of {tn} on {y} needs no adjustment: the graph has no open confounding path."
    optional = [
        n
        for n in graph.observed
        if n not in z
        and graph.roles.get(n) == "confounder"
        and idf.is_valid_adjustment(graph, t, y, (*z, n))
    ]
    if optional:
        text += f" Adjusting also for {', '.join(optional)} is allowed (it keeps the set valid) and may reduce noise."
    text += _not_adjust(graph, t, y)
    text += f" Must be observed: {', '.join((*t, y, *z))}."
    stage = Stage(treatment=t, outcome=y, confounders=z, what=f"effect of {tn} on {y}")
    return Identification(
        treatment=t,
        outcome=y,
        method="backdoor",
        adjustment_set=z,
        mediators=idf.mediators(graph, t[0], y) if len(t) == 1 else (),
        stages=(stage,),
        must_observe=_ordered(graph, {*t, y, *z}),
        explanation=text,
    )


def _frontdoor(graph: CausalGraph, t: str, y: str, m: tuple[str, ...]) -> Identification:
    z1: tuple[str, ...] = ()  # front-door condition 2: nothing confounds the treatment and M
    z2 = idf.backdoor_set(graph, m, y)
    z2 = (t,) if z2 is None else z2  # condition 3: the treatment blocks every M–outcome back door
    ms = ", ".join(m)
    stages = (
        *(
            Stage(treatment=(t,), outcome=x, confounders=z1, what=f"effect of {t} on {x}")
            for x in m
        ),
        Stage(
            treatment=m, outcome=y, confounders=z2, what=f"effect of {ms} on {y}, holding {t} fixed"
        ),
    )
    latent = sorted(graph.latent)
    text = (
        f"The effect of {t} on {y} is not identified by back-door adjustment"
        + (f" (the unobserved {', '.join(latent)} confound it)" if latent else "")
        + f", but it is by the front door through {ms}: every path from {t} to {y} runs through "
        f"{ms}, and {ms} is not confounded with {t}. Estimate the effect of {t} on {ms}"
        + (f" adjusting for {', '.join(z1)}" if z1 else " (no adjustment needed)")
        + f", then the effect of {ms} on {y} adjusting for {', '.join(z2)}; under linearity the "
        f"effect is their product. Must be observed: {', '.join(_ordered(graph, {t, y, *m, *z1, *z2}))}."
    )
    return Identification(
        treatment=(t,),
        outcome=y,
        method="frontdoor",
        adjustment_set=(),
        mediators=m,
        stages=stages,
        must_observe=_ordered(graph, {t, y, *m, *z1, *z2}),
        explanation=text,
    )


def _mediation(graph: CausalGraph, t: str, y: str, mediator: str | None) -> Identification:
    meds = idf.mediators(graph, t, y)
    if mediator is None:
        if not meds:
            raise DesignError(
                f"no observed pipeline stage lies between {t} and {y}, so there is nothing to "
                "mediate through",
                fix="add the stage to the graph, or use method='backdoor'",
            )
        mediator = meds[0]
    idf.require_nodes(graph, mediator)
    if mediator not in meds:
        raise DesignError(
            f"{mediator!r} is not on a directed path from {t} to {y}",
            fix=f"mediators of this pair are {list(meds)}",
        )
    z1 = idf.backdoor_set(graph, (t,), mediator)
    z2 = idf.backdoor_set(graph, (mediator,), y)
    z_total = idf.backdoor_set(graph, (t,), y)
    if z1 is None or z2 is None or z_total is None:
        raise _not_identified(graph, (t,), y, f"mediation through {mediator}")
    z2 = _ordered(graph, {*z2, t})
    stages = (
        Stage(
            treatment=(t,), outcome=mediator, confounders=z1, what=f"effect of {t} on {mediator}"
        ),
        Stage(
            treatment=(mediator, t),
            outcome=y,
            confounders=tuple(c for c in z2 if c != t),
            what=f"effect of {mediator} on {y} and direct effect of {t}",
        ),
        Stage(treatment=(t,), outcome=y, confounders=z_total, what=f"total effect of {t} on {y}"),
    )
    text = (
        f"The effect of {t} on {y} splits into an indirect part through {mediator} and a direct "
        f"part. Estimate {t} → {mediator} adjusting for {', '.join(z1) or 'nothing'}; {mediator} → "
        f"{y} together with {t} adjusting for {', '.join(c for c in z2 if c != t) or 'nothing else'}; "
        f"under linearity the indirect effect is the product of the two slopes and the direct effect "
        f"is {t}'s coefficient in the second. The total effect needs adjustment for "
        f"{', '.join(z_total) or 'nothing'}. Must be observed: "
        f"{', '.join(_ordered(graph, {t, y, mediator, *z1, *z2, *z_total}))}."
    )
    return Identification(
        treatment=(t,),
        outcome=y,
        method="mediation",
        adjustment_set=z_total,
        mediators=(mediator,),
        stages=stages,
        must_observe=_ordered(graph, {t, y, mediator, *z1, *z2, *z_total}),
        explanation=text,
    )


# ------------------------------------------------------------------------------------------------
# the linear back-door estimate
# ------------------------------------------------------------------------------------------------
def backdoor_regression(
    data: Data,
    *,
    outcome: str,
    treatments: Sequence[str],
    confounders: Sequence[str] = (),
    alpha: float = 0.05,
) -> RegressionResult:
    """The linear back-door estimate: OLS of the outcome on the treatments and the adjustment set.

    Why: the transparent baseline beside at.dml (the same adjustment set, linear instead of learned
    nuisance models), and with ``confounders=[]`` the naive regression an observational study must
    show to be biased. String or categorical confounders enter as one dummy per value (the first
    dropped), and the result's description says so. HC1 standard errors, normal intervals.
    """
    alpha = check_alpha(alpha)
    outcome = req.check_column("outcome", outcome)
    treats = req.check_columns_arg("treatments", treatments, allow_empty=False)
    confs = req.check_columns_arg("confounders", confounders)
    req.check_roles_disjoint(outcome=(outcome,), treatments=treats, confounders=confs)
    table = as_table(data)
    require_columns(
        table,
        {outcome: "numeric", **dict.fromkeys(treats, "binary"), **dict.fromkeys(confs, "any")},
        role="backdoor_regression",
    )
    check_outcome(table, outcome)
    require_complete(table, [outcome, *treats, *confs], role="backdoor_regression")
    roles = select_roles(table, {"outcome": outcome, "treatments": treats, "confounders": confs})
    with roles.user_names():
        frame = fetch(roles.table, what="backdoor_regression")
    y = frame[roles["outcome"]].to_numpy(float)
    cols = [np.ones(len(frame))]
    names = ["(intercept)"]
    flat = [
        t for t, c in zip(treats, roles.many("treatments"), strict=True) if frame[c].nunique() < 2
    ]
    if flat:
        raise DesignError(
            f"treatment(s) {flat} take a single value: there is no variation to estimate an effect from",
            columns=flat,
            fix="check that the right column is passed",
        )
    for t, c in zip(treats, roles.many("treatments"), strict=True):
        cols.append(frame[c].to_numpy(float))
        names.append(t)
    categorical = []
    for u, c in zip(confs, roles.many("confounders"), strict=True):
        more, more_names, is_cat = covariate_columns(frame[c], u)
        cols += more
        names += more_names
        if is_cat:
            categorical.append(u)
    x = np.column_stack(cols)
    beta, se = hc1_ols(y, x, names)
    k = len(treats)
    tab = wald_table(list(treats), beta[1 : 1 + k], se[1 : 1 + k], alpha=alpha)
    tab = tidy_frame(
        tab[["term", "estimate", "std_error", "conf_low", "conf_high", "p_value"]].to_dict(
            "records"
        )
    )
    prov = Provenance(
        design="graph.backdoor_regression",
        data=fingerprint(roles.source, n_rows=len(frame)),
        options={
            "outcome": outcome,
            "treatments": list(treats),
            "confounders": list(confs),
            "alpha": alpha,
            "categorical": categorical,
        },
    )
    return RegressionResult(
        design="graph.backdoor_regression",
        table=tab,
        alpha=alpha,
        provenance=prov,
        outcome=outcome,
        treatments=treats,
        confounders=confs,
        n_obs=len(frame),
    )


# ------------------------------------------------------------------------------------------------
# refuters
# ------------------------------------------------------------------------------------------------
def refute(
    data: Data,
    *,
    estimator: Callable[[pd.DataFrame, Sequence[str]], Result],
    treatment: str,
    outcome: str,
    confounders: Sequence[str],
    result: Result | None = None,
    refuters: Sequence[RefuterName] = REFUTERS,
    n_reps: int = 20,
    fraction: float = 0.8,
    strength: float = 0.1,
    seed: int = 0,
    alpha: float = 0.05,
) -> Result:
    """The estimator's result with one refutation `Check` per refuter (placebo treatment, random
    common cause, data subset, unobserved confounder), each from `n_reps` re-estimates.

    Why: an observational estimate rests on assumptions no single fit can test; a valid design must
    find no effect of a permuted treatment, ignore an irrelevant covariate, agree with itself on
    subsets, and its conclusion should survive a hidden confounder of partial correlation
    `strength` with treatment and outcome (the check names the strongest observed confounder's
    for comparison).

    estimator: ``(data, confounders) -> Result``, e.g.
        ``lambda d, w: at.dml(d, outcome="y", treatments=["t"], confounders=w, random_state=0)``;
        it is called 1 + n_reps × len(refuters) times (bounded: n_reps ≤ 1000).
    result: the estimator's result on `data` if already computed (else it is computed).
    fraction: share of rows in each data subset.
    """
    if not callable(estimator):
        raise OptionError(
            f"estimator={estimator!r} is not callable",
            fix="pass a callable (data, confounders) -> Result",
        )
    treatment = req.check_column("treatment", treatment)
    outcome = req.check_column("outcome", outcome)
    confs = req.check_columns_arg("confounders", confounders)
    req.check_roles_disjoint(outcome=(outcome,), treatment=(treatment,), confounders=confs)
    if result is not None and not isinstance(result, Result):
        raise OptionError(f"result must be an attribution Result, got {type(result).__name__}")
    if isinstance(refuters, str) or not isinstance(refuters, Sequence) or not refuters:
        raise OptionError(
            f"refuters={refuters!r} is not valid", fix=f"a list from {list(REFUTERS)}"
        )
    names = tuple(dict.fromkeys(check_option("refuters", r, RefuterName) for r in refuters))
    n_reps = check_int("n_reps", n_reps, minimum=2, maximum=MAX_REPS)
    fraction = check_float("fraction", fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    strength = check_float("strength", strength, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed(seed)
    alpha = check_alpha(alpha)
    table = as_table(data)
    require_columns(
        table,
        {outcome: "numeric", treatment: "binary", **dict.fromkeys(confs, "any")},
        role="refute",
    )
    check_outcome(table, outcome)
    require_complete(table, [outcome, treatment, *confs], role="refute")
    frame = data.copy() if isinstance(data, pd.DataFrame) else fetch(table, what="refute")
    if frame[treatment].nunique() < 2:
        raise DesignError(
            f"treatment {treatment!r} takes a single value: nothing to refute", columns=[treatment]
        )
    base = estimator(frame.copy(), list(confs)) if result is None else result
    est, se, lo, hi = rf.estimate_of(base, treatment)
    rngs = dict(
        zip(
            REFUTERS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)),
            strict=True,
        )
    )
    checks = []
    common = {"treatment": treatment, "confounders": confs, "estimate": est, "n_reps": n_reps}
    for name in names:
        rng = rngs[name]
        if name == "placebo_treatment":
            checks.append(rf.placebo_treatment(frame, estimator, rng=rng, alpha=alpha, **common))
        elif name == "random_common_cause":
            checks.append(
                rf.random_common_cause(
                    frame, estimator, std_error=se, rng=rng, alpha=alpha, **common
                )
            )
        elif name == "data_subset":
            checks.append(
                rf.data_subset(
                    frame,
                    estimator,
                    fraction=fraction,
                    rng=rng,
                    alpha=alpha,
                    **common,
                )
            )
        else:
            checks.append(
                rf.unobserved_confounder(
                    frame,
                    estimator,
                    outcome=outcome,
                    conf_low=lo,
                    conf_high=hi,
                    strength=strength,
                    rng=rng,
                    **common,
                )
            )
    return base.with_checks(*checks)


# ------------------------------------------------------------------------------------------------
# mechanism attribution of a metric shift
# ------------------------------------------------------------------------------------------------
def mechanism_shift(
    before: Data,
    after: Data,
    *,
    graph: CausalGraph,
    target: str,
    n_boot: int = 50,
    num_samples: int = 2_000,
    seed: int = 0,
    alpha: float = 0.05,
) -> MechanismShiftResult:
    """Which components' mechanisms changed between `before` and `after`, and how much of the shift
    in the mean of `target` each explains, with bootstrap intervals.

    Why: after a launch the metric moved; the graph says how it is produced, so the shift can be
    split into the parts due to each node's mechanism changing (a new retrieval model changes how R
    depends on its parents; a new audience changes activity's distribution). dowhy's gcm attribution
    (Budhathoki et al. 2021) is a Monte-Carlo estimate that varies with the seed and the sample: it
    is repeated on `n_boot` bootstrap resamples, each seeded from `seed`, and every contribution is
    reported with its percentile interval; the point estimate is the bootstrap mean, so the rows add
    up to the headline (the total shift the fitted model implies).

    Every node upstream of `target` must be observed and numeric in both tables. num_samples: Monte-
    Carlo draws per Shapley evaluation.
    """
    graph = req.check_graph(graph)
    target = req.check_column("target", target)
    n_boot = check_int("n_boot", n_boot, minimum=2, maximum=MAX_REPS)
    num_samples = check_int("num_samples", num_samples, minimum=100, maximum=1_000_000)
    seed = check_seed(seed)
    alpha = check_alpha(alpha)
    idf.require_nodes(graph, target)
    import networkx as nx

    g = graph.to_networkx()
    upstream = nx.ancestors(g, target)
    if not upstream:
        raise DesignError(
            f"{target!r} has no causes in the graph: there is nothing to attribute to"
        )
    hidden = sorted(upstream & graph.latent)
    if hidden:
        raise DesignError(
            f"nodes upstream of {target!r} are unobserved ({hidden}); mechanism attribution fits "
            "every upstream mechanism from data",
            fix="remove those nodes (graph.remove_node) or observe them",
        )
    nodes = [n for n in graph.nodes if n in upstream | {target}]
    frames = []
    for label, d in (("before", before), ("after", after)):
        table = as_table(d)
        _check_columns(table, nodes, label)
        check_outcome(table, target)
        frame = fetch(table.select(*nodes), what=f"mechanism_shift ({label})")
        req.check_numeric_frame(frame, nodes, what=f"mechanism_shift ({label})")
        if len(frame) < 10:
            raise DataError(
                f"{label} has {len(frame)} rows; mechanism attribution needs at least 10"
            )
        frames.append(frame)
    b, a = frames
    observed = float(a[target].mean() - b[target].mean())
    with np.errstate(all="ignore"):
        draws = bootstrap_contributions(
            graph, b, a, target=target, n_boot=n_boot, num_samples=num_samples, seed=seed
        )
    if not np.isfinite(draws.to_numpy()).all():
        raise EstimationError(
            f"the attribution of {target!r} produced non-finite values",
            columns=[target],
            fix="rescale the variables",
        )
    draws = draws[nodes]
    rows = []
    total = draws.sum(axis=1)
    q = [alpha / 2, 1 - alpha / 2]
    for name, col in [("total", total), *((n, draws[n]) for n in nodes)]:
        v = col.to_numpy(float)
        lo, hi = np.quantile(v, q)
        sd = float(v.std(ddof=1))
        rows.append(
            {
                "term": "total" if name == "total" else f"contribution({name})",
                "estimate": float(v.mean()),
                "std_error": sd if sd > 0 else np.nan,
                "conf_low": min(float(lo), float(v.mean())),
                "conf_high": max(float(hi), float(v.mean())),
                "p_value": np.nan,
                "component": None if name == "total" else name,
            }
        )
    tab = tidy_frame(rows, keys=("component",))
    changed = [
        n
        for n in nodes
        if (tab.loc[tab["component"] == n, "conf_low"].iloc[0] > 0)
        or (tab.loc[tab["component"] == n, "conf_high"].iloc[0] < 0)
    ]
    total_row = tab.iloc[0]
    reproduces = bool(total_row["conf_low"] <= observed <= total_row["conf_high"])
    checks = (
        _check(
            "mechanisms that changed",
            None,
            ("the interval of the contribution excludes zero for " + ", ".join(changed))
            if changed
            else "no node's contribution interval excludes zero",
        ),
        _check(
            "model reproduces the observed shift",
            reproduces,
            f"the observed shift in mean {target} is {observed:.4g}; the fitted graph implies "
            f"{total_row['estimate']:.4g} [{total_row['conf_low']:.4g}, {total_row['conf_high']:.4g}]"
            + (
                ""
                if reproduces
                else ": the linear mechanisms miss part of the shift (check the graph and nonlinearity)"
            ),
            statistic=observed,
        ),
    )
    prov = Provenance(
        design="graph.mechanism_shift",
        data=fingerprint(as_table(after), n_rows=len(a)),
        options={
            "target": target,
            "n_boot": n_boot,
            "num_samples": num_samples,
            "alpha": alpha,
            "nodes": nodes,
            "edges": [list(e) for e in graph.edges if e[0] in nodes and e[1] in nodes],
            "n_before": len(b),
        },
        seed=seed,
        versions={**library_versions(), **_versions("dowhy", "networkx", "scikit-learn")},
    )
    return MechanismShiftResult(
        design="graph.mechanism_shift",
        table=tab,
        alpha=alpha,
        provenance=prov,
        checks=checks,
        target=target,
        observed_shift=observed,
        n_before=len(b),
        n_after=len(a),
        draws=draws.reset_index(drop=True),
    )


def _versions(*names: str) -> dict[str, str]:
    import importlib.metadata

    out = {}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _check(name, passed, detail, statistic=None):
    from attribution.results import Check

    return Check(name=name, passed=passed, detail=detail, statistic=statistic)


def _check_columns(table, nodes, label) -> None:
    missing = [n for n in nodes if n not in table.columns]
    if missing:
        raise DataError(
            f"the causal graph's node(s) {missing} are not columns of {label}",
            columns=missing,
            fix="rename the nodes to the data's columns (graph.rename({...}))",
        )
