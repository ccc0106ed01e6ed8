"""What we store about a customer: shown on request; deletion is recorded for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, conversation_key, customer_id, language, now
from actions.identity import ask_identity_first
from bot import i18n
from bot.db.session import session_scope
from bot.humans import record_request
from bot.profile import profile_view


class ActionShowMyData(SafeAction):
    def name(self) -> str:
        return "action_show_my_data"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        lang = language(tracker)
        with session_scope() as session:
            view = profile_view(session, cid, lang, now())
        dispatcher.utter_message(
            response="utter_show_my_data",
            name=view.full_name or "–",
            contact=view.contact,
            vehicles=i18n.join_list(view.vehicles, lang),
            bookings=i18n.join_list(view.bookings, lang),
        )
        return []


class ActionDeleteMyData(SafeAction):
    def name(self) -> str:
        return "action_delete_my_data"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with session_scope() as session:
            record_request(
                session, conversation_key(tracker), "delete_my_data", language(tracker), customer_id(tracker)
            )
        dispatcher.utter_message(response="utter_delete_my_data_registered")
        return []
