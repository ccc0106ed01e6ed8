"""Rasa NLU component that tags each message with the language it is written in.

It adds a `language` entity ("nb", "sv" or "en") covering the whole text, which the
`language` slot is filled from, so responses follow the language the customer writes in.
When the language is unclear (short or ambiguous messages) it adds nothing and the slot
keeps the conversation's language. The detection itself lives in `bot.lang`, which does
not import Rasa; this is only the adapter.

Not trainable: Rasa builds it with `create` when the model is loaded and only calls
`process`. It must never break a turn, so any failure is logged (without the message
text, which is personal data) and the message is passed on untouched.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.lang import detect_language_with_confidence, warm_up

log = logging.getLogger(__name__)

LANGUAGE_ENTITY = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Adds a `language` entity (nb/sv/en) to messages whose language is clear."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options: thresholds are constants in `bot.lang`, shared with the channels."""
        return {}

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Build the component and load lingua's models now rather than on the first turn."""
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - detection then fails per message, and is skipped
            log.warning("language detector: could not load the language models")
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the `language` entity to each message whose language is clear."""
        for message in messages:
            self._tag(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data is left as it is: the language entity is never learnt, only set."""
        return training_data

    def _tag(self, message: Message) -> None:
        """Append the entity to one message; on any failure leave the message unchanged."""
        try:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                return
            detected = detect_language_with_confidence(text)
            if detected is None:
                return
            code, confidence = detected
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: code,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                ENTITY_ATTRIBUTE_CONFIDENCE: round(float(confidence), 4),
                EXTRACTOR: self.name,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        except Exception as error:  # noqa: BLE001 - a turn must never fail over the language
            log.debug("language detection skipped for a message: %s", type(error).__name__)
