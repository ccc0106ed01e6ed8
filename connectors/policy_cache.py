"""TED's prediction for a dialogue state, computed once per state.

TED predicts the next action from the conversation's state over its last `max_history` turns:
the intents, entity types and slots, the previous actions, the active form and, after a user
message when it was trained end to end, that message's text. Its inference is a pure function of
those states (the features of each state part come from the fixed model), so the prediction for
states seen before is taken from a bounded memory of this process instead of running the model
again. Under `bot bench load` TED was the largest single part of the Rasa server's CPU (23 %);
conversations go through the same few states over and over (a greeting, a booking's questions,
"takk"), so most predictions are found there. The answer is the same prediction object TED made
(a copy), so what the ensemble decides is unchanged.

The key is made the way TED makes its input: `prediction_states` with the same flags as
`TEDPolicy._featurize_tracker`, for both batch examples. A model reload builds new policy
objects, each with an empty memory.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections import OrderedDict
from typing import Any

from rasa.core.policies.policy import PolicyPrediction, SupportedData
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.nlu.constants import TEXT

MAX_STATES = 4096
_rasa_predict = TEDPolicy.predict_action_probabilities
_lock = threading.Lock()


def freeze(value: Any) -> Any:
    """A hashable, order-independent form of a state (dicts, lists, tuples, sets of plain values)."""
    if isinstance(value, dict):
        return tuple(sorted(((str(k), freeze(v)) for k, v in value.items()), key=lambda item: item[0]))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted((freeze(v) for v in value), key=repr))
    return value


def state_text(states: Any) -> Any:
    """A state as one canonical string (keys sorted; tuples and lists alike, as TED reads them):
    JSON in C, about 3x faster than `freeze`, which stays for what JSON cannot write."""
    try:
        return json.dumps(states, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return freeze(states)


def state_key(policy: TEDPolicy, tracker: Any, domain: Any, rule_only_data: dict[str, Any] | None) -> tuple:
    """What TED's input is made from, for this tracker (see `TEDPolicy._featurize_tracker`)."""
    ml_only = policy.supported_data() == SupportedData.ML_DATA
    flags = {"ignore_rule_only_turns": ml_only, "rule_only_data": rule_only_data,
             "ignore_action_unlikely_intent": ml_only}
    key = [state_text(policy.featurizer.prediction_states(
        [tracker], domain, use_text_for_last_user_input=policy.only_e2e, **flags))]
    if tracker.latest_action_name == ACTION_LISTEN_NAME and TEXT in policy.fake_features and not policy.only_e2e:
        key.append(state_text(policy.featurizer.prediction_states(
            [tracker], domain, use_text_for_last_user_input=True, **flags)))
    return tuple(key)


# Rasa validates a model's graph against this method's signature and type hints (training fails on
# a hint for `self`, or on other types), so it carries TED's own: `functools.wraps`.
@functools.wraps(_rasa_predict)
def predict_action_probabilities(
    self, tracker: Any, domain: Any, rule_only_data: dict[str, Any] | None = None,
    precomputations: Any = None, **kwargs: Any,
) -> PolicyPrediction:
    """`TEDPolicy.predict_action_probabilities`, remembered per dialogue state."""
    if self.model is None:
        return _rasa_predict(self, tracker, domain, rule_only_data=rule_only_data,
                             precomputations=precomputations, **kwargs)
    key = state_key(self, tracker, domain, rule_only_data)
    memory: OrderedDict[tuple, PolicyPrediction] = self.__dict__.setdefault("_predictions_by_state", OrderedDict())
    with _lock:
        found = memory.get(key)
        if found is not None:
            memory.move_to_end(key)
    if found is None:
        found = _rasa_predict(self, tracker, domain, rule_only_data=rule_only_data,
                              precomputations=precomputations, **kwargs)
        with _lock:
            memory[key] = found
            while len(memory) > MAX_STATES:
                memory.popitem(last=False)
    answer = copy.copy(found)
    answer.probabilities = list(found.probabilities)
    answer.events = list(found.events or [])
    answer.optional_events = list(found.optional_events or [])
    return answer


def install() -> None:
    TEDPolicy.predict_action_probabilities = predict_action_probabilities  # type: ignore[method-assign]
