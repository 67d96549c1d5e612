"""`factorial()`: effects, Shapley split and checks of a randomised two-level factorial experiment."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution import config
from attribution.data.checks import require_complete
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.decompose import cell_label, shapley_split
from attribution.designs.factorial import estimate as est
from attribution.designs.factorial.design import (
    DesignInfo,
    cell_frame,
    check_request,
    contrast_matrix,
    detect_design,
)
from attribution.designs.factorial.result import FactorialResult
from attribution.designs.factorial.stats import cell_pass, cluster_pass, leverage_pass, unit_pass
from attribution.errors import (
    AttributionWarning,
    DataError,
    DesignError,
    EstimationError,
    OptionError,
)
from attribution.inference import wald_table
from attribution.options import Vcov, check_alpha, check_option
from attribution.results import Provenance

__all__ = ["factorial"]

_HC_POWER = {"HC0": 0, "HC1": 0, "HC2": 1, "HC3": 2}
SRM_THRESHOLD = 0.001


def factorial(
    data: Data,
    *,
    outcome: str,
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
    outcome: numeric outcome column.
    factors: 0/1 integer or boolean columns, one per component; term names follow this order.
    unit: randomisation unit; checked to sit in exactly one arm. If a unit has several rows and no
        `cluster` is given, standard errors are clustered on it.
    cluster: column to cluster standard errors on (CR1).
    covariate: pre-period covariate for CUPED / regression adjustment (common slope).
    vcov: "HC0" … "HC3", "iid" or "CR1". Default: "CR1" when clustering, else "HC2". Standard
        errors equal statsmodels OLS on the saturated cell-dummy model (+ covariate) with the same
        covariance. Inference uses Student t with the residual df n - k (HC / iid) and G - 1 df for
        CR1 — statsmodels' numbers with ``use_t=True``; statsmodels' own default for robust
        covariances is the normal reference, which is anti-conservative with few clusters.
    alpha: intervals are (1 - alpha).
    allocation: expected share of units with each factor on (default 0.5 each) for the
        sample-ratio-mismatch tests in `result.srm`.

    An unreplicated design (one observation per cell) uses Lenth's (1989) pseudo standard error
    with m/3 df. Effects follow Box, Hunter & Hunter (2005): mean where the ±1 product of the
    term's factors is +1 minus mean where it is -1, cells weighted equally.
    """
    alpha = check_alpha(alpha)
    facs = check_request(
        outcome=outcome,
        factors=factors,
        unit=unit,
        cluster=cluster,
        covariate=covariate,
        allocation=allocation,
    )
    if vcov is not None:
        check_option("vcov", vcov, Vcov)
    if cluster is not None and vcov not in (None, "CR1"):
        raise OptionError(
            f"cluster={cluster!r} was given with vcov={vcov!r}, which ignores clusters",
            columns=[cluster],
            fix="use vcov='CR1' (the default when cluster is given) or drop cluster=",
        )
    if vcov == "CR1" and cluster is None and unit is None:
        raise OptionError(
            "vcov='CR1' needs cluster= (or unit=) to know what to cluster on",
            fix="pass cluster='<column>', e.g. the market the users belong to",
        )
    table = as_table(data)
    spec: dict[str, str] = {outcome: "numeric", **dict.fromkeys(facs, "any")}
    if covariate is not None:
        spec[covariate] = "numeric"
    for col in (cluster, unit):
        if col is not None:
            spec[col] = "key"
    require_columns(table, spec, role="factorial")
    _check_factor_types(table, facs)

    keys = [c for c in dict.fromkeys([cluster, unit]) if c is not None]
    cp = cell_pass(table, outcome=outcome, factors=facs, covariate=covariate, also_complete=keys)
    frame = cp.frame
    if frame.empty or int(frame["n"].sum()) == 0:
        raise DataError(
            "the table is empty", columns=[outcome, *facs], fix="pass a table with rows"
        )
    _check_factor_values(table, frame, facs, outcome)
    if cp.suspect:
        require_complete(
            table, cp.suspect, role="factorial", context=[*keys, *facs]
        )  # raises with counts and example rows
        raise EstimationError(
            f"aggregates of {list(cp.suspect)} overflow to non-finite values",
            columns=list(cp.suspect),
            fix="rescale the column(s) (e.g. divide by 1e6) before calling",
        )
    frame = frame.assign(
        cell=sum(frame[f"factor{j}"].astype("int64") * (2**j) for j in range(len(facs)))
    ).sort_values("cell")
    info = detect_design(frame["cell"], facs)
    st = _cell_stats(frame, covariate)
    notes: list[str] = []

    # -- units and clusters -----------------------------------------------------------------------
    srm_counts = dict(zip(st.cells.tolist(), st.n.tolist(), strict=True))
    counted = "rows"
    if unit is not None:
        up = unit_pass(table, unit=unit, factors=facs)
        if up.n_mixed:
            raise DesignError(
                f"{up.n_mixed:,} unit(s) of {unit!r} appear in more than one arm; a randomised unit "
                "must keep its factor levels",
                columns=[unit, *facs],
                rows=up.mixed_examples,
                fix="fix the assignment log (or the join that built the table), or pass the "
                "column that was actually randomised as unit=",
            )
        srm_counts = {int(c): float(v) for c, v in up.units_per_cell.items()}
        counted = "units"
        if cluster is None and (up.max_rows_per_unit > 1 or vcov == "CR1"):
            if vcov in (None, "CR1"):
                cluster = unit
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

    # -- coefficients and covariance --------------------------------------------------------------
    theta, v_theta, df, n_clusters, vcov_type = _fit(
        table, st, info, vcov_type, outcome, covariate, cluster, facs, notes
    )
    p = st.p
    cell_map = np.eye(p)
    if st.has_covariate:
        cell_map = np.hstack([cell_map, np.full((p, 1), st.overall_mean_x)])
    contrast = contrast_matrix(info.terms, info.cells)
    l_eff = contrast @ cell_map
    eff = l_eff @ theta
    v_eff = l_eff @ v_theta @ l_eff.T
    se_eff = np.sqrt(np.clip(np.diag(v_eff), 0.0, None))
    names = info.term_names
    table_out = wald_table(names, eff, se_eff, alpha=alpha, df=df)
    if info.kind == "fractional":
        table_out["aliases"] = [info.aliases[n] for n in names]
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

    shap_table = shap_total = shap_se = None
    if info.kind == "full":
        split = shapley_split(adj, v_cells, components=facs, alpha=alpha, df=df)
        shap_table, shap_total, shap_se = split.table, split.total, split.total_std_error

    alloc = {f: float((allocation or {}).get(f, 0.5)) for f in facs}
    srm = est.srm_table(srm_counts, factors=facs, allocation=alloc, counted=counted)
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
            + f" counting {counted}: the assignment may be broken; see result.srm",
            AttributionWarning,
            stacklevel=2,
        )

    provenance = Provenance(
        design="factorial",
        data=fingerprint(table, n_rows=st.n_total),
        options={
            "outcome": outcome,
            "factors": list(facs),
            "unit": unit,
            "cluster": cluster,
            "covariate": covariate,
            "vcov": vcov_type,
            "alpha": alpha,
            "allocation": alloc,
        },
    )
    return FactorialResult(
        design="factorial",
        table=table_out,
        alpha=alpha,
        provenance=provenance,
        outcome=outcome,
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
        shapley_table=shap_table,
        shapley_total=shap_total,
        shapley_total_se=shap_se,
        theta=theta,
        theta_vcov=v_theta,
        cell_map=cell_map,
    )


def _fit(
    table: ir.Table,
    st: est.CellStats,
    info: DesignInfo,
    vcov_type: str,
    outcome: str,
    covariate: str | None,
    cluster: str | None,
    facs: tuple[str, ...],
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, float | None, int | None, str]:
    """θ, its covariance, the t df, the number of clusters, and the covariance actually used."""
    theta = est.coefficients(st)
    n, k = st.n_total, st.k_params
    if np.all(st.n == 1):
        if covariate is not None or cluster is not None:
            raise DesignError(
                "the design is unreplicated (one row per cell): there is no residual variation "
                "to estimate a covariate slope or cluster-robust errors from",
                columns=[c for c in (covariate, cluster) if c],
                fix="drop covariate= / cluster= (Lenth's pseudo standard error is used), or "
                "replicate the cells",
            )
        if st.p < 4:
            raise DesignError(
                f"an unreplicated design with {st.p} cells leaves too few effects for Lenth's "
                "pseudo standard error",
                columns=list(facs),
                fix="replicate the cells",
            )
        effects = contrast_matrix(info.terms, info.cells) @ theta
        pse, df = est.lenth_pse(effects)
        notes.append(
            f"unreplicated design: standard errors are Lenth's (1989) pseudo standard error "
            f"(PSE = {pse:.6g}) with m/3 = {df:.4g} df; the requested vcov is not estimable"
        )
        sigma2 = pse**2 * st.p / 4.0  # implied per-cell variance: var(effect) = 4σ²/p
        return theta, sigma2 * np.eye(st.p), df, None, "lenth"
    if n - k <= 0:
        raise DesignError(
            f"{n} rows for {k} parameters leave no residual degrees of freedom",
            columns=list(facs),
            fix="more rows per cell are needed",
        )
    if covariate is not None:
        w = st.within_ss_x
        scale_x = float(np.sum(st.n * (st.ss_x / st.n + st.mean_x**2)))
        if not np.isfinite(w) or w <= 1e-12 * max(scale_x, 1e-300):
            raise DesignError(
                f"covariate {covariate!r} does not vary within cells (it is constant, or a function "
                "of the factors), so it cannot adjust the outcome",
                columns=[covariate],
                fix="use a pre-period measure that varies across units, or drop covariate=",
            )
    if vcov_type == "iid":
        return theta, est.iid_vcov(st), float(n - k), None, vcov_type
    mean_y = dict(zip(st.cells.tolist(), st.mean_y.tolist(), strict=True))
    mean_x = (
        dict(zip(st.cells.tolist(), st.mean_x.tolist(), strict=True)) if st.has_covariate else None
    )
    if vcov_type == "CR1":
        if cluster is None:  # guarded in factorial(); kept for direct callers
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
        if g < 2:
            raise DesignError(
                f"cluster column {cluster!r} has a single cluster; cluster-robust errors need "
                "at least two (and preferably many more)",
                columns=[cluster],
                fix="cluster on a coarser-than-unit column with several values, or use vcov='HC2'",
            )
        scale = g / (g - 1) * (n - 1) / (n - k)
        notes.append(
            f"CR1 with {g} clusters of {cluster!r}: t reference with G - 1 = {g - 1} df"
            + ("; few clusters make CR1 unreliable" if g < 30 else "")
        )
        return theta, est.sandwich_vcov(st, meat, scale=scale), float(g - 1), g, vcov_type
    power = _HC_POWER[vcov_type]
    if power and np.any(st.n == 1):
        ones = [c for c, m in zip(st.cells.tolist(), st.n.tolist(), strict=True) if m == 1]
        raise DesignError(
            f"{len(ones)} cell(s) have a single row, whose leverage is 1: {vcov_type} is undefined",
            columns=list(facs),
            rows=cell_frame(ones, facs).assign(n_rows=1),
            fix="use vcov='HC1' or 'iid', or add rows to these cells",
        )
    scale = n / (n - k) if vcov_type == "HC1" else 1.0
    if covariate is None:
        return (
            theta,
            est.sandwich_vcov(st, est.closed_form_meat(st, power), scale=scale),
            float(n - k),
            None,
            vcov_type,
        )
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
    if power and float(lev["max_h"].max()) >= 1.0 - 1e-10:
        raise DesignError(
            f"some rows have leverage 1 (a covariate value alone in its cell): {vcov_type} is undefined",
            columns=[covariate, *facs],
            fix="use vcov='HC1', or check the covariate for extreme values",
        )
    meat = est.hc_meat_from_pass(
        st, lev["s0"].to_numpy(float), lev["s1"].to_numpy(float), lev["s2"].to_numpy(float)
    )
    return theta, est.sandwich_vcov(st, meat, scale=scale), float(n - k), None, vcov_type


def _cell_stats(frame: pd.DataFrame, covariate: str | None) -> est.CellStats:
    n = frame["n"].to_numpy(float)
    var_y = frame["var_y"].fillna(0.0).to_numpy(float)
    kw = {}
    if covariate is not None:
        kw = {
            "mean_x": frame["mean_x"].to_numpy(float),
            "ss_x": frame["var_x"].fillna(0.0).to_numpy(float) * n,
            "sp_xy": frame["cov_xy"].fillna(0.0).to_numpy(float) * n,
        }
    return est.CellStats(
        cells=frame["cell"].to_numpy("int64"),
        n=n,
        mean_y=frame["mean_y"].to_numpy(float),
        ss_y=var_y * n,
        **kw,
    )


def _check_factor_types(table: ir.Table, facs: Sequence[str]) -> None:
    """Factors must be integer or boolean columns: no silent coercion of floats or strings."""
    schema = table.schema()
    for f in facs:
        typ = schema[f]
        if typ.is_integer() or typ.is_boolean():
            continue
        values = table.select(f).distinct().limit(10).execute()[f].tolist()
        raise DataError(
            f"factor {f!r} is {typ} with values {values}{' …' if len(values) == 10 else ''}; "
            "factors must be 0/1 integers or booleans",
            columns=[f],
            fix=f"recode {f!r} to 0/1 integers (1 = the new component) before calling",
        )


def _check_factor_values(
    table: ir.Table, frame: pd.DataFrame, facs: Sequence[str], outcome: str
) -> None:
    """No NULL factor and only the values 0/1 (or False/True)."""
    for j, f in enumerate(facs):
        col = frame[f"factor{j}"]
        if col.isna().any():
            rows = table.filter(table[f].isnull()).select(*facs, outcome)
            n_null = int(frame.loc[col.isna(), "n"].sum())
            raise DataError(
                f"factor {f!r} is missing in {n_null:,} rows",
                columns=[f],
                rows=rows.limit(config.get().example_rows).execute(),
                fix="every row must record which arm it was in; drop or repair these rows explicitly",
            )
        values = sorted({v for v in col.tolist()})
        if not set(values) <= {0, 1}:
            extra = [v for v in values if v not in (0, 1)]
            rows = table.filter(~table[f].isin([0, 1])).select(*facs, outcome)
            raise DataError(
                f"factor {f!r} has values {values}; a two-level factor takes only 0 and 1 "
                f"(unexpected: {extra})",
                columns=[f],
                rows=rows.limit(config.get().example_rows).execute(),
                fix=f"recode {f!r} to 0/1 (1 = the new component), or split a multi-level factor "
                "into separate 0/1 factors",
            )
