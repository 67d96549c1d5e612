"""Contract parameters: a study's own component columns, declared defaults, typed errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.data.contracts import ContractError, load_contract, parse_contract


def _experiment(components: tuple[str, ...], n: int = 64, seed: int = 0) -> pd.DataFrame:
    """One row per user; every on/off combination of `components` populated."""
    rng = np.random.default_rng(seed)
    k = len(components)
    cells = np.arange(n) % 2**k
    frame = pd.DataFrame(
        {
            "user_id": np.arange(n, dtype="int64"),
            "market": [f"m{i % 4:02d}" for i in range(n)],
            "segment": rng.choice(["new", "casual", "heavy"], n),
        }
    )
    for j, c in enumerate(components):
        frame[c] = ((cells >> j) & 1).astype("int8")
    frame["pre_engagement"] = rng.uniform(1, 5, n)
    frame["engagement"] = rng.uniform(1, 5, n)
    return frame


def test_defaults_reproduce_the_unparametrised_contract():
    fx = load_contract("factorial_experiment")
    assert fx.parameter_values == {"components": ("E", "R", "K")}
    assert [c for c in fx.column_names if c in "ERK"] == ["E", "R", "K"]
    assert fx.column("E").allowed == (0, 1) and fx.column("K").types == ("integer",)
    checks = {c.id: c for c in fx.checks}
    assert checks["one_arm_per_user"].columns == ("E", "R", "K")
    assert checks["all_cells_populated"].columns == ("E", "R", "K")
    assert "E, R, K" in checks["one_arm_per_user"].message
    ex = load_contract("exposures")
    assert ex.column_names[4:7] == ("exposure_E", "exposure_R", "exposure_K")
    assert ex.column("exposure_R").description == "share of the user's traffic served by the new R"
    sp = load_contract("surface_panel")
    assert sp.column_names[-3:] == ("E", "R", "K") and sp.column("R").max == 1.0


def test_a_study_with_components_emb_ret_validates_its_table():
    frame = _experiment(("emb", "ret"))
    params = {"components": ["emb", "ret"]}
    report = at.validate(frame, "factorial_experiment", parameters=params)
    assert report.passed, report.to_text(only_failures=True)
    assert {"emb.allowed", "ret.allowed", "one_arm_per_user", "all_cells_populated"} <= {
        c.id for c in report.checks
    }
    assert "E.present" not in {c.id for c in report.checks}
    # the same table fails the default contract: E, R, K are missing
    bad = at.validate(frame, "factorial_experiment", raise_on_failure=False)
    assert {"E.present", "R.present", "K.present"} <= {c.id for c in bad.failures}
    # a rule of the expanded columns really runs: a value of 2 in `ret` fails ret.allowed
    broken = frame.assign(ret=frame["ret"].where(frame.index != 3, 2).astype("int8"))
    rep = at.validate(broken, "factorial_experiment", parameters=params, raise_on_failure=False)
    assert [c.id for c in rep.failures] == ["ret.allowed"]
    assert rep["ret.allowed"].n_failing == 1


def test_parameters_combine_with_a_column_map():
    frame = _experiment(("emb", "ret")).rename(columns={"emb": "embedding_on"})
    report = at.validate(
        frame,
        "factorial_experiment",
        parameters={"components": ["emb", "ret"]},
        columns={"emb": "embedding_on"},
    )
    assert report.passed, report.to_text(only_failures=True)


def test_a_parsed_contract_can_be_reparametrised():
    fx = load_contract("factorial_experiment")
    two = load_contract(fx, parameters={"components": ("a", "b")})
    assert "a" in two.column_names and "E" not in two.column_names
    assert two.version == fx.version and two.parameter_values == {"components": ("a", "b")}


def test_an_unknown_parameter_is_a_typed_error_naming_it():
    with pytest.raises(ContractError, match="no parameter 'componets'") as err:
        load_contract("factorial_experiment", parameters={"componets": ["E"]})
    assert "components" in str(err.value)
    with pytest.raises(ContractError, match=r"(?s)no parameter 'components'.*declares none"):
        at.validate(pd.DataFrame({"a": [1]}), "launch_log", parameters={"components": ["E"]})
    for bad in ("emb", [], ["emb", "emb"], ["emb", 3], None):
        with pytest.raises(ContractError, match=r"parameter 'components'.*list of distinct names"):
            load_contract("factorial_experiment", parameters={"components": bad})
    with pytest.raises(ContractError, match="parameters must map"):
        load_contract("factorial_experiment", parameters=["emb"])  # type: ignore[arg-type]


BASE = {"name": "t", "version": "1.0.0", "parameters": {"cs": {"default": ["a", "b"]}}}


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"columns": {"x_{c}": {"for_each": "ds", "type": "int64"}}}, r"for_each.*'ds'"),
        ({"columns": {"x": {"for_each": "cs", "type": "int64"}}}, r"exactly one \{placeholder\}"),
        ({"columns": {"x": {"type": "int64", "allowed": "${ds}"}}}, r"columns.x.allowed.*\$\{ds\}"),
        (
            {"columns": {"{c}": {"for_each": "cs", "type": "int64"}, "a": "int64"}},
            "declares column 'a' twice",
        ),
        ({"parameters": {"cs": {"default": []}}, "columns": {"x": "int64"}}, "parameters.cs"),
        ({"parameters": {"cs": {"defualt": ["a"]}}, "columns": {"x": "int64"}}, "defualt"),
    ],
)
def test_malformed_parameter_declarations_name_the_key(raw, match):
    with pytest.raises(ContractError, match=match):
        parse_contract({**BASE, **raw}, source="t.yaml")


def test_references_splice_into_lists_and_text():
    raw = {
        **BASE,
        "description": "components ${cs}",
        "columns": {"id": "int64", "{c}": {"for_each": "cs", "type": "int64"}},
        "checks": [
            {"id": "u", "kind": "unique", "columns": ["id", "${cs}"], "message": "by id, ${cs}"}
        ],
    }
    c = parse_contract(raw, parameters={"cs": ["p", "q", "r"]})
    assert c.description == "components p, q, r"
    assert c.column_names == ("id", "p", "q", "r")
    assert c.checks[0].columns == ("id", "p", "q", "r") and c.checks[0].message == "by id, p, q, r"
