"""Advice on request, for every strategy: the car's next service, tyre season in the
customer's region, what to check before winter, and offers that fit the car."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.common import SafeAction, customer_id, language, now
from actions.suggestions import store_offer
from bot import i18n
from bot.advice import service_due, tyre_season, winter_checklist, winter_is_coming
from bot.db.models import Vehicle
from bot.db.session import session_scope
from bot.strategy.engine import suggest
from bot.strategy.facts import load_facts

# The tyre advice names the car's region; a car without one is advised for "your area".
YOUR_AREA = {"nb": "ditt område", "sv": "ditt område", "en": "your area"}


class ActionRecommend(SafeAction):
    def name(self) -> str:
        return "action_recommend"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, today = language(tracker), now().date()
        cid = customer_id(tracker)
        messages: list[dict[str, Any]] = []
        with session_scope() as session:
            facts = load_facts(session, cid, today)
            vehicle = (
                session.execute(select(Vehicle).filter_by(customer_id=cid).order_by(Vehicle.id).limit(1))
                .scalar_one_or_none()
                if cid is not None
                else None
            )
            if vehicle is not None:
                due = service_due(session, vehicle, today, use_telemetry="usage" in facts.choice.data_allowed)
                messages.append({
                    "response": "utter_recommendation_service_due", "model": due.vehicle,
                    "last_service": i18n.format_date(due.last_service, lang, year=True) if due.last_service else "–",
                    "due": i18n.format_date(due.due_on, lang, year=due.due_on.year != today.year),
                })
                season = tyre_season(session, vehicle.home_region, vehicle.tyre_season, today)
                messages.append({
                    "response": f"utter_tyre_{season.status}", "region": season.region or YOUR_AREA[lang],
                    "start": i18n.format_day_month(season.winter_from, lang),
                    "end": i18n.format_day_month(season.winter_until, lang),
                })
            else:
                season = tyre_season(session, None, None, today)
                messages.append({
                    "response": "utter_tyre_general",
                    "start": i18n.format_day_month(season.winter_from, lang),
                    "end": i18n.format_day_month(season.winter_until, lang),
                })
            if winter_is_coming(today):
                checklist = "\n".join(f"• {line}" for line in winter_checklist(session, lang))
                messages.append({"response": "utter_winter_checklist", "checklist": checklist})
            if cid is not None:
                result = suggest(session, cid, today, lang, asked=True,
                                 facts=facts, kinds=("service",), limit=2)
                for proposed in result.items:
                    store_offer(session, tracker, cid, proposed, f"advice:{today.isoformat()}", result.strategy)
                    messages.append({
                        "response": "utter_advice_suggestion", "offer": proposed.name, "reason": proposed.reason,
                        "price": i18n.format_price(proposed.price_nok, lang),
                    })
        for message in messages:
            dispatcher.utter_message(**message)
        return []
