"""Booking workshop jobs: the booking form and the action that really books."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    SafeAction,
    channel,
    customer_id,
    entity_values,
    language,
    latest_intent,
    latest_text,
    now,
)
from actions.identity import INTERRUPTIONS, IdentityValidation, identity_first, identity_gave_up
from actions.time_choice import TimeValidation, encode_wish
from bot import booking, i18n
from bot.catalog import recognise_services, service_names
from bot.db.models import Customer
from bot.db.session import session_scope

BOOKING_SLOTS = (
    "service_types", "booking_time", "time_wish", "offered_times", "loaner_car",
    "booking_confirmed", "contact", "otp_code",
)


def reset_booking_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


class ValidateBookingForm(IdentityValidation, TimeValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("booking_confirmed") is False or tracker.get_slot("booking_time") == "declined":
            return []
        return identity_first(tracker, domain_slots)

    async def extract_service_types(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        requested = tracker.get_slot("requested_slot") == "service_types"
        if intent in INTERRUPTIONS:
            return {}
        if requested and intent == "deny":
            return {"booking_confirmed": False}
        if not requested and intent not in ("book_service", "inform"):
            return {}
        with session_scope() as session:
            found = recognise_services(session, entity_values(tracker, "service_type"), latest_text(tracker))
        if not found:
            return {"service_types": None} if requested else {}
        known = list(tracker.get_slot("service_types") or [])
        return {"service_types": list(dict.fromkeys(known + found))}

    def validate_service_types(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        with session_scope() as session:
            codes = [s.code for s in booking.services_by_code(session, list(value or []))]
        return {"service_types": codes or None}

    def validate_loaner_car(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        start = tracker.get_slot("booking_time")
        if value is not True or not start or start == "declined":
            return {"loaner_car": bool(value)}
        with session_scope() as session:
            car = booking.free_loaner(
                session, booking.default_location(session), datetime.fromisoformat(start).date()
            )
        if car is None:
            dispatcher.utter_message(response="utter_loaner_unavailable")
            return {"loaner_car": False}
        return {"loaner_car": True}

    def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"booking_confirmed": value}


class ActionAskBookingConfirmed(SafeAction):
    """Sum up the booking with price before the customer confirms it."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        codes = list(tracker.get_slot("service_types") or [])
        start = datetime.fromisoformat(tracker.get_slot("booking_time"))
        with session_scope() as session:
            services = booking.services_by_code(session, codes)
            location = booking.default_location(session).name
            names = i18n.join_list(service_names(session, codes, lang), lang)
        dispatcher.utter_message(
            response="utter_ask_booking_confirmed_loaner"
            if tracker.get_slot("loaner_car")
            else "utter_ask_booking_confirmed",
            services=names,
            when=i18n.format_datetime(start, lang),
            location=location,
            price=i18n.format_price(booking.price_estimate(services), lang),
        )
        return []


class ActionBookService(SafeAction):
    """Book the confirmed jobs in the calendar, or say why not."""

    def name(self) -> str:
        return "action_book_service"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if tracker.get_slot("booking_confirmed") is not True or cid is None:
            if not identity_gave_up(tracker):
                dispatcher.utter_message(response="utter_booking_aborted")
            return reset_booking_slots()
        lang = language(tracker)
        codes = list(tracker.get_slot("service_types") or [])
        start = datetime.fromisoformat(tracker.get_slot("booking_time"))
        with session_scope() as session:
            customer = session.get(Customer, cid)
            vehicle_id = customer.vehicles[0].id if customer and customer.vehicles else None
            try:
                record = booking.book(
                    session, cid, codes, start, now(),
                    want_loaner=bool(tracker.get_slot("loaner_car")),
                    vehicle_id=vehicle_id, channel=channel(tracker),
                )
            except booking.SlotTaken:
                dispatcher.utter_message(response="utter_booking_slot_lost")
                return [
                    SlotSet("booking_time", None),
                    SlotSet("booking_confirmed", None),
                    SlotSet("time_wish", encode_wish(start, True)),
                    FollowupAction("booking_form"),
                ]
            names = i18n.join_list(service_names(session, codes, lang), lang)
            price = sum(item.price_nok for item in record.items)
            loaner_model = record.loaner.car.model if record.loaner else None
            reference, location = record.reference, record.location.name
        dispatcher.utter_message(
            response="utter_booking_confirmed",
            services=names,
            when=i18n.format_datetime(start, lang),
            location=location,
            price=i18n.format_price(price, lang),
            reference=reference,
        )
        if loaner_model:
            dispatcher.utter_message(response="utter_booking_confirmed_loaner", loaner_model=loaner_model)
        elif tracker.get_slot("loaner_car"):
            dispatcher.utter_message(response="utter_loaner_unavailable")
        return reset_booking_slots()
