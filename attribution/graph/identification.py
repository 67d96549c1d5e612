"""Identification on the causal graph: back-door adjustment sets, front-door sets and mediation stages.

Pure graph math on networkx (d-separation), so identification needs neither data nor dowhy: the
back-door set is a minimal d-separator of treatment and outcome in the proper back-door graph,
restricted to observed nodes that are not descendants of a causal path (the generalised adjustment
criterion of van der Zander, Liśkiewicz & Textor 2014, which dowhy also uses); the front-door search
follows Pearl's three conditions over the smallest observed sets first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import networkx as nx

from attribution.errors import DesignError
from attribution.graph.dag import CausalGraph

__all__ = ["backdoor_set", "frontdoor_set", "is_valid_adjustment", "mediators"]

_MAX_FRONTDOOR = 12
"""Front-door candidates are searched exhaustively; beyond this many the search stops."""


def _causal_path_nodes(g: nx.DiGraph, t: set[str], y: set[str]) -> set[str]:
    """Nodes other than T on a directed path T → Y (Y included)."""
    desc = set().union(*(nx.descendants(g, x) for x in t)) - t
    anc = set().union(*(nx.ancestors(g, x) for x in y)) | y
    return desc & anc


def _forbidden(g: nx.DiGraph, t: set[str], y: set[str]) -> set[str]:
    """Descendants of nodes on proper causal paths, and T itself: never adjust for these."""
    pcp = _causal_path_nodes(g, t, y)
    out = set(pcp)
    for n in pcp:
        out |= nx.descendants(g, n)
    return out | t


def _proper_backdoor_graph(g: nx.DiGraph, t: set[str], y: set[str]) -> nx.DiGraph:
    pcp = _causal_path_nodes(g, t, y)
    h = g.copy()
    h.remove_edges_from([(a, b) for a, b in g.edges if a in t and b in pcp])
    return h


def is_valid_adjustment(
    graph: CausalGraph, treatment: Sequence[str], outcome: str, adjust: Sequence[str]
) -> bool:
    """Whether `adjust` satisfies the generalised adjustment criterion for treatment → outcome."""
    g = graph.to_networkx()
    t, y, z = set(treatment), {outcome}, set(adjust)
    if z & _forbidden(g, t, y):
        return False
    return nx.is_d_separator(_proper_backdoor_graph(g, t, y), t, y, z)


def backdoor_set(
    graph: CausalGraph, treatment: Sequence[str], outcome: str
) -> tuple[str, ...] | None:
    """A minimal observed adjustment set for treatment → outcome, or None when none exists."""
    g = graph.to_networkx()
    t, y = set(treatment), {outcome}
    allowed = set(graph.observed) - _forbidden(g, t, y) - y
    z = nx.find_minimal_d_separator(_proper_backdoor_graph(g, t, y), t, y, restricted=allowed)
    if z is None:
        return None
    return tuple(n for n in graph.nodes if n in z)


def frontdoor_set(graph: CausalGraph, treatment: str, outcome: str) -> tuple[str, ...] | None:
    """The smallest observed set satisfying Pearl's front-door conditions, or None."""
    g = graph.to_networkx()
    desc_y = nx.descendants(g, outcome) | {outcome}
    eligible = [
        n
        for n in graph.nodes
        if n in nx.descendants(g, treatment) and n not in desc_y and n not in graph.latent
    ]
    if len(eligible) > _MAX_FRONTDOOR:
        eligible = eligible[:_MAX_FRONTDOOR]
    no_out_t = g.copy()
    no_out_t.remove_edges_from(list(g.out_edges(treatment)))
    for size in range(1, len(eligible) + 1):
        for m in itertools.combinations(eligible, size):
            ms = set(m)
            cut = g.copy()
            cut.remove_nodes_from(ms)
            if nx.has_path(cut, treatment, outcome):  # 1. M intercepts every directed path
                continue
            if not nx.is_d_separator(no_out_t, {treatment}, ms, set()):  # 2. no back door T–M
                continue
            no_out_m = g.copy()
            no_out_m.remove_edges_from([e for x in ms for e in g.out_edges(x)])
            if not nx.is_d_separator(no_out_m, ms, {outcome}, {treatment}):  # 3. T blocks M–Y
                continue
            return tuple(m)
    return None


def mediators(graph: CausalGraph, treatment: str, outcome: str) -> tuple[str, ...]:
    """Observed nodes on a directed path treatment → outcome (the pipeline stages in between)."""
    g = graph.to_networkx()
    between = _causal_path_nodes(g, {treatment}, {outcome}) - {outcome}
    return tuple(n for n in graph.nodes if n in between and n not in graph.latent)


def confounding_paths(
    graph: CausalGraph, treatment: str, outcome: str, limit: int = 5
) -> list[str]:
    """The shortest back-door paths treatment ← ... → outcome in words (through unobserved nodes
    first), for explanations."""
    d = graph.to_networkx()
    g = d.to_undirected(as_view=False)
    found = []
    for path in nx.all_simple_paths(g, treatment, outcome, cutoff=5):
        if len(path) < 3 or not d.has_edge(path[1], path[0]):
            continue  # not a back-door path (must start with an arrow into the treatment)
        found.append(path)
    found.sort(key=lambda p: (not (set(p) & graph.latent), len(p)))
    out = []
    for path in found[:limit]:
        parts = [path[0]]
        for a, b in itertools.pairwise(path):
            parts.append(("→ " if d.has_edge(a, b) else "← ") + b)
        out.append(" ".join(parts))
    return out


def require_nodes(graph: CausalGraph, *nodes: str) -> None:
    graph._require(*nodes)
    for n in nodes:
        if n in graph.latent:
            raise DesignError(
                f"{n!r} is marked unobserved in the graph, so no effect on or of it can be estimated",
                fix="choose an observed treatment and outcome",
            )
