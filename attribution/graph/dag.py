"""The multi-model system as a causal graph: nodes with roles, edited per study, drawn as a figure.

A `CausalGraph` is an immutable DAG over the study's columns. `template()` is the co-launch system
(representation E → retrieval R → ranking K → re-ranking → engagement, with the confounders activity,
segment and surface mix); a study edits it (`add_node`, `add_edge`, `remove_*`, `rename`, `unobserved`)
and every edit returns a new graph, checked for cycles and unknown nodes at once, so an invalid graph
never exists. `check_data` says which nodes the data lack before any identification or estimate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import networkx as nx

from attribution.errors import DataError, DesignError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ROLES", "CausalGraph", "Role", "template"]

Role = Literal["component", "confounder", "outcome", "mediator", "other"]
ROLES: tuple[str, ...] = ("component", "confounder", "outcome", "mediator", "other")

_COLOURS = {
    "component": "#4C72B0",
    "mediator": "#8172B2",
    "confounder": "#DD8452",
    "outcome": "#55A868",
    "other": "#8C8C8C",
}


@dataclasses.dataclass(frozen=True)
class CausalGraph:
    """A directed acyclic graph over the study's variables.

    `roles` maps every node to one of `ROLES`; `latent` lists nodes the data do not hold (an
    unobserved confounder drawn so that identification can route around it).
    """

    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    roles: Mapping[str, str] = dataclasses.field(default_factory=dict)
    latent: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        for n in nodes:
            if not isinstance(n, str) or not n:
                raise DesignError(
                    f"graph nodes are column names (non-empty strings), got {n!r}",
                    fix="name each node after the study's column",
                )
        dupes = sorted({n for n in nodes if nodes.count(n) > 1})
        if dupes:
            raise DesignError(f"graph nodes {dupes} appear more than once")
        edges = tuple((str(a), str(b)) for a, b in self.edges) if self.edges else ()
        for a, b in self.edges:
            if not isinstance(a, str) or not isinstance(b, str):
                raise DesignError(f"edge ({a!r}, {b!r}) must join two node names")
        known = set(nodes)
        unknown = sorted({x for e in edges for x in e} - known)
        if unknown:
            raise DesignError(
                f"edges name unknown node(s) {unknown}",
                fix="add the node first (graph.add_node(name, role=...)) or correct the name; "
                f"nodes are {list(nodes)}",
            )
        loops = [a for a, b in edges if a == b]
        if loops:
            raise DesignError(f"node(s) {loops} have an edge to themselves", fix="remove it")
        roles = {n: self.roles.get(n, "other") for n in nodes}
        bad = {n: r for n, r in roles.items() if r not in ROLES}
        if bad:
            raise DesignError(f"unknown role(s) {bad}", fix=f"roles are {list(ROLES)}")
        latent = frozenset(self.latent)
        if latent - known:
            raise DesignError(f"latent node(s) {sorted(latent - known)} are not in the graph")
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "edges", tuple(dict.fromkeys(edges)))
        object.__setattr__(self, "roles", MappingProxyType(roles))
        object.__setattr__(self, "latent", latent)
        g = self.to_networkx()
        if not nx.is_directed_acyclic_graph(g):
            cycle = " → ".join([a for a, _ in nx.find_cycle(g)] + [nx.find_cycle(g)[0][0]])
            raise DesignError(
                f"the causal graph has a cycle ({cycle}); a causal graph must be acyclic",
                fix="remove one edge of the cycle, or split a variable into before/after nodes",
            )

    def __hash__(self) -> int:
        return hash((self.nodes, self.edges, tuple(self.roles.items()), self.latent))

    # -- views ------------------------------------------------------------------------------------
    def to_networkx(self) -> nx.DiGraph:
        """A fresh networkx DiGraph (node attributes: role, latent)."""
        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n, role=self.roles.get(n, "other"), latent=n in self.latent)
        g.add_edges_from(self.edges)
        return g

    @property
    def observed(self) -> tuple[str, ...]:
        return tuple(n for n in self.nodes if n not in self.latent)

    def parents(self, node: str) -> tuple[str, ...]:
        self._require(node)
        return tuple(a for a, b in self.edges if b == node)

    def children(self, node: str) -> tuple[str, ...]:
        self._require(node)
        return tuple(b for a, b in self.edges if a == node)

    def with_role(self, role: str) -> tuple[str, ...]:
        return tuple(n for n in self.nodes if self.roles[n] == role)

    def _require(self, *nodes: str) -> None:
        unknown = [n for n in nodes if n not in self.nodes]
        if unknown:
            raise DesignError(
                f"node(s) {unknown} are not in the causal graph",
                fix=f"nodes are {list(self.nodes)}; rename the graph to the study's columns "
                "with graph.rename({...}) or add the node",
            )

    # -- edits (each returns a new graph) ---------------------------------------------------------
    def add_node(
        self,
        name: str,
        *,
        role: Role = "other",
        parents: Sequence[str] = (),
        children: Sequence[str] = (),
        latent: bool = False,
    ) -> CausalGraph:
        """A new graph with `name` added (and edges from `parents`, to `children`)."""
        from attribution.options import check_bool, check_option

        check_option("role", role, ROLES)
        latent = check_bool("latent", latent)
        if name in self.nodes:
            raise DesignError(f"node {name!r} is already in the graph")
        self._require(*parents, *children)
        return dataclasses.replace(
            self,
            nodes=(*self.nodes, name),
            edges=(*self.edges, *((p, name) for p in parents), *((name, c) for c in children)),
            roles={**self.roles, name: role},
            latent=self.latent | {name} if latent else self.latent,
        )

    def remove_node(self, name: str) -> CausalGraph:
        self._require(name)
        return dataclasses.replace(
            self,
            nodes=tuple(n for n in self.nodes if n != name),
            edges=tuple(e for e in self.edges if name not in e),
            roles={n: r for n, r in self.roles.items() if n != name},
            latent=self.latent - {name},
        )

    def add_edge(self, source: str, target: str) -> CausalGraph:
        self._require(source, target)
        return dataclasses.replace(self, edges=(*self.edges, (source, target)))

    def add_edges(self, edges: Iterable[tuple[str, str]]) -> CausalGraph:
        edges = list(edges)
        self._require(*{x for e in edges for x in e})
        return dataclasses.replace(self, edges=(*self.edges, *edges))

    def remove_edge(self, source: str, target: str) -> CausalGraph:
        self._require(source, target)
        if (source, target) not in self.edges:
            raise DesignError(f"the graph has no edge {source} → {target}")
        return dataclasses.replace(
            self, edges=tuple(e for e in self.edges if e != (source, target))
        )

    def rename(self, mapping: Mapping[str, str]) -> CausalGraph:
        """The same graph with nodes renamed to the study's columns (e.g. {"E": "exposure_E"})."""
        self._require(*mapping)
        new = [mapping.get(n, n) for n in self.nodes]
        if len(set(new)) != len(new):
            raise DesignError(f"renaming with {dict(mapping)} would merge two nodes")
        m = {n: mapping.get(n, n) for n in self.nodes}
        return CausalGraph(
            nodes=tuple(new),
            edges=tuple((m[a], m[b]) for a, b in self.edges),
            roles={m[n]: r for n, r in self.roles.items()},
            latent=frozenset(m[n] for n in self.latent),
        )

    def unobserved(self, *names: str) -> CausalGraph:
        """The same graph with `names` marked latent (not in the data)."""
        self._require(*names)
        return dataclasses.replace(self, latent=self.latent | set(names))

    # -- data ------------------------------------------------------------------------------------
    def check_data(self, columns: Iterable[str]) -> None:
        """Refuse data that lack an observed node (DataError naming the node and its edges)."""
        cols = set(columns)
        missing = [n for n in self.observed if n not in cols]
        if missing:
            edges = [f"{a} → {b}" for a, b in self.edges if a in missing or b in missing]
            raise DataError(
                f"the causal graph's node(s) {missing} are not columns of the data "
                f"(edges {', '.join(edges[:6])}{' ...' if len(edges) > 6 else ''})",
                columns=missing,
                fix="rename the nodes to the data's columns (graph.rename({...})), or mark "
                "them unobserved (graph.unobserved(...)) if the data cannot hold them",
            )

    # -- figure ----------------------------------------------------------------------------------
    def plot(self, *, ax: Axes | None = None) -> Figure:
        """The graph drawn left to right by causal order (no graphviz needed); latent nodes dashed."""
        from attribution.report.plotting import new_axes

        g = self.to_networkx()
        layers = list(nx.topological_generations(g))
        fig, ax = new_axes(ax, width=max(6.4, 1.6 * len(layers)), height=4.0)
        pos: dict[str, tuple[float, float]] = {}
        for x, layer in enumerate(layers):
            layer = sorted(layer, key=self.nodes.index)
            for i, n in enumerate(layer):
                pos[n] = (float(x), (len(layer) - 1) / 2.0 - i)
        nodes = list(g.nodes)
        for latent in (False, True):  # unobserved nodes drawn with a dashed outline
            group = [n for n in nodes if (n in self.latent) == latent]
            if group:
                ax.scatter(
                    [pos[n][0] for n in group],
                    [pos[n][1] for n in group],
                    s=1400,
                    c=[_COLOURS[self.roles[n]] for n in group],
                    alpha=0.85,
                    edgecolors="black",
                    linewidths=1.5,
                    linestyles="--" if latent else "-",
                    zorder=2,
                )
        nx.draw_networkx_edges(
            g,
            pos,
            ax=ax,
            node_size=1400,
            arrowsize=14,
            edge_color="#444444",
            connectionstyle="arc3,rad=0.12",  # skips and chain edges stay apart
        )
        nx.draw_networkx_labels(g, pos, ax=ax, font_size=8)
        handles = [
            ax.scatter([], [], color=c, label=r)
            for r, c in _COLOURS.items()
            if r in self.roles.values()
        ]
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=len(handles),
            fontsize="small",
            frameon=False,
        )
        ax.margins(0.12)
        ax.set_axis_off()
        ax.set_title("causal graph" + (" (dashed: unobserved)" if self.latent else ""))
        return fig

    def describe(self) -> str:
        """The graph in words: one line per node with its parents."""
        lines = []
        for n in self.nodes:
            ps = self.parents(n)
            tag = f"{n} [{self.roles[n]}{', unobserved' if n in self.latent else ''}]"
            lines.append(f"{tag} ← {', '.join(ps)}" if ps else f"{tag} (root)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


def template(
    *,
    outcome: str = "engagement",
    components: Sequence[str] = ("E", "R", "K"),
    reranking: bool = True,
    confounders: Sequence[str] = ("activity", "segment", "surface_mix"),
) -> CausalGraph:
    """The co-launch system as a causal graph, to be edited per study.

    Why: the components form a pipeline — representation feeds retrieval and ranking, retrieval
    feeds ranking, ranking feeds re-ranking, which decides what the user sees — and each user's
    exposure to them is driven by how active they are, their segment and the surfaces they visit,
    which also drive engagement. Adjusting for those confounders, and not for the downstream stages
    (mediators), is what identifies a component's effect.

    `components` are the pipeline stages in order (default E, R, K); `reranking` adds the re-ranking
    stage between the last component and the outcome; `confounders` each cause every stage and the
    outcome, and segment also causes activity when both are present.
    """
    from attribution.options import check_bool

    reranking = check_bool("reranking", reranking)
    comps = _names("components", components)
    confs = _names("confounders", confounders)
    if not isinstance(outcome, str) or not outcome:
        raise DesignError(f"outcome={outcome!r} must be a column name")
    if not comps:
        raise DesignError("components must name at least one pipeline stage")
    stages = [*comps, *(["rerank"] if reranking else [])]
    edges: list[tuple[str, str]] = []
    for i, a in enumerate(stages[:-1]):  # each stage feeds the next
        edges.append((a, stages[i + 1]))
    if len(comps) >= 3:  # representation also feeds ranking (embeddings are ranking features)
        edges.append((comps[0], comps[2]))
    edges.append((stages[-1], outcome))
    for c in confs:
        edges += [(c, s) for s in stages] + [(c, outcome)]
    if "segment" in confs and "activity" in confs:
        edges.append(("segment", "activity"))
    roles = {
        **dict.fromkeys(comps, "component"),
        **({"rerank": "mediator"} if reranking else {}),
        **dict.fromkeys(confs, "confounder"),
        outcome: "outcome",
    }
    return CausalGraph(nodes=(*confs, *stages, outcome), edges=tuple(edges), roles=roles)


def _names(arg: str, values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise DesignError(f"{arg} must be a list of column names, got {values!r}")
    return tuple(values)
