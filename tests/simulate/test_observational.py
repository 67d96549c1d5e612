"""observational_exposure: table, confounding, exact truth recovered by the right adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.errors import OptionError
from attribution.simulate import observational_exposure
from attribution.simulate.factorial import BLOCK

COLUMNS = [
    "user_id", "segment", "activity", "pre_engagement",
    "exposure_E", "exposure_R", "exposure_K", "engagement",
]  # fmt: skip
SEGS = ["new", "casual", "heavy"]


def _ols_hc1(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    e = y - X @ b
    meat = (X * e[:, None] ** 2).T @ X
    v = xtx_inv @ meat @ xtx_inv * len(y) / (len(y) - X.shape[1])
    return b, v


def test_table_follows_tables_md_and_is_deterministic():
    n = BLOCK + 100
    df = observational_exposure(n, seed=1, chunk_size=10).table()
    pd.testing.assert_frame_equal(df, observational_exposure(n, seed=1).table())
    assert list(df.columns) == COLUMNS
    assert df["user_id"].is_unique and df["user_id"].dtype == np.int64
    assert set(df["segment"]) == set(SEGS)
    for c in COLUMNS[2:]:
        assert df[c].dtype == np.float64 and np.isfinite(df[c]).all()
    for c in ("activity", "pre_engagement", "engagement"):
        assert (df[c] >= 0).all()
    for c in "ERK":
        x = df[f"exposure_{c}"]
        assert x.between(0, 1).all() and 0.2 < x.mean() < 0.7 and x.std() > 0.1


def test_naive_is_biased_and_adjustment_recovers_truth():
    sim = observational_exposure(200_000, seed=2)
    df, d = sim.table(), sim.truth.details
    y = df["engagement"].to_numpy()
    xs = [df[f"exposure_{c}"].to_numpy() for c in "ERK"]
    # naive: engagement on exposures only — confounded by activity (heavy users are more exposed)
    b, _ = _ols_hc1(np.column_stack([np.ones_like(y), *xs]), y)
    assert (b[1:] > 5 * d["ame"].to_numpy()).all()
    # adjusted: activity + segment, exposure slopes per segment → segment slopes and the AME
    seg = {s: (df["segment"] == s).to_numpy(float) for s in SEGS}
    cols = [np.ones_like(y), df["activity"].to_numpy(), seg["casual"], seg["heavy"]]
    cols += [x * seg[s] for x in xs for s in SEGS]
    b, v = _ols_hc1(np.column_stack(cols), y)
    slopes, vs = b[4:], v[4:, 4:]
    truth = d["segment_slopes"][list("ERK")].T.to_numpy().ravel()  # component-major like cols
    z = (slopes - truth) / np.sqrt(np.diag(vs))
    assert np.all(np.abs(z) < 4), z
    assert np.allclose(d["segment_slopes"].T @ d["segment_shares"], d["ame"])
    assert sim.truth.effects[["E", "R", "K"]].to_numpy() == pytest.approx(d["ame"].to_numpy())
    assert np.allclose(sim.truth.effects[["E:R", "E:K", "R:K", "E:R:K"]], 0.0, atol=1e-12)


def test_duckdb_write(tmp_path):
    con = at.connect(str(tmp_path / "o.duckdb"))
    t = observational_exposure(1000, seed=0, con=con).table("exposures")
    assert list(t.schema().names) == COLUMNS and int(t.count().execute()) == 1000
    assert str(t.schema()["exposure_E"]) == "!float64"
    con.disconnect()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_users": 3}, "n_users"), ({"seed": -2}, "seed"), ({"table_name": "a b"}, "table_name"),
     ({"con": object()}, "Ibis backend"), ({"chunk_size": 0}, "chunk_size"),
     ({"progress": 1}, "progress")],
)  # fmt: skip
def test_bad_input(kwargs, match):
    args = {"n_users": 100} | kwargs
    n = args.pop("n_users")
    with pytest.raises(OptionError, match=match):
        observational_exposure(n, **args)
