"""Rasa's graph runner without building a dask graph on every call.

`DaskGraphRunner.run` is called once to understand a message and once per predicted action (two
to four times a turn). Each call it computes the part of the schema the targets need (a
recursive walk without memory that lists a node once per path to it), builds a new dask graph
of it, and lets `dask.get` order and run that graph. The schema never changes while a model is
loaded, so the order of the nodes each set of targets needs is computed once and kept; a call
then runs those nodes in that order, each with the outputs of the nodes it needs, exactly as
dask handed them: a `(node name, output)` pair, or the bare name of a node that is not in the
graph (GraphNode warns about it). A `RuntimeError` of a node becomes Rasa's `GraphRunError`, as
under dask; any other error passes through unchanged. Training goes through the same `run`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner

_rasa_run = DaskGraphRunner.run


def run_order(schema: GraphSchema, targets: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """The nodes `targets` need, each after the nodes it needs, with the names of those nodes
    (in the order of the schema's `needs`, which is the order of the node's inputs)."""
    order: list[tuple[str, tuple[str, ...]]] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in schema.nodes:
            return  # done already, or an input placeholder / a missing node (passed by name)
        if name in visiting:
            raise GraphRunError(f"The graph has a cycle through node '{name}'.")
        visiting.add(name)
        needs = tuple(schema.nodes[name].needs.values())
        for needed in needs:
            place(needed)
        visiting.discard(name)
        placed.add(name)
        order.append((name, needs))

    for target in targets:
        place(target)
    return order


def run(self: DaskGraphRunner, inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None) -> dict[str, Any]:
    """`DaskGraphRunner.run`, with the order of the nodes kept per set of targets."""
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    orders: dict[tuple[str, ...], list] = self.__dict__.setdefault("_run_orders", {})
    order = orders.get(run_targets)
    if order is None:
        order = orders[run_targets] = run_order(self._graph_schema, run_targets)
    results: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and any(value == node for node, _ in order):
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure "
                f"that none of the input names passed to the `run` method are the "
                f"same as node names in the graph schema."
            )
        results[name] = (name, value)
    nodes = self._instantiated_nodes
    try:
        for name, needs in order:
            if name not in results:  # an input of that name stands in for the node, as under dask
                results[name] = nodes[name](*(results.get(needed, needed) for needed in needs))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(results.get(target, target) for target in run_targets)


def install() -> None:
    DaskGraphRunner.run = run  # type: ignore[method-assign]
