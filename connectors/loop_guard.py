"""Rasa policy: the loop guard. Ends a turn that starts to repeat itself.

Rasa predicts actions until one of them is `action_listen`, up to `max_number_of_predictions`
(10). When no policy knows what comes after an action, the rule policy's core fallback
(`action_fallback`) is predicted again and again: "never mind" inside a form once gave the
same fallback message ten times in one reply. This policy knows nothing about the
conversation; it only counts what happened since the customer's latest message and, with the
highest priority and as a "no user" prediction (which overrules the others), predicts
`action_listen` when
- the latest action already ran earlier in this turn (a repeat: stop before a third), or
- the latest action is the fallback action (after it, only the customer can go on), or
- `max_actions` actions ran in this turn.
Otherwise it predicts nothing and the other policies decide; so it does too while the session
start of the conversation has failed (the action server was down): then Rasa's circuit breaker
ends the turn and `connectors/recovery.py` makes the next message start the session again. The actions do their part: an
action predicted a second time in one turn says nothing (`actions.common.SafeAction`).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.recovery import session_start_failed

log = logging.getLogger(__name__)


def actions_since_user(tracker: DialogueStateTracker) -> list[str]:
    """Names of the actions since the latest customer message, oldest first (listen excluded)."""
    names: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name and event.action_name != ACTION_LISTEN_NAME:
            names.append(event.action_name)
    return list(reversed(names))


def should_listen(actions: list[str], fallback_action: str, max_actions: int) -> bool:
    if not actions:
        return False
    last = actions[-1]
    return last == fallback_action or actions.count(last) >= 2 or len(actions) >= max_actions


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class LoopGuardPolicy(Policy):
    """Predicts `action_listen` when a turn repeats itself; otherwise abstains."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7, "max_actions": 6, "fallback_action": "action_fallback"}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, featurizer: Any = None) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn."""
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: dict[str, Any] | None = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        actions = actions_since_user(tracker)
        if not should_listen(actions, str(self.config["fallback_action"]), int(self.config["max_actions"])) \
                or session_start_failed(tracker):
            # A session start that failed (action server down) is left to Rasa's circuit breaker,
            # whose callback (connectors/recovery.py) makes the next message start it again.
            return self._prediction(probabilities)
        log.debug("loop guard: listening after %s", actions)
        probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=True)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LoopGuardPolicy:
        return cls(config, model_storage, resource, execution_context)
