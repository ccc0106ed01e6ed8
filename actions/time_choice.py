"""Choosing a workshop time: free text in three languages, a tap on an offered time, or
"the first one" — checked against the real calendar, with alternatives when taken."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import (
    SafeAction,
    customer_id,
    entity_values,
    language,
    latest_intent,
    latest_text,
    now,
)
from actions.identity import INTERRUPTIONS
from actions.repair import reasking
from bot import booking, i18n
from bot.catalog import service_names
from bot.dates import looks_like_when, parse_choice, parse_when
from bot.db.session import session_scope


def encode_wish(start: datetime, has_time: bool) -> str:
    return f"{start.isoformat()}|{'time' if has_time else 'day'}"


def decode_wish(value: str | None) -> tuple[datetime | None, bool]:
    if not value:
        return None, False
    moment, _, kind = value.partition("|")
    try:
        return datetime.fromisoformat(moment), kind == "time"
    except ValueError:
        return None, False


def services_for_time(session: Session, tracker: Tracker) -> list[str]:
    """The jobs a time is being chosen for: those being booked, or those of the booking
    being moved."""
    if tracker.active_loop_name in ("reschedule_form", "cancel_form"):
        cid = customer_id(tracker)
        record = booking.next_changeable_booking(session, cid, now()) if cid else None
        return [item.service_code for item in record.items] if record else []
    return list(tracker.get_slot("service_types") or [])


# Intents whose message may carry a new day or time for the booking being made or moved.
CORRECTING = {"inform", "deny", "affirm", "book_service", "reschedule_booking", "nlu_fallback"}


class TimeValidation:
    """Extraction and validation of `booking_time`, shared by booking and rescheduling."""

    def time_answers(self, tracker: Tracker, requested: str) -> bool:
        """A message that reads as a day, a time or a pick of an offered time answers the time question."""
        if requested != "booking_time":
            return False
        text = latest_text(tracker)
        return bool(entity_values(tracker, "slot_choice")) or looks_like_when(text, language(tracker), now())

    def skip_time(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
        """"Any time is fine": the first of the offered times, said so (None: none was offered)."""
        offered = list(tracker.get_slot("offered_times") or [])
        if not offered:
            return None
        values = self.validate_booking_time(f"at:{offered[0]}", dispatcher, tracker, {})
        if values.get("booking_time"):
            dispatcher.utter_message(
                response="utter_skip_time",
                when=i18n.format_datetime(datetime.fromisoformat(values["booking_time"]), language(tracker)))
        return values

    async def extract_booking_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        if intent in INTERRUPTIONS:
            return {}
        choice = entity_values(tracker, "slot_choice")
        if choice:
            return {"booking_time": f"at:{choice[0]}"}
        text, lang = latest_text(tracker), language(tracker)
        if tracker.get_slot("requested_slot") == "booking_time":
            if looks_like_when(text, lang, now()):
                return {"booking_time": text}   # "nei, torsdag passer bedre" is a time, not a no
            if intent == "deny":
                return {"booking_time": "declined"}
            return {}   # not a time: the repair layer says so (no date complaint to a non-date)
        chosen = tracker.get_slot("booking_time")
        if parse_when(text, lang, now()) and (chosen is None or (chosen != "declined" and intent in CORRECTING)):
            return {"booking_time": text}   # a day given early, or a new one: a correction
        return {}

    def validate_booking_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "declined":
            return {"booking_time": "declined"}
        lang, current = language(tracker), now()
        text = str(value or "")
        offered = list(tracker.get_slot("offered_times") or [])
        start: datetime | None = None
        if text.startswith("at:"):
            try:
                start = datetime.fromisoformat(text[3:])
            except ValueError:
                start = None
        elif offered and (index := parse_choice(text, len(offered))) is not None:
            start = datetime.fromisoformat(offered[index])
        else:
            parsed = parse_when(text, lang, current)
            if parsed is None:
                if tracker.get_slot("requested_slot") == "booking_time":
                    dispatcher.utter_message(response="utter_time_unparseable")
                return {"booking_time": None}
            if parsed.start.date() < current.date():
                dispatcher.utter_message(response="utter_time_in_past")
                return {"booking_time": None, "time_wish": None}
            if not parsed.has_time:
                return {"booking_time": None, "time_wish": encode_wish(parsed.start, False)}
            start = parsed.start
        if start is None:
            dispatcher.utter_message(response="utter_time_unparseable")
            return {"booking_time": None}
        with session_scope() as session:
            codes = services_for_time(session, tracker)
            if not codes:  # jobs not known yet: remember the wish, ask for the jobs first
                return {"booking_time": None, "time_wish": encode_wish(start, True)}
            availability = booking.check_time(session, codes, start, current)
        if availability.status == "free":
            return {"booking_time": start.isoformat(), "time_wish": None, "offered_times": None}
        if availability.status == "past":
            dispatcher.utter_message(response="utter_time_in_past")
            return {"booking_time": None, "time_wish": None}
        dispatcher.utter_message(response="utter_time_taken", when=i18n.format_datetime(start, lang))
        return {"booking_time": None, "time_wish": encode_wish(start, True)}


def time_buttons(times: list[datetime], lang: str) -> list[dict[str, str]]:
    return [
        {"title": i18n.format_short_datetime(moment, lang),
         "payload": '/inform{"slot_choice":"' + moment.isoformat() + '"}'}
        for moment in times
    ]


class ActionAskBookingTime(SafeAction):
    """Ask for a time by offering the free times nearest to what the customer wished."""

    def name(self) -> str:
        return "action_ask_booking_time"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, current = language(tracker), now()
        offered = list(tracker.get_slot("offered_times") or [])
        if reasking(tracker) and offered:   # asked again after a digression: short, the same times
            dispatcher.utter_message(response="utter_ask_booking_time_short",
                                     buttons=time_buttons([datetime.fromisoformat(t) for t in offered], lang))
            return []
        around, has_time = decode_wish(tracker.get_slot("time_wish"))
        with session_scope() as session:
            codes = services_for_time(session, tracker)
            if not codes or booking.primary_resource(booking.services_by_code(session, codes)) is None:
                dispatcher.utter_message(response="utter_ask_booking_time")
                return [SlotSet("offered_times", None)]
            times = booking.free_times(session, codes, current, around=around, has_time=has_time)
            names = i18n.join_list(service_names(session, codes, lang), lang)
            horizon = booking.setting(session, "booking_horizon_days", 21)
        if not times:
            dispatcher.utter_message(response="utter_no_free_times", days=horizon, services=names)
            dispatcher.utter_message(response="utter_ask_booking_time")
            return [SlotSet("offered_times", None)]
        dispatcher.utter_message(response="utter_free_times", services=names, buttons=time_buttons(times, lang))
        return [SlotSet("offered_times", [moment.isoformat() for moment in times])]
