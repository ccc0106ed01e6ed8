"""Existing bookings: status, cancelling, moving, and a loaner car for one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, customer_id, language, latest_intent, latest_text, now
from actions.identity import IdentityValidation, ask_identity_first, identity_first, identity_needed
from actions.repair import ConversationRepair, reasking, say_declined, say_stopped, stopped_form, yes_or_no
from actions.time_choice import TimeValidation
from bot import booking, i18n
from bot.catalog import payment_options, service_names
from bot.db.models import Booking
from bot.db.session import session_scope

MANAGE_SLOTS = ("booking_time", "time_wish", "offered_times", "cancel_confirmed", "contact", "otp_code")


def reset_manage_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in MANAGE_SLOTS]


def _names(session: Any, record: Booking, lang: str) -> str:
    return i18n.join_list(service_names(session, [i.service_code for i in record.items], lang), lang)


def _has_changeable_booking(tracker: Tracker) -> bool:
    cid = customer_id(tracker)
    if cid is None:
        return False
    with session_scope() as session:
        return booking.next_changeable_booking(session, cid, now()) is not None


def _slots_for_next_booking(tracker: Tracker, slots: list[str]) -> list[str]:
    """Identity first; then the form's slots only if there is a booking to change."""
    wanted = identity_needed(tracker) or _has_changeable_booking(tracker)
    return identity_first(tracker, slots if wanted else [])


class ActionBookingStatus(SafeAction):
    def name(self) -> str:
        return "action_booking_status"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        lang = language(tracker)
        with session_scope() as session:
            records = booking.active_bookings(session, cid, now())[:3]
            if not records:
                dispatcher.utter_message(response="utter_no_bookings")
                return []
            for record in records:
                names = _names(session, record, lang)
                if record.status == "in_progress":
                    ready = record.ready_at or record.start
                    dispatcher.utter_message(
                        response="utter_status_in_progress", services=names,
                        ready_at=i18n.format_datetime(ready, lang),
                    )
                elif record.status == "ready":
                    dispatcher.utter_message(
                        response="utter_status_ready", location=record.location.name,
                        price=i18n.format_price(sum(i.price_nok for i in record.items), lang),
                        payment_options=payment_options(session, lang),
                    )
                else:
                    dispatcher.utter_message(
                        response="utter_status_booked", services=names,
                        when=i18n.format_datetime(record.start, lang),
                        location=record.location.name, reference=record.reference,
                    )
        return []


class ValidateCancelForm(ConversationRepair, IdentityValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_cancel_form"

    def answers_question(self, tracker: Tracker, requested: str) -> bool:
        return self.identity_answers(tracker, requested)

    async def extract_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Yes or no to "cancel X on DAY?"; typing the button's own words ("ja avboka") is a yes."""
        if tracker.get_slot("requested_slot") != "cancel_confirmed":
            return {}
        intent = "affirm" if latest_intent(tracker) == "cancel_booking" else latest_intent(tracker)
        return yes_or_no(intent, False, "cancel_confirmed", latest_text(tracker))

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return _slots_for_next_booking(tracker, domain_slots)


class ActionAskCancelConfirmed(SafeAction):
    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        with session_scope() as session:
            record = booking.next_changeable_booking(session, customer_id(tracker), now())
            if record is None:
                dispatcher.utter_message(response="utter_no_bookings")
                return [SlotSet("cancel_confirmed", False)]
            if reasking(tracker):
                dispatcher.utter_message(response="utter_ask_cancel_confirm_short")
                return []
            dispatcher.utter_message(
                response="utter_ask_cancel_confirm", services=_names(session, record, lang),
                when=i18n.format_datetime(record.start, lang),
            )
        return []


class ActionCancelBooking(SafeAction):
    def name(self) -> str:
        return "action_cancel_booking"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if stopped_form(tracker):
            return say_stopped(dispatcher, tracker) + reset_manage_slots()
        if cid is None:
            say_declined(dispatcher, tracker, "cancel_form")
            return reset_manage_slots()
        lang = language(tracker)
        with session_scope() as session:
            record = booking.next_changeable_booking(session, cid, now())
            if record is None:
                dispatcher.utter_message(response="utter_no_bookings")
            elif tracker.get_slot("cancel_confirmed") is True:
                booking.cancel(session, record)
                dispatcher.utter_message(
                    response="utter_cancelled", reference=record.reference,
                    services=_names(session, record, lang),
                    when=i18n.format_datetime(record.start, lang),
                )
            else:
                dispatcher.utter_message(response="utter_cancel_kept")
        return reset_manage_slots()


class ValidateRescheduleForm(ConversationRepair, IdentityValidation, TimeValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_reschedule_form"

    def answers_question(self, tracker: Tracker, requested: str) -> bool:
        return self.time_answers(tracker, requested) or self.identity_answers(tracker, requested)

    def skip_values(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str) -> dict[str, Any] | None:
        return self.skip_time(dispatcher, tracker) if requested == "booking_time" else None

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("booking_time") == "declined":
            return []
        return _slots_for_next_booking(tracker, domain_slots)


class ActionRescheduleBooking(SafeAction):
    def name(self) -> str:
        return "action_reschedule_booking"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if stopped_form(tracker):
            return say_stopped(dispatcher, tracker) + reset_manage_slots()
        if cid is None:
            say_declined(dispatcher, tracker, "reschedule_form")
            return reset_manage_slots()
        lang = language(tracker)
        wanted = tracker.get_slot("booking_time")
        with session_scope() as session:
            record = booking.next_changeable_booking(session, cid, now())
            if record is None:
                dispatcher.utter_message(response="utter_no_bookings")
                return reset_manage_slots()
            if not wanted or wanted == "declined":
                dispatcher.utter_message(response="utter_cancel_kept")
                return reset_manage_slots()
            start = datetime.fromisoformat(wanted)
            try:
                booking.reschedule(session, record, start, now())
            except booking.SlotTaken:
                dispatcher.utter_message(response="utter_booking_slot_lost")
                return [SlotSet("booking_time", None), FollowupAction("reschedule_form")]
            dispatcher.utter_message(
                response="utter_rescheduled", services=_names(session, record, lang),
                when=i18n.format_datetime(start, lang), reference=record.reference,
            )
        return reset_manage_slots()


class ActionRequestLoanerCar(SafeAction):
    def name(self) -> str:
        return "action_request_loaner_car"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        lang = language(tracker)
        with session_scope() as session:
            record = booking.next_changeable_booking(session, cid, now())
            if record is None:
                dispatcher.utter_message(response="utter_loaner_needs_booking")
                return []
            when = i18n.format_date(record.start.date(), lang)
            if record.loaner is not None:
                dispatcher.utter_message(
                    response="utter_loaner_already", loaner_model=record.loaner.car.model, when=when
                )
                return []
            reservation = booking.reserve_loaner(session, record)
            if reservation is None:
                dispatcher.utter_message(response="utter_loaner_none_free", when=when)
            else:
                dispatcher.utter_message(
                    response="utter_loaner_reserved", loaner_model=reservation.car.model, when=when
                )
        return []
