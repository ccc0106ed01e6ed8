"""Contact preferences in chat: "contact me on Telegram from now on"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, customer_id, entity_values, language, now
from actions.identity import ask_identity_first
from bot.db.session import session_scope
from bot.preferences import CHANNELS, channel_name, set_preferred_channel


class ActionSetPreferences(SafeAction):
    def name(self) -> str:
        return "action_set_preferences"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        channels = [c for c in entity_values(tracker, "channel") if c in CHANNELS]
        if not channels:
            dispatcher.utter_message(response="utter_ask_which_preference")
            return []
        with session_scope() as session:
            set_preferred_channel(session, cid, channels[0], now())
        dispatcher.utter_message(
            response="utter_preference_channel_set", channel=channel_name(channels[0], language(tracker))
        )
        return []
