"""A turn cut short by Rasa's circuit breaker is closed, so the next turn is not cut short too;
a session whose start failed is started again by the next message."""

from __future__ import annotations

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Restarted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.recovery import close_broken_turn, session_start_failed


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("someone", list(events))


FAILED_START = (ActionExecuted(ACTION_SESSION_START_NAME), UserUttered("hei"))
GOOD_START = (ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME),
              UserUttered("hei"))


def test_a_session_start_without_session_started_is_a_failed_start():
    assert session_start_failed(tracker(*FAILED_START, *[ActionExecuted("action_fallback")] * 10))
    assert not session_start_failed(tracker(*GOOD_START, ActionExecuted("action_fallback")))
    assert not session_start_failed(tracker(UserUttered("hei")))


def test_a_failed_session_start_is_restarted_so_the_next_message_starts_it_again():
    broken = tracker(*FAILED_START, *[ActionExecuted("action_fallback")] * 10)
    close_broken_turn(broken)
    assert isinstance(broken.events[-1], Restarted) and broken.applied_events() == []
    assert [e.text for e in broken.events if isinstance(e, UserUttered)] == ["hei"]  # the message is kept


def test_a_turn_stopped_by_the_circuit_breaker_ends_with_action_listen():
    broken = tracker(*GOOD_START, *[ActionExecuted("action_opening_hours")] * 10)
    close_broken_turn(broken)
    assert broken.latest_action_name == ACTION_LISTEN_NAME
