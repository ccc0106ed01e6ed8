"""Greeting, not understanding, and asking for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, conversation_key, customer_id, language, latest_intent
from bot.db.session import session_scope
from bot.humans import record_request

# Messages the bot could not place; two in a row and a person is asked to follow up.
NOT_UNDERSTOOD = {"nlu_fallback", "inform"}


def misunderstandings_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages in a row the bot did not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in NOT_UNDERSTOOD:
            break
        count += 1
    return count


class ActionGreet(SafeAction):
    def name(self) -> str:
        return "action_greet"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("customer_name"):
            dispatcher.utter_message(response="utter_greet_known")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


class ActionFallback(SafeAction):
    """Ask to rephrase once; the second time in a row, get a person to follow up."""

    def name(self) -> str:
        return "action_fallback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if misunderstandings_in_a_row(tracker) < 2:
            dispatcher.utter_message(response="utter_default")
            return []
        with session_scope() as session:
            record_request(session, conversation_key(tracker), "fallback", language(tracker), customer_id(tracker))
        dispatcher.utter_message(response="utter_offer_human")
        return []


class ActionHandoff(SafeAction):
    """Record that a person must take over; the live handoff desk builds on this record."""

    def name(self) -> str:
        return "action_handoff"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reason = "complain" if latest_intent(tracker) == "complain" else "request_human"
        with session_scope() as session:
            record_request(session, conversation_key(tracker), reason, language(tracker), customer_id(tracker))
        dispatcher.utter_message(
            response="utter_complaint_received" if reason == "complain" else "utter_human_requested"
        )
        return []
