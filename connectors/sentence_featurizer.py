"""Rasa NLU component: dense multilingual sentence features for DIET.

The sparse features (words, char n-grams) know only the ~30 examples per intent and language
they were trained on; a pretrained multilingual encoder knows what "an alarm", "overdraft" and
"a coffee" mean in nb, sv and en, which is what lets the model tell a workshop request from
everything else. This adapter adds one 384-dimensional sentence vector per message (the
`sentence` feature type; DIET concatenates it with the sparse sentence features and feeds it
through its transformer next to the token sequence). The encoder itself is `bot.encoder`.

- Serving: one OpenMP thread (`NLU_ENCODER_THREADS`), the model loaded when Rasa builds the
  component (before the server says it is ready), results cached by text.
- Training: every core, and an on-disk cache under var/cache/encoder/ (`NLU_ENCODER_CACHE`,
  `off` to disable), so a retraining encodes only examples it has not seen.
Not trainable: the encoder's weights are fixed; nothing is stored in the model archive but
the component's settings.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.config import VAR_DIR
from bot.encoder import DiskCache, Encoder

log = logging.getLogger(__name__)


def _cache_dir() -> Path | None:
    setting = os.environ.get("NLU_ENCODER_CACHE", "")
    if setting.lower() == "off":
        return None
    return Path(setting) if setting else VAR_DIR / "cache" / "encoder"


def _has_words(message: Message) -> bool:
    """A text with at least one token: DIET cannot take a sentence vector for an empty text
    (no tokens), which then keeps only its sparse features, as before this featurizer."""
    text = message.get(TEXT)
    return isinstance(text, str) and bool(text.strip()) and bool(message.get(TOKENS_NAMES[TEXT]))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds multilingual-e5-small sentence embeddings as dense sentence features of TEXT."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """No options of its own."""

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._encoder: Encoder | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        """Build the component and load the encoder now, not on the first customer's message."""
        component = cls(config, execution_context.node_name)
        component.encoder.encode(["hei"])   # first call: page the weights in
        return component

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder.shared()
        return self._encoder

    def process(self, messages: list[Message]) -> list[Message]:
        """Features for incoming messages (one at a time in a running server)."""
        self._featurize([m for m in messages if _has_words(m)])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Features for every training example with a text, encoded in one batch on every core."""
        examples = [m for m in training_data.training_examples if _has_words(m)]
        folder = _cache_dir()
        disk = self.encoder.disk_cache(folder) if folder else None
        self._featurize(examples, threads=os.cpu_count() or 1, disk=disk)
        return training_data

    def _featurize(self, messages: list[Message], threads: int | None = None, disk: DiskCache | None = None) -> None:
        if not messages:
            return
        rows = self.encoder.encode([m.get(TEXT) for m in messages], threads=threads, disk=disk)
        for message, row in zip(messages, rows, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=np.asarray(row, dtype=np.float32)[None, :], attribute=TEXT, message=message,
            )
