"""Rasa NLU component: a linear intent classifier that votes together with DIET.

A multinomial logistic regression on the multilingual sentence vector (from
`SentenceEncoderFeaturizer`) plus tf-idf word (1-2) and character (1-4) n-grams. It makes other
errors than DIET (measured on tests/nlu_heldout: see the README's "Understanding"), so the
message's intent is decided by both: the confidences are averaged with weight `weight` for
this classifier and `1 - weight` for DIET's ranking (an intent outside DIET's top ranking
counts 0 there). It must come after DIETClassifier and before the fallback classifier.

Stored in the model as plain arrays and JSON (no pickle): vocabularies, idf weights,
coefficients, intercepts and the intent names.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

log = logging.getLogger(__name__)

RANKING_LENGTH = 10
_CHAR = {"analyzer": "char_wb", "ngram_range": (1, 4), "sublinear_tf": True, "lowercase": True}
_WORD = {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "lowercase": True}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentEnsemble(GraphComponent, IntentClassifier):
    """Logistic regression on sentence vector + n-grams, averaged with DIET's intent ranking."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 30.0,               # inverse regularisation (chosen on tests/nlu_heldout's sibling split)
            "dense_scale": 2.0,      # weight of the sentence vector against the n-gram block
            "weight": 0.5,           # this classifier's share of the final confidence
            "max_iter": 3000,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 state: dict[str, Any] | None = None) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._char: TfidfVectorizer | None = None
        self._word: TfidfVectorizer | None = None
        self._coef: np.ndarray | None = None
        self._coef_t: np.ndarray | None = None
        self._intercept: np.ndarray | None = None
        self._classes: list[str] = []
        if state:
            self._restore(state)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LinearIntentEnsemble:
        return cls(config, model_storage, resource)

    # --- features ---------------------------------------------------------------------------
    def _dense(self, messages: list[Message]) -> np.ndarray:
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT)
            rows.append(None if sentence is None else np.asarray(sentence.features, dtype=np.float32).reshape(-1))
        width = next((r.shape[0] for r in rows if r is not None), 0)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([r if r is not None else np.zeros(width, np.float32) for r in rows])

    def _features(self, messages: list[Message]) -> csr_matrix:
        assert self._char is not None and self._word is not None
        texts = [str(m.get(TEXT) or "") for m in messages]
        dense = self._dense(messages) * float(self.component_config["dense_scale"])
        return hstack([csr_matrix(dense), self._char.transform(texts), self._word.transform(texts)]).tocsr()

    # --- training ---------------------------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            log.debug("LinearIntentEnsemble: fewer than two intents, nothing to train")
            return self._resource
        texts = [str(m.get(TEXT)) for m in examples]
        self._char = TfidfVectorizer(**_CHAR).fit(texts)
        self._word = TfidfVectorizer(**_WORD).fit(texts)
        model = LogisticRegression(C=float(self.component_config["C"]),
                                   max_iter=int(self.component_config["max_iter"]))
        model.fit(self._features(examples), [str(m.get(INTENT)) for m in examples])
        self._coef, self._intercept = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
        self._coef_t = np.ascontiguousarray(self._coef.T)  # C-ordered: scipy copies a transposed view
        self._classes = [str(c) for c in model.classes_]
        self._persist()
        return self._resource

    def _persist(self) -> None:
        assert self._char is not None and self._word is not None and self._coef is not None
        with self._model_storage.write_to(self._resource) as folder:
            (folder / "vocabulary.json").write_text(json.dumps({
                "char": {k: int(v) for k, v in self._char.vocabulary_.items()},
                "word": {k: int(v) for k, v in self._word.vocabulary_.items()},
                "classes": self._classes,
            }, ensure_ascii=False), encoding="utf-8")
            np.savez(folder / "weights.npz", char_idf=self._char.idf_, word_idf=self._word.idf_,
                     coef=self._coef, intercept=self._intercept)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LinearIntentEnsemble:
        try:
            with model_storage.read_from(resource) as folder:
                vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
                with np.load(folder / "weights.npz", allow_pickle=False) as weights:
                    state = {"vocabulary": vocabulary, **{k: weights[k] for k in weights.files}}
        except (ValueError, FileNotFoundError):
            log.debug("LinearIntentEnsemble: nothing stored (trained on fewer than two intents)")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, state)

    def _restore(self, state: dict[str, Any]) -> None:
        vocabulary = state["vocabulary"]
        self._char = TfidfVectorizer(**_CHAR, vocabulary=vocabulary["char"])
        self._char.idf_ = state["char_idf"]
        self._word = TfidfVectorizer(**_WORD, vocabulary=vocabulary["word"])
        self._word.idf_ = state["word_idf"]
        self._coef, self._intercept, self._classes = state["coef"], state["intercept"], list(vocabulary["classes"])
        self._coef_t = np.ascontiguousarray(self._coef.T)  # C-ordered: scipy copies a transposed view

    # --- prediction -------------------------------------------------------------------------
    def probabilities(self, messages: list[Message]) -> np.ndarray:
        assert self._coef_t is not None and self._intercept is not None
        scores = self._features(messages) @ self._coef_t + self._intercept
        scores = np.asarray(scores) - np.max(scores, axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        todo = [m for m in messages if m.get(TEXT) and self._coef is not None]
        if not todo:
            return messages
        for message, probs in zip(todo, self.probabilities(todo), strict=True):
            # Without DIET's ranking (DIET not in the pipeline) this classifier decides alone.
            weight = float(self.component_config["weight"]) if message.get(INTENT_RANKING_KEY) else 1.0
            combined = {name: weight * float(p) for name, p in zip(self._classes, probs, strict=True)}
            for entry in message.get(INTENT_RANKING_KEY) or []:
                name = entry.get(INTENT_NAME_KEY)
                if name:
                    diet = float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0)
                    combined[name] = combined.get(name, 0.0) + (1 - weight) * diet
            ranking = sorted(combined.items(), key=lambda kv: kv[1], reverse=True)[:RANKING_LENGTH]
            message.set(INTENT, {INTENT_NAME_KEY: ranking[0][0], PREDICTED_CONFIDENCE_KEY: ranking[0][1]},
                        add_to_output=True)
            message.set(INTENT_RANKING_KEY,
                        [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c} for n, c in ranking], add_to_output=True)
        return messages
