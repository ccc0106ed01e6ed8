"""Greeting, not understanding, and asking for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction
from actions.handoff import hand_over

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
        dispatcher.utter_message(response="utter_offer_human")
        return hand_over(dispatcher, tracker, "fallback")
