"""The LanguageDetector NLU component on real Rasa messages: it adds the `language`
entity the `language` slot is filled from, and never breaks a turn."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import connectors.language_detector as language_detector
from connectors.language_detector import LanguageDetector


@pytest.fixture()
def detector(tmp_path: Path) -> LanguageDetector:
    """Built the way Rasa builds it when a model is loaded."""
    return LanguageDetector.create(
        {**LanguageDetector.get_default_config()},
        LocalModelStorage(tmp_path),
        Resource("language_detector"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def language_entities(message: Message) -> list[dict]:
    return [e for e in message.get(ENTITIES, []) if e["entity"] == "language"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hei, jeg vil bestille service", "nb"),
        ("hej, jag vill boka service", "sv"),
        ("hi, I want to book a service", "en"),
        ("er bilen min ferdig?", "nb"),
        ("är min bil klar?", "sv"),
        ("can I pay by card?", "en"),
    ],
)
def test_adds_the_language_entity(detector: LanguageDetector, text: str, language: str) -> None:
    message = Message(data={TEXT: text})
    assert detector.process([message]) == [message]
    (entity,) = language_entities(message)
    assert entity["value"] == language
    assert entity["start"] == 0
    assert entity["end"] == len(text)
    assert entity["extractor"] == "LanguageDetector"
    assert 0.0 < entity["confidence"] <= 1.0


def test_processes_every_message_in_the_batch(detector: LanguageDetector) -> None:
    messages = [Message(data={TEXT: t}) for t in ("kan jeg flytte timen min", "ok", "kan jag flytta min tid")]
    detector.process(messages)
    assert [[e["value"] for e in language_entities(m)] for m in messages] == [["nb"], [], ["sv"]]


def test_keeps_entities_found_before(detector: LanguageDetector) -> None:
    earlier = {"entity": "service_type", "value": "tyre_change", "start": 17, "end": 26, "extractor": "X"}
    message = Message(data={TEXT: "jeg vil bestille dekkskift", ENTITIES: [earlier]})
    detector.process([message])
    entities = message.get(ENTITIES)
    assert entities[0] == earlier
    assert [e["value"] for e in entities[1:]] == ["nb"]


def test_entities_are_part_of_the_parse_result(detector: LanguageDetector) -> None:
    message = Message(data={TEXT: "when are you open on Saturday?"})
    detector.process([message])
    assert message.as_dict(only_output_properties=True)[ENTITIES][0]["value"] == "en"


@pytest.mark.parametrize("text", ["ok", "hei", "1234", "+47 912 34 567", "👍", "", "   "])
def test_adds_nothing_when_the_language_is_unclear(detector: LanguageDetector, text: str) -> None:
    message = Message(data={TEXT: text})
    detector.process([message])
    assert language_entities(message) == []


def test_message_without_text(detector: LanguageDetector) -> None:
    message = Message(data={"intent": {"name": "greet"}})
    detector.process([message])
    assert language_entities(message) == []


def test_never_raises_and_logs_no_text(
    detector: LanguageDetector, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(text: str) -> None:
        raise RuntimeError(f"cannot handle {text}")

    monkeypatch.setattr(language_detector, "detect_language_with_confidence", broken)
    text = "ring meg på 912 34 567, Kari Nordmann"
    message = Message(data={TEXT: text})
    with caplog.at_level(logging.DEBUG, logger=language_detector.__name__):
        assert detector.process([message]) == [message]
    assert language_entities(message) == []
    assert caplog.records, "the failure is logged"
    assert all("Kari" not in r.getMessage() and "912" not in r.getMessage() for r in caplog.records)


def test_training_data_is_unchanged(detector: LanguageDetector) -> None:
    data = TrainingData([Message(data={TEXT: "hei, jeg vil bestille service", "intent": "book_service"})])
    assert detector.process_training_data(data) is data
    assert data.training_examples[0].get(ENTITIES) is None


def test_is_registered_as_an_untrained_entity_extractor() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    registered = DefaultV1Recipe._from_registry("LanguageDetector")
    assert registered.clazz is LanguageDetector
    assert DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR in registered.types
    assert registered.is_trainable is False
