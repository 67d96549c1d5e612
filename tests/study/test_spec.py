"""A broken spec stops before any estimate with a StudySpecError naming the file and the line."""

from __future__ import annotations

import pytest

from attribution.errors import OptionError, StudySpecError
from attribution.study import Study, load_spec
from attribution.study.spec import StudySpec
from tests.study.conftest import line_of


def _error(path) -> StudySpecError:
    with pytest.raises(StudySpecError) as info:
        load_spec(path)
    return info.value


def _assert_at(err: StudySpecError, path, line: int, *words: str) -> None:
    assert err.line == line, str(err)
    assert str(err).startswith(f"{path}, line {line}: "), str(err)
    assert err.path == str(path)
    assert err.fix
    for w in words:
        assert w in str(err), str(err)


def test_the_base_spec_is_valid(write_spec, base_text):
    spec = load_spec(write_spec(base_text))
    assert isinstance(spec, StudySpec)
    assert spec.primary.name == "engagement"
    assert [g.name for g in spec.guardrails] == ["latency"]
    assert spec.designs[0].columns == {"E": "E", "R": "R", "K": "K"}
    assert spec.launch.diagnostics == ("contract", "srm")
    assert spec.primary.as_metric().column == "engagement"
    assert issubclass(StudySpecError, OptionError)


def test_unknown_design_names_its_line_and_the_nearest(write_spec, base_text):
    text = base_text.replace("design: factorial", "design: factorail")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "design: factorail"), "factorail", "'factorial'")


def test_unknown_top_level_key_suggests_the_nearest(write_spec, base_text):
    text = base_text.replace("designs:", "desgins:")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "desgins:"), "unknown key 'desgins'", "'designs'")


def test_unknown_key_inside_a_component(write_spec, base_text):
    text = base_text.replace("cost_per_period: 5", "cost_per_perod: 5")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "cost_per_perod"), "cost_per_period")


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("design: factorial\n", "design: factorial\n    extra: [1, 2\n", "extra: [1, 2"),
        ("  experiment: {", "  experiment {", "experiment {"),
        ("seed: 3", "seed: 3\n  alpha: 0.05", "  alpha: 0.05"),
    ],
)
def test_yaml_typo_names_its_line(write_spec, base_text, old, new, needle):
    text = base_text.replace(old, new, 1)
    path = write_spec(text)
    err = _error(path)
    assert "does not parse" in str(err)
    # PyYAML reports the line where it notices the problem: the typo's or the next one
    assert err.line in (line_of(text, needle), line_of(text, needle) + 1), str(err)
    assert str(err).startswith(f"{path}, line {err.line}: ")


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ("power: 0.8", "power: 1.5", "power: 1.5", ("power",)),
        ("power: 0.8", "power: 0", "power: 0", ("power",)),
        (
            "tolerated_loss_pct: 2.0",
            "tolerated_loss_pct: -1",
            "tolerated_loss_pct: -1",
            ("tolerated_loss_pct",),
        ),
        ("alpha: 0.05", "alpha: 1.2", "alpha: 1.2", ("alpha",)),
        (", tolerated_loss_pct: 2.0}", "}", "name: latency", ("no tolerated_loss_pct",)),
        ("cost_per_period: 5", "cost_per_period: 0", "cost_per_period: 0", ("cost_per_period",)),
        ("cost_per_period: 5", "cost_per_period: -3", "cost_per_period: -3", ("cost_per_period",)),
        ("diagnostics: [contract, srm]", "diagnostics: [contract, srn]", "srn", ("'srm'",)),
        ("direction: decrease", "direction: down", "direction: down", ("direction",)),
        ("value_per_unit: 0.01", "value_per_unit: -0.01", "value_per_unit", ("value_per_unit",)),
    ],
)
def test_impossible_criteria_name_their_line(write_spec, base_text, old, new, needle, words):
    text = base_text.replace(old, new, 1)
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, needle), *words)


def test_no_primary_metric(write_spec, base_text):
    text = base_text.replace(
        "  primary: {name: engagement, column: engagement, direction: increase, value_per_unit: 0.01}\n",
        "",
    )
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "metrics:"), "no primary metric")


def test_duplicate_ids_and_components(write_spec, base_text):
    text = base_text.replace("  - {name: R, column: R}", "  - {name: E, column: R}")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "{name: E, column: R}"), "twice")
    block = base_text[base_text.index("  - id: factorial") : base_text.index("launch:")]
    text = base_text.replace(block, block + block)
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "id: factorial", 1), "used twice")


def test_duplicate_yaml_key(write_spec, base_text):
    text = base_text.replace("seed: 3", "seed: 3\nseed: 4")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "seed: 4"), "twice")


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        (
            "table: experiment",
            "table: experimnt",
            "table: experimnt",
            ("experimnt", "'experiment'"),
        ),
        ("estimates: [E, R, K]", "estimates: [E, R, X]", "estimates: [E, R, X]", ("'X'",)),
        ("vcov: HC2", "vcov: HC9", "vcov: HC9", ("vcov", "HC2")),
        ("vcov: HC2", "vcv: HC2", "vcv: HC2", ("no option 'vcv'", "'vcov'")),
        ("vcov: HC2", "outcome: y", "outcome: y", ("set by the study",)),
        ("vcov: HC2", "allocation: 3", "allocation: 3", ("allocation",)),
    ],
)
def test_design_mistakes_name_their_line(write_spec, base_text, old, new, needle, words):
    text = base_text.replace(old, new, 1)
    path = write_spec(text)
    err = _error(path)
    _assert_at(err, path, line_of(text, needle), *words)


def test_design_needing_a_launch_log_or_one_component(write_spec, base_text):
    text = base_text.replace("design: factorial", "design: did.launch_event_study")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "- id: factorial"), "launch_log")
    text = base_text.replace("design: factorial", "design: synth.fit").replace(
        "{covariate: pre_engagement, vcov: HC2}", "{unit: unit, time: period}"
    )
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "estimates: [E, R, K]"), "one component")


def test_option_values_checked_through_literal_annotations(write_spec, base_text):
    text = (
        base_text.replace("design: factorial", "design: synth.fit")
        .replace("estimates: [E, R, K]", "estimates: [K]")
        .replace(
            "{covariate: pre_engagement, vcov: HC2}", "{unit: unit, time: period, method: sdidd}"
        )
    )
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "method: sdidd"), "method='sdidd'", "'sdid'")


def test_unknown_contract_and_source(write_spec, base_text):
    text = base_text.replace("contract: factorial_experiment", "contract: factorial_experimnt")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "factorial_experimnt"), "factorial_experimnt")
    text = base_text.replace("  duckdb:", "  duck:")
    path = write_spec(text)
    _assert_at(_error(path), path, line_of(text, "duck:"), "'duckdb'")


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(StudySpecError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(StudySpecError, match="empty"):
        load_spec(empty)


def test_from_yaml_reads_no_data(write_spec, base_text, tmp_path):
    """Static validation opens nothing: a spec naming a missing DuckDB file loads."""
    text = base_text.replace(
        base_text.split("duckdb: ")[1].split("\n")[0], str(tmp_path / "absent.duckdb")
    )
    study = Study.from_yaml(write_spec(text))
    assert not (tmp_path / "absent.duckdb").exists()
    with pytest.raises(StudySpecError) as info:
        study.check()
    assert info.value.line == line_of(text, "duckdb:")
    assert not (tmp_path / "absent.duckdb").exists()
