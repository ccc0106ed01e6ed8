"""A conversation recovers by itself after a failed turn.

When the action server is down, Rasa loses the failed actions' events and keeps
predicting until its circuit breaker stops the turn, without the closing `action_listen`.
Rasa counts actions back to the last `action_listen` (or session start), so every later
turn of that conversation trips the breaker at once: the customer gets only the apology,
even after the action server is back. Worse, when the failure hit `action_session_start`,
the session never started (no customer recognised, no language), and Rasa does not try
again because the tracker is no longer empty.

`install` gives Rasa's message processor a circuit-breaker callback that closes the turn
with `action_listen` and, when the session start was the failure, marks the conversation
restarted so the next message starts the session again. The tracker keeps every message
(`Restarted` hides nothing from the store; it only makes Rasa start over).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Restarted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)


def session_start_failed(tracker: DialogueStateTracker) -> bool:
    """The last `action_session_start` was logged without the `SessionStarted` it returns."""
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, SessionStarted):
            return False
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
            following = events[index + 1] if index + 1 < len(events) else None
            return not isinstance(following, SessionStarted)
    return False


def close_broken_turn(tracker: DialogueStateTracker, output_channel: Any = None, nlg: Any = None) -> None:
    """Rasa's `on_circuit_break` callback: the tracker is saved with these events."""
    if session_start_failed(tracker):
        log.warning("conversation stopped before its session started: the next message starts it again")
        tracker.update(Restarted())
    else:
        log.warning("conversation turn stopped by the circuit breaker: closed with action_listen")
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))


def install(app: Any) -> None:
    """Give the running agent's processor the callback (again after a model reload)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    processor = getattr(agent, "processor", None)
    if processor is not None and getattr(processor, "on_circuit_break", None) is not close_broken_turn:
        processor.on_circuit_break = close_broken_turn
