"""The Rasa server loads the trained model fast (connectors/speedups.py) and the loaded model
is the same model: every weight and every prediction equal to Rasa's own loading."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.core.channels import UserMessage
from rasa.shared.core.events import ActionExecuted
from rasa.utils.tensorflow.models import RasaModel

import connectors  # noqa: F401 - installs the speed-ups, as in the Rasa server
from bot.runner import latest_model
from connectors import graph_runner, policy_cache, speedups

pytestmark = pytest.mark.e2e

# One conversation per language, and messages the bot should not understand.
CONVERSATIONS = [
    ["Hei! jeg vil bestille service og dekkskift neste tirsdag", "ja", "nei takk"],
    ["Hej, vilka tider har ni öppet?", "kan jag boka däckbyte på fredag", "tack"],
    ["what is the status of my car", "I want to talk to a person", "thanks, bye"],
    ["asdkjh qwe", "", "ok"],
]


class Loaded:
    def __init__(self, agent: Agent, models: dict[str, RasaModel], seconds: float) -> None:
        self.agent, self.models, self.seconds = agent, models, seconds
        self.records: list[logging.LogRecord] = []


def load_agent() -> Loaded:
    models: dict[str, RasaModel] = {}
    loader = RasaModel.load.__func__  # type: ignore[attr-defined]

    def keep(cls: type[RasaModel], *args: Any, **kwargs: Any) -> RasaModel:
        models[cls.__name__] = loader(cls, *args, **kwargs)
        return models[cls.__name__]

    RasaModel.load = classmethod(keep)  # type: ignore[method-assign,assignment]
    try:
        started = time.perf_counter()
        agent = Agent.load(str(latest_model()))
        return Loaded(agent, models, time.perf_counter() - started)
    finally:
        RasaModel.load = classmethod(loader)  # type: ignore[method-assign,assignment]


async def predictions(agent: Agent, prefix: str = "model-loading") -> list[Any]:
    """NLU parses and next-action scores along each conversation (no action server: the
    predicted action is written to the tracker as if it had run)."""
    seen: list[Any] = []
    for number, messages in enumerate(CONVERSATIONS):
        sender = f"{prefix}-{number}"
        for text in messages:
            parse = await agent.parse_message(text)
            seen.append((parse["intent"], parse.get("intent_ranking"), parse["entities"]))
            await agent.processor.log_message(UserMessage(text, sender_id=sender))
            predicted = await agent.processor.predict_next_for_sender_id(sender)
            assert predicted is not None
            seen.append((predicted["policy"], predicted["confidence"], predicted["scores"]))
            tracker = await agent.tracker_store.retrieve(sender)
            assert tracker is not None
            best = max(predicted["scores"], key=lambda score: score["score"])["action"]
            tracker.update(ActionExecuted(best))
            tracker.update(ActionExecuted("action_listen"))
            await agent.tracker_store.save(tracker)
    return seen


@pytest.fixture(scope="module")
def rasa_loaded() -> Loaded:
    """The model loaded Rasa's own way: the fast way made to fail, so the fallback runs."""
    fast = speedups._load_for_prediction

    def fail(*args: Any, **kwargs: Any) -> RasaModel:
        raise speedups.LoadIncomplete("made to fail by the test")

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("connectors.speedups").addHandler(handler)
    speedups._load_for_prediction = fail
    try:
        loaded = load_agent()
    finally:
        speedups._load_for_prediction = fast
        logging.getLogger("connectors.speedups").removeHandler(handler)
    loaded.records = records
    return loaded


@pytest.fixture(scope="module")
def fast_loaded() -> Loaded:
    return load_agent()


def test_the_rasa_server_uses_the_fast_loader():
    assert RasaModel.load.__func__ is speedups.load_model  # type: ignore[attr-defined]


def test_the_fast_loaded_model_has_every_weight_of_rasas_own_loading(rasa_loaded, fast_loaded):
    assert set(fast_loaded.models) == set(rasa_loaded.models) == {"DIET", "TED"}
    for name, reference in rasa_loaded.models.items():
        expected = {v.name: v.numpy() for v in reference.variables}
        got = {v.name: v.numpy() for v in fast_loaded.models[name].variables}
        assert set(got) == set(expected), name
        for variable, value in expected.items():
            np.testing.assert_array_equal(got[variable], value, err_msg=f"{name} {variable}")
    print(f"\nmodel load: Rasa's way {rasa_loaded.seconds:.1f} s, fast {fast_loaded.seconds:.1f} s")


def test_the_fast_loaded_model_predicts_exactly_what_rasas_own_loading_predicts(rasa_loaded, fast_loaded):
    expected = asyncio.run(predictions(rasa_loaded.agent))
    got = asyncio.run(predictions(fast_loaded.agent))
    assert got == expected
    intents = {parse[0]["name"] for parse in expected[::2]}
    assert {"book_service", "request_human", "affirm"} <= intents  # a real model, not a blank one


def test_a_model_that_cannot_be_loaded_fast_is_loaded_rasas_way_with_a_warning(rasa_loaded):
    warnings = [record.getMessage() for record in rasa_loaded.records]
    assert "fast loading of DIET failed; loading it the usual way" in warnings
    assert "fast loading of TED failed; loading it the usual way" in warnings
    assert set(rasa_loaded.models) == {"DIET", "TED"}


def test_ted_predictions_remembered_per_dialogue_state_equal_teds_own(fast_loaded, monkeypatch):
    """connectors/policy_cache.py: conversations that go through the same dialogue states find
    TED's predictions in the memory, and get exactly what TED computes without it."""
    from rasa.core.policies.ted_policy import TEDPolicy

    assert TEDPolicy.predict_action_probabilities is policy_cache.predict_action_probabilities
    computed: list[int] = []
    teds_own = policy_cache._rasa_predict

    def counted(*args: Any, **kwargs: Any) -> Any:
        computed.append(1)
        return teds_own(*args, **kwargs)

    monkeypatch.setattr(policy_cache, "_rasa_predict", counted)
    keyed = policy_cache.state_key   # a key of this test's own: earlier tests filled the memory too
    monkeypatch.setattr(policy_cache, "state_key", lambda *args: ("this test", keyed(*args)))
    first = asyncio.run(predictions(fast_loaded.agent, "ted-memory-a"))
    computed_first = len(computed)
    again = asyncio.run(predictions(fast_loaded.agent, "ted-memory-b"))   # the same states again
    assert computed_first >= 6 and len(computed) == computed_first   # every one found in the memory
    assert again == first
    # With a key that is never found, every prediction is TED's own: the same as from the memory.
    monkeypatch.setattr(policy_cache, "state_key", lambda *args: object())
    uncached = asyncio.run(predictions(fast_loaded.agent, "ted-memory-c"))
    assert len(computed) > computed_first and uncached == first


def test_the_graph_runner_without_dask_gives_what_dasks_gives(fast_loaded, monkeypatch):
    """connectors/graph_runner.py: the same parses and predictions along the conversations
    (and the same NLU output of the linear ensemble) as Rasa's dask runner."""
    from rasa.engine.runner.dask import DaskGraphRunner

    assert DaskGraphRunner.run is graph_runner.run
    ours = asyncio.run(predictions(fast_loaded.agent, "graph-runner-ours"))
    monkeypatch.setattr(DaskGraphRunner, "run", graph_runner._rasa_run)
    dasks = asyncio.run(predictions(fast_loaded.agent, "graph-runner-dask"))
    assert ours == dasks
