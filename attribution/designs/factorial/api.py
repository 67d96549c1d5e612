"""`factorial()`: effects, Shapley split and checks of a randomised two-level factorial experiment.

Thin orchestration: request checks (request.py) → per-cell aggregates in the engine (stats.py) →
design detection (aliasing.py), coefficients and covariance (ols.py), Shapley split (decompose),
SRM tests (srm.py) → `FactorialResult` (results.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import is_missing, require_complete
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.data.numeric import HI, LO, check_range
from attribution.data.roles import Roles, select_roles
from attribution.decompose import ShapleySplit, cell_label, shapley_split
from attribution.designs.factorial import ols
from attribution.designs.factorial import request as req
from attribution.designs.factorial.aliasing import cell_frame, contrast_matrix, detect_design
from attribution.designs.factorial.ratio import ratio_cells
from attribution.designs.factorial.results import (
    TOTAL,
    DesignInfo,
    FactorialResult,
    contribution_term,
)
from attribution.designs.factorial.srm import SRM_THRESHOLD, srm_checks, srm_table
from attribution.designs.factorial.stats import (
    LIN_X,
    LIN_Y,
    NON_BINARY,
    UnitPass,
    cell_pass,
    cluster_pass,
    leverage_pass,
    linearised_units,
    ratio_centred_moments,
    ratio_pass,
    ratio_units,
    unit_pass,
    zero_denominator_examples,
)
from attribution.errors import (
    AttributionWarning,
    DataError,
    DesignError,
    EstimationError,
    OptionError,
)
from attribution.inference import wald_table
from attribution.metrics import Metric, Ratio, check_zero_denominators
from attribution.options import Vcov, check_alpha
from attribution.results import Provenance

__all__ = ["factorial"]

_HC_POWER = {"HC0": 0, "HC1": 0, "HC2": 1, "HC3": 2}


def factorial(
    data: Data,
    *,
    outcome: str | Metric,
    factors: Sequence[str],
    unit: str | None = None,
    cluster: str | None = None,
    covariate: str | None = None,
    vcov: Vcov | None = None,
    alpha: float = 0.05,
    allocation: Mapping[str, float] | None = None,
) -> FactorialResult:
    """Estimate every factorial effect and the exact Shapley split of a 2^k (or 2^(k-p)) experiment.

    Why: when components were randomised independently, the experiment identifies each main effect
    and interaction directly, and the all-on minus all-off difference splits exactly into per-
    component Shapley contributions.

    Parameters
    ----------
    data: pandas DataFrame or Ibis table (DuckDB, Spark, ...); per-cell sums are computed in the
        engine, and only aggregates come back.
    outcome: numeric outcome column, or a metric (`attribution.metrics`): ``Mean(column)`` (the
        same as the column name; its covariate is `covariate=`), ``Proportion(column)`` (a mean
        of a 0/1 column, checked in the engine), or ``Ratio(numerator, denominator)`` (e.g.
        clicks per impression with users randomised: each cell's sum(numerator) /
        sum(denominator) over its units, with delta-method standard errors (Deng et al. 2018);
        rows are summed per `unit` first; a covariate column or a pre-period (numerator,
        denominator) pair gives CUPED on the linearised values). The metric's name labels the
        result and fills `tidy()`'s `metric` column.
    factors: 0/1 integer or boolean columns, one per component; term names follow this order.
    unit: randomisation unit; checked to sit in exactly one arm. If a unit has several rows and no
        `cluster` is given, standard errors are clustered on it.
    cluster: column to cluster standard errors on (CR1).
    covariate: pre-period covariate for CUPED / regression adjustment (common slope); the same
        as the metric's own covariate (give one of the two).
    vcov: "HC0" … "HC3", "iid" or "CR1". Default: "CR1" when clustering, else "HC2". Standard
        errors equal statsmodels OLS on the saturated cell-dummy model (+ covariate) with the same
        covariance. Inference uses Student t with the residual df n - k (HC / iid) and G - 1 df for
        CR1 — statsmodels' numbers with ``use_t=True``; statsmodels' own default for robust
        covariances is the normal reference, which is anti-conservative with few clusters.
    alpha: intervals are (1 - alpha).
    allocation: expected share of units with each factor on (default 0.5 each) for the
        sample-ratio-mismatch tests in `result.checks` (and `result.srm`).

    An unreplicated design (one observation per cell) uses Lenth's (1989) pseudo standard error
    with m/3 df. Effects follow Box, Hunter & Hunter (2005): mean where the ±1 product of the
    term's factors is +1 minus mean where it is -1, cells weighted equally.
    """
    alpha = check_alpha(alpha)
    spec = req.resolve_outcome(outcome, covariate)
    if spec.is_ratio:
        return _factorial_ratio(
            data,
            spec,
            factors=factors,
            unit=unit,
            cluster=cluster,
            vcov=vcov,
            alpha=alpha,
            allocation=allocation,
        )
    outcome, covariate = str(spec.column), spec.covariate
    facs = req.check_request(
        outcome=outcome,
        factors=factors,
        unit=unit,
        cluster=cluster,
        covariate=covariate,
        allocation=allocation,
    )
    req.check_vcov(vcov, cluster=cluster, unit=unit)
    table = as_table(data)
    kinds: dict[str, str] = {outcome: "numeric", **dict.fromkeys(facs, "any")}
    if covariate is not None:
        kinds[covariate] = "numeric"
    for col in (cluster, unit):
        if col is not None:
            kinds[col] = "key"
    require_columns(table, kinds, role="factorial")
    req.check_factor_types(table, facs)
    # From here on the engine sees only reserved internal names (no user column can collide with
    # an internal one); errors raised inside name the user's columns again.
    roles = select_roles(
        table,
        {
            "outcome": outcome,
            "factors": facs,
            "covariate": covariate,
            "cluster": cluster,
            "unit": unit,
        },
    )
    with roles.user_names():
        return _estimate(
            roles,
            facs=facs,
            cluster=cluster,
            unit=unit,
            covariate=covariate,
            outcome=outcome,
            vcov=vcov,
            alpha=alpha,
            allocation=allocation,
            spec=spec,
        )


def _estimate(
    roles: Roles,
    *,
    facs: tuple[str, ...],
    cluster: str | None,
    unit: str | None,
    covariate: str | None,
    outcome: str,
    vcov: str | None,
    alpha: float,
    allocation: Mapping[str, float] | None,
    spec: req.OutcomeSpec,
) -> FactorialResult:
    """The estimate on the renamed table: `c_*` are internal column names, the rest user names."""
    table = roles.table
    c_out, c_facs, c_cov = roles["outcome"], roles.many("factors"), roles.names["covariate"]
    c_cl, c_unit = roles.names["cluster"], roles.names["unit"]

    # -- per-cell aggregates (one engine pass) ----------------------------------------------------
    keys = [c for c in dict.fromkeys([c_cl, c_unit]) if c is not None]
    binary = spec.kind == "proportion"
    cp = cell_pass(
        table, outcome=c_out, factors=c_facs, covariate=c_cov, also_complete=keys, binary=binary
    )
    frame = cp.frame
    non_binary = frame.pop(NON_BINARY.removeprefix("att_")) if binary else None
    # the outcome's numeric range, from the same scan (`data.numeric.check_range`)
    lo, hi = frame.pop(LO), frame.pop(HI)  # exact integers stay integers
    check_range(lo.min(), hi.max(), integer=table.schema()[c_out].is_integer(), name=outcome)
    if frame.empty or int(frame["n"].sum()) == 0:
        raise DataError(
            "the table is empty", columns=[outcome, *facs], fix="pass a table with rows"
        )
    req.check_factor_values(table, frame, c_facs, c_out)
    if cp.suspect:
        require_complete(
            table, cp.suspect, role="factorial", context=[*keys, *c_facs]
        )  # raises with counts and example rows
        raise EstimationError(
            f"aggregates of {list(cp.suspect)} overflow to non-finite values",
            columns=list(cp.suspect),
            fix="rescale the column(s) (e.g. divide by 1e6) before calling",
        )
    if non_binary is not None and int(non_binary.fillna(0).sum()):
        y = table[c_out].cast("float64")
        other = table.filter(~is_missing(y) & (y != 0.0) & (y != 1.0)).select(c_out)
        example = other.limit(1).execute()[c_out].iloc[0]
        req.check_binary(int(non_binary.fillna(0).sum()), outcome, example)
    frame = frame.assign(
        cell=sum(frame[f"factor{j}"].astype("int64") * (2**j) for j in range(len(facs)))
    ).sort_values("cell")
    info = detect_design(frame["cell"], facs)
    st = ols.CellStats.from_frame(frame, has_covariate=covariate is not None)
    notes: list[str] = []

    # -- units and clusters -----------------------------------------------------------------------
    srm_counts = dict(zip(st.cells.tolist(), st.n.tolist(), strict=True))
    counted = "rows"
    if unit is not None:
        up = _unit_pass(table, unit=unit, c_unit=c_unit, c_facs=c_facs, facs=facs)
        srm_counts = {int(c): float(v) for c, v in up.units_per_cell.items()}
        counted = "units"
        if cluster is None and (up.max_rows_per_unit > 1 or vcov == "CR1"):
            if vcov in (None, "CR1"):
                cluster, c_cl = unit, c_unit
                notes.append(
                    f"units of {unit!r} have up to {up.max_rows_per_unit} rows: standard errors "
                    f"are clustered on {unit!r}"
                )
            else:
                notes.append(
                    f"units of {unit!r} have up to {up.max_rows_per_unit} rows but vcov={vcov!r} "
                    "treats rows as independent"
                )
    vcov_type: str = vcov or ("CR1" if cluster is not None else "HC2")

    # -- coefficients, covariance, effects and the Shapley split ----------------------------------
    theta, v_theta, df, n_clusters, vcov_type = _fit(
        table, st, info, vcov_type, c_out, c_cov, c_cl, c_facs, notes, covariate_label=covariate
    )
    return _assemble(
        roles,
        st=st,
        info=info,
        fit=(theta, v_theta, df, n_clusters, vcov_type),
        notes=notes,
        facs=facs,
        srm_counts=srm_counts,
        counted=counted,
        alpha=alpha,
        allocation=allocation,
        spec=spec,
        cluster=cluster,
        covariate=covariate,
        n_rows=st.n_total,
        options={"outcome": outcome, "factors": list(facs), "unit": unit, "cluster": cluster},
    )


def _factorial_ratio(
    data: Data,
    spec: req.OutcomeSpec,
    *,
    factors: Sequence[str],
    unit: str | None,
    cluster: str | None,
    vcov: Vcov | None,
    alpha: float,
    allocation: Mapping[str, float] | None,
) -> FactorialResult:
    """`factorial()` with a `Ratio` outcome: request checks, then `_estimate_ratio`."""
    metric = spec.metric
    assert isinstance(metric, Ratio)
    facs = req.check_request(
        outcome=metric.numerator,
        factors=factors,
        unit=unit,
        cluster=cluster,
        covariate=None,
        allocation=allocation,
    )
    req.check_ratio_roles(spec, facs=facs, unit=unit, cluster=cluster)
    req.check_vcov(vcov, cluster=cluster, unit=unit)
    table = as_table(data)
    columns = {
        metric.numerator: "numeric",
        metric.denominator: "numeric",
        **dict.fromkeys(spec.ratio_covariate, "numeric"),
        **dict.fromkeys(facs, "any"),
    }
    for col in (cluster, unit):
        if col is not None:
            columns[col] = "key"
    require_columns(table, columns, role="factorial")
    req.check_factor_types(table, facs)
    roles = select_roles(
        table,
        {
            "numerator": metric.numerator,
            "denominator": metric.denominator,
            "factors": facs,
            "covariate": list(spec.ratio_covariate) or None,
            "cluster": cluster,
            "unit": unit,
        },
    )
    with roles.user_names():
        return _estimate_ratio(
            roles, spec=spec, facs=facs, unit=unit, cluster=cluster, vcov=vcov, alpha=alpha,
            allocation=allocation,
        )  # fmt: skip


def _estimate_ratio(
    roles: Roles,
    *,
    spec: req.OutcomeSpec,
    facs: tuple[str, ...],
    unit: str | None,
    cluster: str | None,
    vcov: str | None,
    alpha: float,
    allocation: Mapping[str, float] | None,
) -> FactorialResult:
    """Ratio cells by the delta method (`ratio.py`), then the mean model's machinery on the
    units' linearised values: effects, Shapley split and checks exactly as for a mean."""
    metric = spec.metric
    assert isinstance(metric, Ratio)
    num, den = metric.numerator, metric.denominator
    table = roles.table
    c_facs, c_num, c_den = roles.many("factors"), roles["numerator"], roles["denominator"]
    c_cov = roles.many("covariate")
    c_cl, c_unit = roles.names["cluster"], roles.names["unit"]
    notes: list[str] = []
    counted = "units" if unit is not None else "rows"
    up = None
    if unit is not None:
        up = _unit_pass(table, unit=unit, c_unit=c_unit, c_facs=c_facs, facs=facs)
        if up.max_rows_per_unit > 1:
            notes.append(
                f"rows are summed per unit of {unit!r} (up to {up.max_rows_per_unit} rows "
                f"each): the ratio and its delta-method variance run over units"
            )
    if vcov == "CR1" and cluster is None:  # check_vcov: unit is given
        cluster, c_cl = unit, c_unit
    vcov_type: str = vcov or ("CR1" if cluster is not None else "HC2")

    # -- per-cell sums over units (one engine pass) -----------------------------------------------
    units = ratio_units(
        table,
        numerator=c_num,
        denominator=c_den,
        covariate=c_cov,
        factors=c_facs,
        unit=c_unit,
        cluster=c_cl,
    )
    split_clusters = unit is not None and cluster is not None and cluster != unit
    rp = ratio_pass(
        units, columns=[c_num, c_den, *c_cov], factors=c_facs, check_clusters=split_clusters
    )
    frame = rp.frame
    if frame.empty or int(frame["n"].sum()) == 0:
        raise DataError(
            "the table is empty", columns=[num, den, *facs], fix="pass a table with rows"
        )
    req.check_factor_values(table, frame.assign(n=frame["rows"]), c_facs, c_num)
    if rp.suspect:
        keys = [c for c in dict.fromkeys([c_cl, c_unit]) if c is not None]
        require_complete(table, rp.suspect, role="factorial", context=[*keys, *c_facs])
        raise EstimationError(
            f"sums of {list(rp.suspect)} overflow to non-finite values",
            columns=list(rp.suspect),
            fix="rescale the column(s) (e.g. divide by 1e6) before calling",
        )
    schema = table.schema()
    for key, col, c_col in (("N", num, c_num), ("D", den, c_den)):
        req.check_ratio_range(
            frame[f"lo_{key}"].min(),
            frame[f"hi_{key}"].max(),
            integer=schema[c_col].is_integer(),
            name=col,
        )
    if split_clusters:
        req.check_units_in_one_cluster(int(frame["mixed_clusters"].sum()), unit, cluster)
    frame = frame.assign(
        cell=sum(frame[f"factor{j}"].astype("int64") * (2**j) for j in range(len(facs)))
    ).sort_values("cell")
    info = detect_design(frame["cell"], facs)
    req.check_ratio_cells(frame, facs, numerator=num, denominator=den, units=counted)
    zero = check_zero_denominators(
        metric,
        zero=int(frame["zero_den"].sum()),
        zero_numerator_nonzero=int(frame["zero_den_num"].sum()),
        what=f"unit(s) of {unit!r}" if unit is not None else "row(s)",
        examples=lambda nonzero: zero_denominator_examples(
            units,
            unit=c_unit,
            numerator=num,
            denominator=den,
            limit=config.get().example_rows,
            nonzero_numerator=nonzero,
        ),
    )
    if zero:
        notes.append(zero)
        warnings.warn(zero, AttributionWarning, stacklevel=3)

    # -- delta method: the linearised cell statistics ----------------------------------------------
    rc = ratio_cells(frame, has_covariate=bool(c_cov))
    if rc.cancels:
        rc = rc.with_centred(ratio_centred_moments(units, factors=c_facs, constants=rc.constants))
    st = rc.stats
    keep = [c for c in dict.fromkeys([c_cl]) if c is not None]
    pseudo = linearised_units(units, factors=c_facs, constants=rc.constants, keep=keep)
    cov_label = None
    if c_cov:
        cov_label = (
            spec.ratio_covariate[0]
            if len(c_cov) == 1
            else f"{spec.ratio_covariate[0]}/{spec.ratio_covariate[1]}"
        )
    fit = _fit(
        pseudo,
        st,
        info,
        vcov_type,
        LIN_Y,
        LIN_X if c_cov else None,
        c_cl,
        c_facs,
        notes,
        covariate_label=cov_label,
    )
    srm_counts = dict(zip(st.cells.tolist(), st.n.tolist(), strict=True))
    if up is not None:
        srm_counts = {int(c): float(v) for c, v in up.units_per_cell.items()}
    options: dict[str, object] = {
        "outcome": spec.name,
        "numerator": num,
        "denominator": den,
        "zero_denominator": metric.zero_denominator,
        "factors": list(facs),
        "unit": unit,
        "cluster": cluster,
    }
    return _assemble(
        roles,
        st=st,
        info=info,
        fit=fit,
        notes=notes,
        facs=facs,
        srm_counts=srm_counts,
        counted=counted,
        alpha=alpha,
        allocation=allocation,
        spec=spec,
        cluster=cluster,
        covariate=cov_label,
        n_rows=int(frame["rows"].sum()),
        options=options,
    )


def _unit_pass(
    table: ir.Table, *, unit: str, c_unit: str, c_facs: tuple[str, ...], facs: tuple[str, ...]
) -> UnitPass:
    """Units per cell and rows per unit; a unit in more than one arm is refused."""
    up = unit_pass(table, unit=c_unit, factors=c_facs)
    if up.n_mixed:
        raise DesignError(
            f"{up.n_mixed:,} unit(s) of {unit!r} appear in more than one arm; a randomised unit "
            "must keep its factor levels",
            columns=[unit, *facs],
            rows=up.mixed_examples,
            fix="fix the assignment log (or the join that built the table), or pass the "
            "column that was actually randomised as unit=",
        )
    return up


def _assemble(
    roles: Roles,
    *,
    st: ols.CellStats,
    info: DesignInfo,
    fit: tuple[np.ndarray, np.ndarray, float | None, int | None, str],
    notes: list[str],
    facs: tuple[str, ...],
    srm_counts: Mapping[int, float],
    counted: str,
    alpha: float,
    allocation: Mapping[str, float] | None,
    spec: req.OutcomeSpec,
    cluster: str | None,
    covariate: str | None,
    n_rows: int,
    options: dict[str, object],
) -> FactorialResult:
    """Effects, the Shapley split, SRM checks and the result, from the fitted cell model."""
    theta, v_theta, df, n_clusters, vcov_type = fit
    notes = [roles.to_user(n) for n in notes]
    cell_map = ols.cell_map(st)
    l_eff = contrast_matrix(info.terms, info.cells) @ cell_map
    eff = l_eff @ theta
    v_eff = l_eff @ v_theta @ l_eff.T
    names = info.term_names
    if info.kind == "fractional":
        notes.append(
            f"regular fraction {info.defining_relation}: each effect is an alias chain "
            "(see design_info.aliases)"
        )

    adj = cell_map @ theta
    v_cells = cell_map @ v_theta @ cell_map.T
    cells_df = cell_frame(info.cells, facs)
    cells_df.insert(0, "cell", [cell_label(c, facs) for c in info.cells])
    cells_df = cells_df.assign(
        n=st.n.astype("int64"),
        mean=st.mean_y,
        adjusted_mean=adj,
        std_error=np.sqrt(np.clip(np.diag(v_cells), 0.0, None)),
    )

    split = None
    if info.kind == "full":
        split = shapley_split(adj, v_cells, components=facs, alpha=alpha, df=df)
    tidy = _tidy_table(info, eff, v_eff, split, alpha=alpha, df=df, metric=spec.name)

    # -- sample-ratio mismatch --------------------------------------------------------------------
    alloc = {f: float((allocation or {}).get(f, 0.5)) for f in facs}
    srm = srm_table(srm_counts, factors=facs, allocation=alloc, counted=counted)
    flagged = srm[srm["p_value"] < SRM_THRESHOLD]
    if len(flagged):
        warnings.warn(
            "sample-ratio mismatch (p < 0.001) for "
            + ", ".join(
                f"{r.factor} (observed {r.observed_share:.4f} vs expected {r.expected_share:.4f})"
                if np.isfinite(r.observed_share)
                else f"{r.factor} (chi2 {r.chi2:.1f} on {r.df} df)"
                for r in flagged.itertuples()
            )
            + f" counting {counted}: the assignment may be broken; see result.checks",
            AttributionWarning,
            stacklevel=2,
        )

    provenance = Provenance(
        design="factorial",
        data=fingerprint(roles.source, n_rows=n_rows),
        options={
            **options,
            "cluster": cluster,
            "covariate": covariate,
            "vcov": vcov_type,
            "alpha": alpha,
            "allocation": alloc,
            **({} if spec.kind == "mean" else {"metric": spec.kind, "metric_name": spec.name}),
        },
    )
    return FactorialResult(
        design="factorial",
        table=tidy,
        alpha=alpha,
        provenance=provenance,
        checks=srm_checks(srm),
        outcome=spec.name,
        metric_kind=spec.kind,
        factors=facs,
        vcov_type=vcov_type,
        df=df,
        n_obs=st.n_total,
        n_clusters=n_clusters,
        cluster=cluster,
        covariate=covariate,
        slope=st.slope if st.has_covariate else None,
        design_info=info,
        notes=tuple(notes),
        cell_table=cells_df,
        vcov_table=pd.DataFrame(v_eff, index=names, columns=names),
        srm_table=srm,
        shapley_table=None if split is None else split.table,
        shapley_total=None if split is None else split.total,
        shapley_total_se=None if split is None else split.total_std_error,
        theta=theta,
        theta_vcov=v_theta,
        cell_map=cell_map,
    )


def _tidy_table(
    info: DesignInfo,
    eff: np.ndarray,
    v_eff: np.ndarray,
    split: ShapleySplit | None,
    *,
    alpha: float,
    df: float | None,
    metric: str,
) -> pd.DataFrame:
    """Effect rows, the `total` row, and (full design) one Shapley contribution row per factor;
    the key column `metric` names the outcome metric on every row.

    The total of a full design is all on − all off; a fraction lacks that pair, so its total is the
    sum of the main effects (equal to all on − all off when the components do not interact).
    """
    names = info.term_names
    se_eff = np.sqrt(np.clip(np.diag(v_eff), 0.0, None))
    effects = wald_table(names, eff, se_eff, alpha=alpha, df=df)
    if split is not None:
        total, total_se = split.total, split.total_std_error
    else:
        main = np.array([bin(t).count("1") == 1 for t in info.terms], dtype=float)
        total = float(main @ eff)
        total_se = float(np.sqrt(max(main @ v_eff @ main, 0.0)))
    parts = [
        effects.assign(component=None),
        wald_table([TOTAL], [total], [total_se], alpha=alpha, df=df).assign(component=None),
    ]
    if split is not None:
        shap = split.table
        contrib = shap.assign(term=[contribution_term(c) for c in shap["component"]])
        parts.append(contrib[[*effects.columns, "component"]])
    out = pd.concat(parts, ignore_index=True)
    out["component"] = out["component"].astype(object)
    out["metric"] = metric
    if info.kind == "fractional":
        out["aliases"] = [info.aliases.get(t) for t in out["term"]]
    return out


def _fit(
    table: ir.Table,
    st: ols.CellStats,
    info: DesignInfo,
    vcov_type: str,
    outcome: str,
    covariate: str | None,
    cluster: str | None,
    facs: tuple[str, ...],
    notes: list[str],
    *,
    covariate_label: str | None,
) -> tuple[np.ndarray, np.ndarray, float | None, int | None, str]:
    """θ, its covariance, the t df, the number of clusters, and the covariance actually used.

    `outcome`/`covariate` are the table's columns (a ratio's linearised values); messages name
    `covariate_label`, the user's covariate."""
    theta = ols.coefficients(st)
    n, k = st.n_total, st.k_params
    if np.all(st.n == 1):
        req.check_unreplicated(st, covariate=covariate_label, cluster=cluster, facs=facs)
        effects = contrast_matrix(info.terms, info.cells) @ theta
        pse, df = ols.lenth_pse(effects)
        notes.append(
            f"unreplicated design: standard errors are Lenth's (1989) pseudo standard error "
            f"(PSE = {pse:.6g}) with m/3 = {df:.4g} df; the requested vcov is not estimable"
        )
        sigma2 = pse**2 * st.p / 4.0  # implied per-cell variance: var(effect) = 4σ²/p
        return theta, sigma2 * np.eye(st.p), df, None, "lenth"
    req.check_residual_df(st, facs)
    if covariate is not None:
        req.check_covariate_varies(st, str(covariate_label))
    if vcov_type == "iid":
        return theta, ols.iid_vcov(st), float(n - k), None, vcov_type
    mean_y = dict(zip(st.cells.tolist(), st.mean_y.tolist(), strict=True))
    mean_x = (
        dict(zip(st.cells.tolist(), st.mean_x.tolist(), strict=True)) if st.has_covariate else None
    )
    if vcov_type == "CR1":
        if cluster is None:  # guarded by request.check_vcov; kept for direct callers
            raise OptionError("vcov='CR1' needs cluster=")
        g, meat = cluster_pass(
            table,
            outcome=outcome,
            covariate=covariate,
            factors=facs,
            cluster=cluster,
            cells=st.cells.tolist(),
            mean_y=mean_y,
            mean_x=mean_x,
            slope=st.slope,
        )
        req.check_cluster_count(g, cluster)
        scale = g / (g - 1) * (n - 1) / (n - k)
        notes.append(
            f"CR1 with {g} clusters of {cluster!r}: t reference with G - 1 = {g - 1} df"
            + ("; few clusters make CR1 unreliable" if g < 30 else "")
        )
        return theta, ols.sandwich_vcov(st, meat, scale=scale), float(g - 1), g, vcov_type
    power = _HC_POWER[vcov_type]
    req.check_hc_cells(st, vcov_type, power, facs)
    scale = n / (n - k) if vcov_type == "HC1" else 1.0
    if covariate is None:
        meat = ols.closed_form_meat(st, power)
        return theta, ols.sandwich_vcov(st, meat, scale=scale), float(n - k), None, vcov_type
    lev = leverage_pass(
        table,
        outcome=outcome,
        covariate=covariate,
        factors=facs,
        n=dict(zip(st.cells.tolist(), st.n.tolist(), strict=True)),
        mean_y=mean_y,
        mean_x=mean_x or {},
        slope=st.slope,
        within_ss=st.within_ss_x,
        power=power,
    ).reindex(st.cells)
    req.check_leverage(float(lev["max_h"].max()), vcov_type, power, str(covariate_label), facs)
    meat = ols.hc_meat_from_pass(
        st, lev["s0"].to_numpy(float), lev["s1"].to_numpy(float), lev["s2"].to_numpy(float)
    )
    return theta, ols.sandwich_vcov(st, meat, scale=scale), float(n - k), None, vcov_type
