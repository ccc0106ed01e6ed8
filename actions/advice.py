"""Advice on request: the car's next service from its profile, and seasonal preparation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.common import SafeAction, customer_id, language, now
from bot import i18n
from bot.advice import service_due, winter_is_coming
from bot.db.models import Vehicle
from bot.db.session import session_scope


class ActionRecommend(SafeAction):
    def name(self) -> str:
        return "action_recommend"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, today = language(tracker), now().date()
        cid = customer_id(tracker)
        advised = False
        if cid is not None:
            with session_scope() as session:
                vehicles = session.execute(select(Vehicle).filter_by(customer_id=cid)).scalars().all()
                for vehicle in vehicles:
                    due = service_due(session, vehicle, today)
                    dispatcher.utter_message(
                        response="utter_recommendation_service_due",
                        model=due.vehicle,
                        last_service=i18n.format_date(due.last_service, lang) if due.last_service else "–",
                        due=i18n.format_date(due.due_on, lang),
                    )
                    advised = True
        if winter_is_coming(today) or not advised:
            dispatcher.utter_message(response="utter_recommendation_general")
        return []
