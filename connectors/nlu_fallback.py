"""Rasa NLU component: the fallback classifier, stricter for intents that touch personal data.

Rasa's FallbackClassifier turns a prediction into `nlu_fallback` when its confidence is below
`threshold` or the top two are closer than `ambiguity_threshold`. Some intents show, change or
delete a customer's data or bookings, and a yes or no confirms them; a wrong guess there costs
far more than asking again ("which alarms do I have set?" must never show the stored profile,
"kanskje" must not confirm a booking). For `guarded_intents` (bot.intents.GUARDED_INTENTS) the
prediction must also clear `guarded_threshold` and beat the runner-up by `guarded_margin`.

All four numbers are chosen on held-out data by `bot nlu tune` (bot/nlu_tuning.py), which writes
them into config.yml; the rule itself is `bot.nlu_tuning.rejects`, shared with the tuner so both
decide the same way.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.intents import GUARDED_INTENTS
from bot.lang import has_marker_words
from bot.nlu_tuning import Thresholds, rejects
from connectors.language_detector import LANGUAGE_ENTITY

UNPLACED = frozenset({"nlu_fallback", "out_of_scope"})


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class GuardedFallbackClassifier(FallbackClassifier):
    """FallbackClassifier plus a higher bar for intents that show or change personal data."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **FallbackClassifier.get_default_config(),
            "guarded_intents": list(GUARDED_INTENTS),
            "guarded_threshold": 0.7,
            "guarded_margin": 0.3,
        }

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GuardedFallbackClassifier:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Fallback as Rasa's; then a message the assistant cannot place (not understood or off
        topic) keeps the language entity only when marker words make its language clear, so
        "asdkj qwpoe zzxv" does not switch the conversation into Norwegian."""
        super().process(messages)
        for message in messages:
            intent = (message.data.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent in UNPLACED and not has_marker_words(str(message.get(TEXT) or "")):
                entities = message.get(ENTITIES) or []
                kept = [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) != LANGUAGE_ENTITY]
                if len(kept) != len(entities):
                    message.set(ENTITIES, kept, add_to_output=True)
        return messages

    def _should_fallback(self, message: Message) -> bool:
        intent = message.data.get(INTENT) or {}
        ranking = message.data.get(INTENT_RANKING_KEY) or []
        second = float(ranking[1].get(PREDICTED_CONFIDENCE_KEY) or 0.0) if len(ranking) > 1 else 0.0
        config = self.component_config
        return rejects(
            str(intent.get(INTENT_NAME_KEY)), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0), second,
            Thresholds(config["threshold"], config["ambiguity_threshold"], config["guarded_threshold"],
                       config["guarded_margin"]),
            frozenset(config["guarded_intents"]),
        )
