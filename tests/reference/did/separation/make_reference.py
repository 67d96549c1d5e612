"""Regenerate separation.json: what moderndid 0.2.0 (the Python port of R `did`) does when the
propensity score of one cohort is perfectly separated.

Run in the reference venv (moderndid needs scipy >= 1.16, which the main venv cannot have):

    make peers && .venv-peers/bin/python tests/reference/did/separation/make_reference.py

Panels (mpdta, from the moderndid wheel; `../mpdta.py`):

- `g2007_one_unit_separated`: cohort 2007 reduced to its single county with the smallest lpop
  (countyreal 30109, lpop 0.0658, below every never-treated county's lpop, min 0.1765), so with
  xformla ~lpop the logit of "cohort 2007 vs comparison units" is completely separated in every
  (g = 2007, t) cell;
- `g2004_one_unit_interior`: cohort 2004 reduced to the county with the median lpop among its
  20 (an interior value: a one-unit cohort without separation), for contrast.

Each is run with `att_gt(yname="lemp", tname="year", idname="countyreal", gname="first_treat",
xformla="~lpop", est_method=..., control_group=..., base_period=..., boot=False, cband=False)`
and then `aggte(type=..., na_rm=...)` for simple / dynamic / group / calendar, na_rm False and
True. Stored: every ATT(g,t) and SE (NaN as null), the cells of the full group × period grid that
are absent or NaN, the warnings (text and count; numpy overflow warnings are counted apart), and
each aggregation (overall ATT / SE and the per-row values) or the error it raised.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import platform
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "separation.json"


def _load_mpdta():
    spec = importlib.util.spec_from_file_location("mpdta", HERE.parent / "mpdta.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mpdta"] = module
    spec.loader.exec_module(module)
    return module.load_mpdta()


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _panel(data, cohort: int, pick: str):
    units = data.drop_duplicates("countyreal")
    members = units[units["first_treat"] == cohort].sort_values(["lpop", "countyreal"])
    # "min": the smallest lpop; otherwise the (lower) median
    keep = members.iloc[0] if pick == "min" else members.iloc[(len(members) - 1) // 2]
    sub = data[(data["first_treat"] != cohort) | (data["countyreal"] == keep["countyreal"])]
    never = units[units["first_treat"] == 0]["lpop"]
    info = {
        "reduced_cohort": cohort,
        "kept_countyreal": int(keep["countyreal"]),
        "kept_lpop": float(keep["lpop"]),
        "never_treated_lpop_min": float(never.min()),
        "never_treated_lpop_max": float(never.max()),
        "n_units": int(sub["countyreal"].nunique()),
        "n_rows": len(sub),
        "units_by_cohort": {
            str(int(g)): int(n)
            for g, n in sub.drop_duplicates("countyreal").groupby("first_treat").size().items()
        },
    }
    return sub.reset_index(drop=True), info


def _capture(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value, error = fn(), None
        except Exception as e:  # recording whatever the reference does
            value, error = None, f"{type(e).__name__}: {e}"
    texts = Counter(f"{w.category.__name__}: {w.message}" for w in caught)
    numeric = {k: v for k, v in texts.items() if "overflow" in k or "divide by zero" in k}
    return (
        value,
        error,
        {
            "messages": {k: v for k, v in texts.items() if k not in numeric},
            "numeric_runtime_warnings": numeric,
        },
    )


def _run(md_mod, data, *, est_method: str, control_group: str, base_period: str) -> dict:
    kwargs = {
        "yname": "lemp",
        "tname": "year",
        "idname": "countyreal",
        "gname": "first_treat",
        "xformla": "~lpop",
        "est_method": est_method,
        "control_group": control_group,
        "base_period": base_period,
        "boot": False,
        "cband": False,
    }
    res, err, warns = _capture(lambda: md_mod.att_gt(data=data, **kwargs))
    out: dict = {
        "call": "moderndid.att_gt(data, "
        + ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        + ")",
        "error": err,
        "warnings": warns,
    }
    if res is None:
        return out
    groups = sorted(int(g) for g in data.loc[data["first_treat"] > 0, "first_treat"].unique())
    years = sorted(int(t) for t in data["year"].unique())
    first = 0 if base_period == "universal" else 1
    grid = [(g, t) for g in groups for t in years[first:]]
    got = {
        (int(g), int(t)): (a, s)
        for g, t, a, s in zip(res.groups, res.times, res.att_gt, res.se_gt, strict=True)
    }
    out["att_gt"] = [
        {"group": g, "time": t, "att": _num(a), "se": _num(s)} for (g, t), (a, s) in got.items()
    ]
    out["cells_absent"] = [[g, t] for g, t in grid if (g, t) not in got]
    out["cells_nan"] = [[g, t] for (g, t), (a, _) in got.items() if not np.isfinite(a)]
    aggs = {}
    for kind in ("simple", "dynamic", "group", "calendar"):
        for na_rm in (False, True):
            agg, aerr, awarn = _capture(
                lambda kind=kind, na_rm=na_rm: md_mod.aggte(
                    res, type=kind, na_rm=na_rm, cband=False
                )
            )
            rec: dict = {"error": aerr, "warnings": awarn}
            if agg is not None:
                rec["overall_att"] = _num(agg.overall_att)
                rec["overall_se"] = _num(agg.overall_se)
                if agg.event_times is not None:
                    rec["rows"] = [
                        {"key": _num(e), "att": _num(a), "se": _num(s)}
                        for e, a, s in zip(
                            agg.event_times, agg.att_by_event, agg.se_by_event, strict=True
                        )
                    ]
            aggs[f"{kind}_na_rm_{str(na_rm).lower()}"] = rec
    out["aggte"] = aggs
    return out


def main() -> None:
    import moderndid

    data = _load_mpdta()
    out: dict = {
        "package": "moderndid",
        "versions": {
            p: md.version(p) for p in ("moderndid", "statsmodels", "numpy", "scipy", "pandas")
        }
        | {"python": platform.python_version()},
        "data": "mpdta (moderndid 0.2.0 wheel), via tests/reference/did/mpdta.py",
        "cases": {},
    }
    for name, cohort, pick, runs in (
        (
            "g2007_one_unit_separated",
            2007,
            "min",
            [
                ("dr", "nevertreated", "varying"),
                ("dr", "nevertreated", "universal"),
                ("dr", "notyettreated", "varying"),
                ("ipw", "nevertreated", "varying"),
                ("reg", "nevertreated", "varying"),
            ],
        ),
        ("g2004_one_unit_interior", 2004, "median", [("dr", "nevertreated", "varying")]),
    ):
        panel, info = _panel(data, cohort, pick)
        case = {"panel": info, "runs": {}}
        for est, cg, bp in runs:
            case["runs"][f"{est}_{cg}_{bp}"] = _run(
                moderndid, panel, est_method=est, control_group=cg, base_period=bp
            )
        out["cases"][name] = case
    OUT.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
