"""Regenerate the cached `att_gt` / `aggte` reference numbers on mpdta with moderndid 0.2.0.

moderndid reproduces R `did` 2.x; it needs scipy >= 1.16, so it lives in the separate reference venv:

    make peers
    .venv-peers/bin/python tests/reference/did/make_reference.py

Writes att_gt_mpdta.json next to this file: one entry per configuration, each with the group-time
ATTs and analytic standard errors and the four aggregations (overall and per-row estimates and SEs).
Only analytic (non-bootstrap) standard errors are cached: they are deterministic.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mpdta import load_mpdta  # noqa: E402


def _weights_column(frame):
    """A deterministic unit-level sampling weight (so the weighted path is exercised)."""
    return 1.0 + (frame["countyreal"] % 7) / 3.0


def _unbalanced(frame):
    """mpdta with a deterministic ~5% of (unit, year) rows removed."""
    drop = ((frame["countyreal"] * 7 + frame["year"]) % 23) == 0
    return frame.loc[~drop].reset_index(drop=True)


CONFIGS: list[dict] = []
for cg in ("nevertreated", "notyettreated"):
    for em in ("dr", "ipw", "reg"):
        for xf in (None, "~lpop"):
            CONFIGS.append({"control_group": cg, "est_method": em, "xformla": xf})
CONFIGS += [
    {"control_group": "nevertreated", "est_method": "dr", "base_period": "universal"},
    {"control_group": "notyettreated", "est_method": "reg", "base_period": "universal"},
    {"control_group": "nevertreated", "est_method": "dr", "anticipation": 1},
    {"control_group": "notyettreated", "est_method": "dr", "anticipation": 1},
    {"control_group": "nevertreated", "est_method": "dr", "weights": True},
    {"control_group": "notyettreated", "est_method": "ipw", "weights": True},
    {"control_group": "nevertreated", "est_method": "dr", "weights": True, "xformla": "~lpop"},
    {"control_group": "nevertreated", "est_method": "dr", "unbalanced": True},
    {"control_group": "notyettreated", "est_method": "reg", "unbalanced": True},
    {"control_group": "nevertreated", "est_method": "dr", "unbalanced": True, "xformla": "~lpop"},
]

DYNAMIC_EXTRA = [
    {"balance_e": 1},
    {"min_e": -2, "max_e": 2},
    {"balance_e": 0, "max_e": 2},
]


def _name(cfg: dict) -> str:
    parts = [cfg["control_group"], cfg["est_method"]]
    if cfg.get("xformla"):
        parts.append("x_lpop")
    if cfg.get("base_period"):
        parts.append(cfg["base_period"])
    if cfg.get("anticipation"):
        parts.append(f"antic{cfg['anticipation']}")
    if cfg.get("weights"):
        parts.append("weighted")
    if cfg.get("unbalanced"):
        parts.append("unbalanced")
    return "_".join(parts)


def _f(values) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def _agg(res, **kw) -> dict:
    import moderndid

    a = moderndid.aggte(res, cband=False, **kw)
    out = {"overall_att": float(a.overall_att), "overall_se": float(a.overall_se)}
    if a.event_times is not None:
        out["rows"] = {
            "value": _f(a.event_times),
            "att": _f(a.att_by_event),
            "se": _f(a.se_by_event),
        }
    return out


def main() -> None:
    import moderndid

    base = load_mpdta()
    base["w"] = _weights_column(base)
    out: dict = {
        "source": "moderndid 0.2.0 (reproduces R did 2.x), analytic SEs, bootstrap off",
        "data": "mpdta (Callaway & Sant'Anna 2021), shipped in the moderndid wheel; "
        "first.treat renamed first_treat; yname=lemp, tname=year, idname=countyreal",
        "weights_column": "w = 1 + (countyreal % 7) / 3",
        "unbalanced_rows_dropped": "(countyreal * 7 + year) % 23 == 0",
        "configs": {},
    }
    for cfg in CONFIGS:
        data = _unbalanced(base) if cfg.get("unbalanced") else base
        kwargs = {
            "yname": "lemp",
            "tname": "year",
            "idname": "countyreal",
            "gname": "first_treat",
            "xformla": cfg.get("xformla"),
            "control_group": cfg["control_group"],
            "est_method": cfg["est_method"],
            "base_period": cfg.get("base_period", "varying"),
            "anticipation": cfg.get("anticipation", 0),
            "weightsname": "w" if cfg.get("weights") else None,
            "allow_unbalanced_panel": bool(cfg.get("unbalanced")),
            # R `did` turns an unbalanced panel into its repeated-cross-section path (panel=FALSE with
            # the unit id kept); moderndid 0.2.0 only does so when told panel=False explicitly.
            "panel": not cfg.get("unbalanced"),
            "boot": False,
            "cband": False,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = moderndid.att_gt(data, **kwargs)
            entry = {
                "options": {k: v for k, v in kwargs.items() if k not in ("boot", "cband")},
                "att_gt": {
                    "group": _f(res.groups),
                    "time": _f(res.times),
                    "att": _f(res.att_gt),
                    "se": _f(res.se_gt),
                },
                "n_units": int(res.n_units),
                "aggte": {t: _agg(res, type=t) for t in ("simple", "dynamic", "group", "calendar")},
            }
            if cfg == CONFIGS[0]:
                entry["aggte_dynamic_extra"] = [
                    {"args": extra, **_agg(res, type="dynamic", **extra)} for extra in DYNAMIC_EXTRA
                ]
        out["configs"][_name(cfg)] = entry
        print(_name(cfg), "done", flush=True)
    # non-consecutive periods (2005 removed) and max_e for simple / group (R counts max_e in ranks
    # of the distinct periods and cohorts)
    gap = base[base["year"] != 2005].reset_index(drop=True)
    for label, data in (("max_e", base), ("gap2005_max_e", gap)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = moderndid.att_gt(
                data, yname="lemp", tname="year", idname="countyreal", gname="first_treat",
                boot=False, cband=False,
            )  # fmt: skip
            out["configs"][f"nevertreated_dr_{label}"] = {
                "options": {"years_dropped": [] if data is base else [2005]},
                "att_gt": {"group": _f(res.groups), "time": _f(res.times),
                           "att": _f(res.att_gt), "se": _f(res.se_gt)},
                "n_units": int(res.n_units),
                "aggte": {
                    f"{t}_max_e{m}": _agg(res, type=t, max_e=m)
                    for t in ("simple", "group", "dynamic") for m in (0, 1)
                },
            }  # fmt: skip
    # clustered inference: R `did` clusters only in its multiplier bootstrap (Mammen weights on
    # cluster-mean influence functions); 20000 draws, seeded, so the SEs carry Monte-Carlo error
    data = base.assign(state=base["countyreal"] // 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for xf in (None, "~lpop"):
            res = moderndid.att_gt(
                data, yname="lemp", tname="year", idname="countyreal", gname="first_treat",
                xformla=xf, boot=True, biters=20000, clustervars=["state"], cband=False,
                random_state=1,
            )  # fmt: skip
            out["configs"]["cluster_state_bootstrap" + ("_x_lpop" if xf else "")] = {
                "options": {"xformla": xf, "clustervars": ["state"], "state": "countyreal // 1000",
                            "boot": True, "biters": 20000, "random_state": 1},
                "att_gt": {"group": _f(res.groups), "time": _f(res.times),
                           "att": _f(res.att_gt), "se": _f(res.se_gt)},
                "n_units": int(res.n_units),
            }  # fmt: skip
    target = HERE / "att_gt_mpdta.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", target)


if __name__ == "__main__":
    main()
