"""Identification: back-door, front-door and mediation sets from the graph, in words."""

from __future__ import annotations

import pytest

import attribution as at
from attribution.graph import identify, template
from attribution.graph.identification import is_valid_adjustment


def test_backdoor_sets_on_the_template():
    g = template()
    for comp, expected in [
        ("E", ("activity", "segment", "surface_mix")),
        ("R", ("activity", "segment", "surface_mix", "E")),  # E causes R and (via K) engagement
        ("K", ("activity", "segment", "surface_mix")),
    ]:
        ident = identify(g, treatment=comp, outcome="engagement")
        assert ident.method == "backdoor"
        assert set(ident.adjustment_set) == set(expected)
        assert is_valid_adjustment(g, (comp,), "engagement", ident.adjustment_set)
        assert "Must be observed" in ident.explanation and comp in ident.must_observe
    k = identify(g, treatment="K", outcome="engagement")
    assert "Do not adjust for rerank" in k.explanation
    assert not is_valid_adjustment(
        g, ("K",), "engagement", ("activity", "segment", "surface_mix", "rerank")
    )
    assert not is_valid_adjustment(g, ("K",), "engagement", ("activity", "segment"))


def test_hands_the_adjustment_set_to_dml():
    g = template().rename({"K": "exposure_K"})
    ident = identify(g, treatment="exposure_K", outcome="engagement")
    assert ident.dml_arguments() == {
        "outcome": "engagement",
        "treatments": ["exposure_K"],
        "confounders": ["activity", "segment", "surface_mix"],
    }
    several = identify(g, treatment=["E", "R", "exposure_K"], outcome="engagement")
    assert set(several.adjustment_set) == {"activity", "segment", "surface_mix"}


def test_unobserved_confounder_is_not_identified_and_says_so():
    g = template().unobserved("surface_mix")
    with pytest.raises(at.DesignError, match="surface_mix") as err:
        identify(g, treatment="K", outcome="engagement")
    assert "K ← surface_mix → engagement" in str(err.value)


def test_frontdoor_through_reranking():
    g = template().unobserved("surface_mix")
    for c in ("activity", "segment", "surface_mix"):
        g = g.remove_edge(c, "rerank")
    ident = identify(g, treatment="K", outcome="engagement")
    assert ident.method == "frontdoor" and ident.mediators == ("rerank",)
    assert [s.outcome for s in ident.stages] == ["rerank", "engagement"]
    assert ident.stages[0].confounders == () and ident.stages[1].confounders == ("K",)
    assert "front door through rerank" in ident.explanation
    with pytest.raises(at.DesignError, match="stages"):
        ident.dml_arguments()
    with pytest.raises(at.DesignError):
        identify(g, treatment="K", outcome="engagement", method="backdoor")


def test_mediation_through_a_pipeline_stage():
    g = template()
    ident = identify(g, treatment="R", outcome="engagement", method="mediation", mediator="K")
    first, second, total = ident.stages
    assert first.outcome == "K" and set(first.confounders) >= {"activity", "segment", "surface_mix"}
    assert second.treatment == ("K", "R") and second.outcome == "engagement"
    assert set(total.confounders) == {"activity", "segment", "surface_mix", "E"}
    with pytest.raises(at.DesignError, match="not on a directed path"):
        identify(g, treatment="K", outcome="engagement", method="mediation", mediator="E")


def test_bad_requests_are_typed_errors():
    g = template()
    with pytest.raises(at.DesignError, match="not in the causal graph"):
        identify(g, treatment="exposure_K", outcome="engagement")
    with pytest.raises(at.OptionError, match="method"):
        identify(g, treatment="K", outcome="engagement", method="iv")  # type: ignore[arg-type]
    with pytest.raises(at.OptionError):
        identify("graph", treatment="K", outcome="engagement")  # type: ignore[arg-type]
    with pytest.raises(at.DesignError, match="no directed path"):
        identify(g, treatment="engagement", outcome="K")
    with pytest.raises(at.DesignError, match="unobserved"):
        identify(g.unobserved("K"), treatment="K", outcome="engagement")


def test_agrees_with_dowhy_backdoor_criterion():
    """dowhy's own identifier accepts our adjustment sets (and finds an effect to identify)."""
    from dowhy.causal_identifier.auto_identifier import EstimandType, identify_effect_auto

    g = template()
    for comp in ("E", "R", "K"):
        ours = identify(g, treatment=comp, outcome="engagement").adjustment_set
        est = identify_effect_auto(
            g.to_networkx(), [comp], ["engagement"], list(g.nodes), EstimandType.NONPARAMETRIC_ATE
        )
        theirs = est.get_backdoor_variables()
        assert is_valid_adjustment(g, (comp,), "engagement", theirs)
        assert set(ours) <= set(theirs) | {"E"}
