"""connectors/graph_runner.py on small graphs: the same results and errors as Rasa's dask runner."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner

from connectors import graph_runner


class Node:
    """Stands in for GraphNode: takes (name, output) pairs, gives (its name, output)."""

    def __init__(self, name: str, fn: Any, calls: list[str]) -> None:
        self.name, self.fn, self.calls = name, fn, calls

    def __call__(self, *inputs: Any) -> tuple[str, Any]:
        self.calls.append(self.name)
        values = [value[1] if isinstance(value, tuple) else ("unresolved", value) for value in inputs]
        return self.name, self.fn(*values)


def runner(needs: dict[str, dict[str, str]], fns: dict[str, Any],
           targets: list[str]) -> tuple[DaskGraphRunner, list[str]]:
    calls: list[str] = []
    schema = GraphSchema({
        name: SchemaNode(needs=node_needs, uses=GraphComponent, constructor_name="create", fn="run",
                         config={}, is_target=name in targets)
        for name, node_needs in needs.items()
    })
    made = object.__new__(DaskGraphRunner)
    made._graph_schema = schema
    made._execution_context = None
    made._instantiated_nodes = {name: Node(name, fns[name], calls) for name in needs}
    return made, calls


GRAPH = {
    "a": {"x": "__input__"},
    "b": {"x": "a"},
    "c": {"x": "a", "y": "b"},
    "d": {"x": "c", "y": "b"},
    "unused": {"x": "a"},
    "loose": {"x": "not_a_node"},
}
FNS = {
    "a": lambda x: x + 1, "b": lambda x: x * 10, "c": lambda x, y: (x, y),
    "d": lambda x, y: [x, y], "unused": lambda x: 1 / 0, "loose": lambda x: x,
}


@pytest.mark.parametrize("targets", [["d"], ["b", "c"], ["a"], ["loose"], ["d", "loose", "b"]])
def test_results_equal_dasks_and_each_needed_node_runs_once(targets):
    made, calls = runner(GRAPH, FNS, targets)
    ours = graph_runner.run(made, inputs={"__input__": 1}, targets=targets)
    ours_calls = list(calls)
    calls.clear()
    dasks = graph_runner._rasa_run(made, inputs={"__input__": 1}, targets=targets)
    assert ours == dasks
    assert sorted(ours_calls) == sorted(calls) and len(set(ours_calls)) == len(ours_calls)
    assert "unused" not in ours_calls


def test_the_order_is_kept_per_set_of_targets_and_runs_again_alike():
    made, calls = runner(GRAPH, FNS, ["d"])
    first = graph_runner.run(made, inputs={"__input__": 2}, targets=["d"])
    second = graph_runner.run(made, inputs={"__input__": 3}, targets=["d"])
    assert first == {"d": [(3, 30), 30]} and second == {"d": [(4, 40), 40]}
    assert list(made._run_orders) == [("d",)]


def test_errors_are_those_of_dask():
    failing = {**FNS, "b": lambda x: (_ for _ in ()).throw(RuntimeError("boom"))}
    made, _ = runner(GRAPH, failing, ["d"])
    with pytest.raises(GraphRunError):
        graph_runner.run(made, inputs={"__input__": 1}, targets=["d"])
    with pytest.raises(GraphRunError):
        graph_runner._rasa_run(made, inputs={"__input__": 1}, targets=["d"])
    other = {**FNS, "b": lambda x: {}["missing"]}
    made, _ = runner(GRAPH, other, ["d"])
    with pytest.raises(KeyError):
        graph_runner.run(made, inputs={"__input__": 1}, targets=["d"])
    made, _ = runner(GRAPH, FNS, ["d"])
    with pytest.raises(GraphRunError, match="clashes"):
        graph_runner.run(made, inputs={"__input__": "b"}, targets=["d"])


def test_a_cycle_is_an_error_not_a_hang():
    made, _ = runner({"a": {"x": "b"}, "b": {"x": "a"}}, {"a": lambda x: x, "b": lambda x: x}, ["a"])
    with pytest.raises(GraphRunError, match="cycle"):
        graph_runner.run(made, targets=["a"])


def test_the_rasa_server_uses_it():
    import connectors  # noqa: F401 - installs it, as in the Rasa server

    assert DaskGraphRunner.run is graph_runner.run
