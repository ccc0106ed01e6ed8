"""Session start: recognise the customer behind this sender id and speak their language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, channel_sender
from bot.db.session import session_scope
from bot.profile import customer_language, customer_strategy, find_customer


class ActionSessionStart(SafeAction):
    hand_over_on_error = False  # a new session must start, not wait for a person
    may_repeat_in_turn = True   # a session start that failed (action server down) runs again

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # The session must start even when the profile database is down.
        events = await super().run(dispatcher, tracker, domain)
        return [SessionStarted(), *events, ActionExecuted("action_listen")]

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with session_scope() as session:
            customer = find_customer(session, *channel_sender(tracker))
            if customer is None:
                return []
            return [
                SlotSet("customer_id", str(customer.id)),
                SlotSet("customer_name", customer.first_name or None),
                SlotSet("strategy", customer_strategy(customer)),
                SlotSet("language", customer_language(customer) or "nb"),
            ]
