"""The NLU components of our pipeline on real Rasa messages: the sentence featurizer, the linear
intent classifier that votes with DIET, and the fallback classifier that guards personal data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from connectors.intent_ensemble import LinearIntentEnsemble
from connectors.nlu_fallback import GuardedFallbackClassifier
from connectors.sentence_featurizer import SentenceEncoderFeaturizer

CONTEXT = ExecutionContext(GraphSchema({}), "test-model")


def msg(text: str, **data: object) -> Message:
    """A message as the featurizer sees it in the pipeline: after the tokenizer."""
    tokens, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        tokens.append(Token(word, start))
        start += len(word)
    return Message(data={TEXT: text, TOKENS_NAMES[TEXT]: tokens, **data})

EXAMPLES = {
    "booking_status": ["er bilen min ferdig?", "is my car ready yet", "är min bil klar?", "når kan jeg hente bilen",
                       "how far along is my car", "hur långt har ni kommit med bilen"],
    "ask_price": ["hva koster dekkskift?", "how much is a service", "vad kostar däckbyte", "prisliste takk",
                  "what do you charge for a wash", "vad kostar en tvätt"],
    "out_of_scope": ["spill musikk", "what's the weather tomorrow", "sätt en timer på tio minuter",
                     "set an alarm for seven", "hvem vant kampen i går", "berätta ett skämt"],
}


def training_data() -> TrainingData:
    return TrainingData([msg(t, intent=i) for i, texts in EXAMPLES.items() for t in texts])


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> SentenceEncoderFeaturizer:
    return SentenceEncoderFeaturizer.create(
        SentenceEncoderFeaturizer.get_default_config(), LocalModelStorage(tmp_path_factory.mktemp("f")),
        Resource("featurizer"), CONTEXT)


def test_each_message_gets_one_normalised_sentence_vector_and_no_sequence(featurizer) -> None:
    messages = [msg("er bilen min ferdig?"), msg("is my car ready?")]
    featurizer.process(messages)
    vectors = []
    for message in messages:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None
        assert sentence.features.shape == (1, 384)
        vectors.append(sentence.features[0])
        assert np.linalg.norm(sentence.features) == pytest.approx(1.0, abs=1e-3)
    unrelated = msg("spill litt jazz på stuehøyttaleren")
    featurizer.process([unrelated])
    other = unrelated.get_dense_features(TEXT)[1].features[0]
    # The same question in two languages is closer than an unrelated request in the first one.
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ other)


def test_training_examples_are_featurized_and_messages_without_text_are_left_alone(featurizer, tmp_path,
                                                                                    monkeypatch) -> None:
    monkeypatch.setenv("NLU_ENCODER_CACHE", str(tmp_path / "cache"))
    data = training_data()
    data.training_examples.append(Message(data={INTENT: "greet"}))
    featurizer.process_training_data(data)
    with_text = [m for m in data.training_examples if m.get(TEXT)]
    assert all(m.get_dense_features(TEXT)[1] is not None for m in with_text)
    assert data.training_examples[-1].get_dense_features(TEXT) == (None, None)
    assert (tmp_path / "cache").is_dir() and any((tmp_path / "cache").iterdir())


def trained_ensemble(featurizer, tmp_path: Path, weight: float = 0.5) -> LinearIntentEnsemble:
    storage, resource = LocalModelStorage(tmp_path), Resource("ensemble")
    config = {**LinearIntentEnsemble.get_default_config(), "weight": weight}
    component = LinearIntentEnsemble.create(config, storage, resource, CONTEXT)
    data = training_data()
    featurizer.process_training_data(data)
    component.train(data)
    return LinearIntentEnsemble.load(config, storage, resource, CONTEXT)


def test_the_linear_classifier_survives_storage_and_recognises_new_phrasings(featurizer, tmp_path) -> None:
    loaded = trained_ensemble(featurizer, tmp_path)
    messages = [msg(t) for t in ("is the car finished", "vad kostar service", "play some jazz")]
    featurizer.process(messages)
    loaded.process(messages)
    assert [m.get(INTENT)["name"] for m in messages] == ["booking_status", "ask_price", "out_of_scope"]
    for message in messages:
        ranking = message.get(INTENT_RANKING_KEY)
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-3)


def test_the_final_confidence_is_the_weighted_mean_with_diets_ranking(featurizer, tmp_path) -> None:
    loaded = trained_ensemble(featurizer, tmp_path, weight=0.25)
    alone, voted = msg("hva koster det"), msg("hva koster det")
    featurizer.process([alone, voted])
    voted.set(INTENT_RANKING_KEY, [{"name": "booking_status", "confidence": 1.0}])
    loaded.process([alone, voted])
    own = {r["name"]: r["confidence"] for r in alone.get(INTENT_RANKING_KEY)}   # no DIET ranking: alone
    mixed = {r["name"]: r["confidence"] for r in voted.get(INTENT_RANKING_KEY)}
    assert mixed["booking_status"] == pytest.approx(0.25 * own["booking_status"] + 0.75)
    assert mixed["ask_price"] == pytest.approx(0.25 * own["ask_price"])


def guard(**config: float) -> GuardedFallbackClassifier:
    return GuardedFallbackClassifier.create(
        {**GuardedFallbackClassifier.get_default_config(), "threshold": 0.4, "ambiguity_threshold": 0.05,
         "guarded_threshold": 0.8, "guarded_margin": 0.4, **config},
        LocalModelStorage(Path("/nonexistent")), Resource("fallback"), CONTEXT)


def predicted(intent: str, confidence: float, second: float) -> Message:
    return Message(data={TEXT: "x", INTENT: {"name": intent, "confidence": confidence},
                         INTENT_RANKING_KEY: [{"name": intent, "confidence": confidence},
                                              {"name": "other", "confidence": second}]})


@pytest.mark.parametrize(
    ("intent", "confidence", "second", "result"),
    [
        ("booking_status", 0.6, 0.3, "booking_status"),      # an ordinary intent: the ordinary bar
        ("show_my_data", 0.6, 0.3, "nlu_fallback"),          # personal data: below the guarded bar
        ("show_my_data", 0.85, 0.5, "nlu_fallback"),         # high, but too close to the runner-up
        ("show_my_data", 0.9, 0.1, "show_my_data"),
        ("delete_my_data", 0.75, 0.05, "nlu_fallback"),
        ("booking_status", 0.35, 0.1, "nlu_fallback"),       # below the threshold
        ("booking_status", 0.5, 0.47, "nlu_fallback"),       # ambiguous
    ],
)
def test_intents_that_show_or_change_personal_data_need_a_clear_margin(intent, confidence, second, result) -> None:
    message = predicted(intent, confidence, second)
    guard().process([message])
    assert message.get(INTENT)["name"] == result


def test_the_config_guards_exactly_the_intents_the_assistant_treats_as_personal_or_confirming() -> None:
    import yaml

    from bot.config import PROJECT_ROOT
    from bot.intents import GUARDED_INTENTS

    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    (entry,) = [e for e in config["pipeline"] if e["name"].endswith("GuardedFallbackClassifier")]
    assert set(entry["guarded_intents"]) == set(GUARDED_INTENTS)
    assert {"affirm", "deny", "show_my_data", "delete_my_data"} <= set(GUARDED_INTENTS)
