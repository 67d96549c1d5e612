"""The causal graph: template, edits, typed errors for bad graphs, the figure."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

import attribution as at
from attribution.graph import CausalGraph, template

matplotlib.use("Agg")


def test_template_is_the_pipeline_with_its_confounders():
    g = template()
    assert g.nodes == ("activity", "segment", "surface_mix", "E", "R", "K", "rerank", "engagement")
    for a, b in [("E", "R"), ("R", "K"), ("K", "rerank"), ("rerank", "engagement"), ("E", "K")]:
        assert (a, b) in g.edges
    for c in ("activity", "segment", "surface_mix"):
        assert g.roles[c] == "confounder"
        assert set(g.children(c)) >= {"E", "R", "K", "rerank", "engagement"}
    assert g.roles["engagement"] == "outcome" and g.with_role("component") == ("E", "R", "K")
    assert "E [component] ← activity, segment, surface_mix" in g.describe()


def test_edits_return_new_graphs_and_rename_to_study_columns():
    g = template()
    h = (
        g.rename({"E": "exposure_E", "R": "exposure_R", "K": "exposure_K"})
        .remove_node("rerank")
        .add_edge("exposure_K", "engagement")
        .add_node("pre_engagement", role="confounder", children=["engagement"])
        .unobserved("surface_mix")
    )
    assert "rerank" in g.nodes and "E" in g.nodes  # the template is untouched
    assert ("exposure_K", "engagement") in h.edges and "rerank" not in h.nodes
    assert h.parents("engagement") == (
        "activity",
        "segment",
        "surface_mix",
        "exposure_K",
        "pre_engagement",
    )
    assert h.latent == frozenset({"surface_mix"}) and "surface_mix" not in h.observed
    assert h.remove_edge("exposure_K", "engagement").parents("engagement")[-1] == "pre_engagement"


def test_a_cycle_is_a_typed_error():
    g = template()
    with pytest.raises(at.DesignError, match="cycle"):
        g.add_edge("engagement", "E")
    with pytest.raises(at.DesignError, match="cycle"):
        CausalGraph(nodes=("a", "b"), edges=(("a", "b"), ("b", "a")))
    with pytest.raises(at.DesignError, match="to themselves"):
        CausalGraph(nodes=("a",), edges=(("a", "a"),))


def test_unknown_nodes_are_typed_errors():
    g = template()
    with pytest.raises(at.DesignError, match="not in the causal graph"):
        g.add_edge("exposure_X", "engagement")
    with pytest.raises(at.DesignError, match="unknown node"):
        CausalGraph(nodes=("a",), edges=(("a", "b"),))
    with pytest.raises(at.DesignError, match="not in the causal graph"):
        g.rename({"nope": "x"})
    with pytest.raises(at.DesignError, match="merge"):
        g.rename({"E": "R"})
    with pytest.raises(at.DesignError, match="already"):
        g.add_node("E")
    with pytest.raises(at.OptionError, match="role"):
        g.add_node("x", role="treatment")  # type: ignore[arg-type]
    with pytest.raises(at.DesignError):
        template(components="ERK")  # type: ignore[arg-type]
    with pytest.raises(at.OptionError, match="reranking"):
        template(reranking=1)  # type: ignore[arg-type]


def test_an_edge_to_a_missing_column_is_a_data_error():
    g = template()
    cols = ["activity", "segment", "surface_mix", "E", "R", "K", "engagement"]
    with pytest.raises(at.DataError, match="rerank") as err:
        g.check_data(cols)
    assert "K → rerank" in str(err.value) and err.value.columns == ("rerank",)
    g.unobserved("rerank").check_data(cols)  # declared unobserved: fine
    g.remove_node("rerank").add_edge("K", "engagement").check_data(cols)


def test_plot_draws_without_graphviz():
    g = template().unobserved("surface_mix")
    fig = g.plot()
    assert isinstance(fig, Figure)
    outer = Figure()
    ax = outer.subplots()
    assert g.plot(ax=ax) is outer
    assert "unobserved" in fig.axes[0].get_title()


def test_dowhy_is_imported_only_when_used():
    import subprocess
    import sys

    code = (
        "import sys, attribution as at; at.graph.template(); "
        "assert not any(m.split('.')[0] in ('dowhy', 'sklearn') for m in sys.modules)"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=str(__import__("pathlib").Path(at.__file__).parents[1]),
    )


def test_graphs_are_immutable_values():
    g = template()
    with pytest.raises(TypeError):
        g.roles["E"] = "outcome"  # type: ignore[index]
    assert template() == g and hash(template()) == hash(g)
    assert g.add_edge("activity", "engagement") == g  # an edge already there is kept once
