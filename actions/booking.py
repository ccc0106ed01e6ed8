"""Booking workshop jobs: the booking form and the action that really books."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from uuid import uuid4

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
from actions.handoff import hand_over
from actions.identity import INTERRUPTIONS, IdentityValidation, identity_first, identity_gave_up
from actions.repair import (
    ConversationRepair,
    ask,
    reasking,
    say_declined,
    say_stopped,
    stopped_form,
    yes_or_no,
)
from actions.suggestions import answer_buttons, offer_name, store_offer, tapped_suggestion
from actions.time_choice import TimeValidation, encode_wish
from bot import booking, i18n, repair
from bot.catalog import recognise_services, service_mentions, service_names
from bot.dates import parse_when
from bot.db.models import Customer, Preferences, Suggestion
from bot.db.session import session_scope
from bot.strategy import outcomes
from bot.strategy.engine import suggest

log = logging.getLogger(__name__)

BOOKING_SLOTS = (
    "service_types", "booking_time", "time_wish", "offered_times", "loaner_car",
    "booking_confirmed", "contact", "otp_code",
    "booking_draft", "open_suggestion", "loaner_suggestion", "suggestion_answer", "suggestions_checked",
)


def draft_context(tracker: Tracker) -> str:
    return f"booking:{tracker.get_slot('booking_draft')}"


def _time_chosen(tracker: Tracker) -> bool:
    value = tracker.get_slot("booking_time")
    return bool(value) and value != "declined"


def _ready_for_offers(tracker: Tracker) -> bool:
    return (
        customer_id(tracker) is not None
        and bool(tracker.get_slot("service_types"))
        and _time_chosen(tracker)
        and tracker.get_slot("loaner_car") is not None
        and tracker.get_slot("booking_confirmed") is None
        and tracker.get_slot("open_suggestion") is None
        and not tracker.get_slot("suggestions_checked")
    )


LOANER = re.compile(r"\b(?:loaner|courtesy car|replacement car|lånebil\w*|lånbil\w*|leiebil\w*|hyrbil\w*)",
                    re.IGNORECASE)
NO_LOANER = re.compile(
    r"\b(?:no|not|don'?t|dont|do not|without|ikke|ikkje|ingen|uten|inte|utan)\b[^.!?]{0,25}"
    r"(?:loaner|courtesy|replacement car|lånebil|lånbil|leiebil|hyrbil)", re.IGNORECASE)


def slot_before_turn(tracker: Tracker, name: str) -> Any:
    """The slot's value before the customer's latest message."""
    value, seen_user = None, False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return value


def reset_booking_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


class ValidateBookingForm(ConversationRepair, IdentityValidation, TimeValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    def overrides_pattern(self, tracker: Tracker, pattern: str) -> bool:
        """"fjern vasken" / "drop the wash" (read as stop) removes a job when others stay."""
        if pattern != repair.CANCEL:
            return False
        text = latest_text(tracker)
        with session_scope() as session:
            negative = {code for code, start in service_mentions(session, text) if repair.negated(text, start)}
        booked = set(tracker.get_slot("service_types") or [])
        return bool(negative & booked) and bool(booked - negative)

    def answers_question(self, tracker: Tracker, requested: str) -> bool:
        if self.corrects(tracker):
            return True   # "kan vi ta det på fredag istället", read as not understood: a correction
        if requested == "service_types":
            with session_scope() as session:
                return bool(recognise_services(session, entity_values(tracker, "service_type"), latest_text(tracker)))
        return self.time_answers(tracker, requested) or self.identity_answers(tracker, requested)

    def skip_values(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str) -> dict[str, Any] | None:
        """No loaner car; the first free time offered; no to the offer."""
        if requested == "loaner_car":
            dispatcher.utter_message(response="utter_skip_loaner")
            return {"loaner_car": False, "loaner_suggestion": tracker.get_slot("loaner_suggestion")}
        if requested == "booking_time":
            return self.skip_time(dispatcher, tracker)
        if requested == "suggestion_answer":
            return self.validate_suggestion_answer(False, dispatcher, tracker, {})
        return None

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("booking_confirmed") is False or tracker.get_slot("booking_time") == "declined":
            return []
        slots = list(domain_slots)
        if tracker.get_slot("open_suggestion"):
            slots.insert(slots.index("booking_confirmed"), "suggestion_answer")
        return identity_first(tracker, slots)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """After the customer's answers are validated: the agreement's loaner car for `auto`
        customers, then the next suggestion of the strategy engine, one at a time."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        if tracker.get_slot("booking_draft") is None:
            events.append(SlotSet("booking_draft", uuid4().hex[:12]))
        tracker.add_slots(events)
        try:
            extra = self._agreement_loaner(dispatcher, tracker)
            tracker.add_slots(extra)
            if _ready_for_offers(tracker):
                extra += self._next_offer(tracker)
        except Exception:  # noqa: BLE001 - suggestions are a bonus: the booking goes on without them
            log.exception("strategy engine failed inside the booking form")
            extra = [SlotSet("suggestions_checked", True), SlotSet("open_suggestion", None)]
        return events + extra

    def _agreement_loaner(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        cid = customer_id(tracker)
        if (
            cid is None or tracker.get_slot("strategy") != "auto"
            or tracker.get_slot("loaner_car") is not None or not _time_chosen(tracker)
        ):
            return []
        with session_scope() as session:
            prefs = session.get(Preferences, cid)
            if not (prefs and prefs.auto_service and (prefs.agreement or {}).get("loaner")):
                return []
            car = booking.free_loaner(
                session, booking.default_location(session),
                datetime.fromisoformat(tracker.get_slot("booking_time")).date(),
            )
        if car is None:
            dispatcher.utter_message(response="utter_loaner_unavailable")
            return [SlotSet("loaner_car", False)]
        dispatcher.utter_message(response="utter_agreement_loaner")
        return [SlotSet("loaner_car", True)]

    def _next_offer(self, tracker: Tracker) -> list[EventType]:
        cid = customer_id(tracker)
        assert cid is not None
        context = draft_context(tracker)
        with session_scope() as session:
            limit = int(booking.setting(session, "max_offers_per_booking", 2) or 0)  # type: ignore[arg-type]
            found = None
            if outcomes.offers_made_in_context(session, cid, context, "service") < limit:
                result = suggest(
                    session, cid, now().date(), language(tracker),
                    services=list(tracker.get_slot("service_types") or []),
                    context=context, kinds=("service",), limit=1,
                )
                if result.first() is not None:
                    found = store_offer(session, tracker, cid, result.items[0], context, result.strategy)
            if found is None:
                return [SlotSet("suggestions_checked", True)]
            return [SlotSet("open_suggestion", str(found.id))]

    async def extract_service_types(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        requested = tracker.get_slot("requested_slot") == "service_types"
        if intent in INTERRUPTIONS:
            return {}
        text = latest_text(tracker)
        with session_scope() as session:
            found = recognise_services(session, entity_values(tracker, "service_type"), text)
            negative = [code for code, start in service_mentions(session, text) if repair.negated(text, start)]
        if requested and intent == "deny" and not found:
            return {"booking_confirmed": False}
        if not requested and intent not in ("book_service", "inform", "deny", "affirm", "nlu_fallback", "stop",
                                            "cancel_booking"):
            return {}
        if not found:
            return {"service_types": None} if requested else {}
        known = list(tracker.get_slot("service_types") or [])
        # A correction: "ikke vask, dekkskift", "sorry, I meant a tyre change" replace; "og vask" adds.
        return {"service_types": repair.corrected_services(known, found, negative, repair.replaces(text))}

    def validate_service_types(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        before = slot_before_turn(tracker, "service_types")
        with session_scope() as session:
            codes = [s.code for s in booking.services_by_code(session, list(value or []))]
            if not codes or not before or set(codes) == set(before):
                return {"service_types": codes or None}
            # A correction of the jobs: say what it is now, and check the chosen time still fits.
            lang = language(tracker)
            dispatcher.utter_message(response="utter_correction_services",
                                     services=i18n.join_list(service_names(session, codes, lang), lang))
            chosen = tracker.get_slot("booking_time")
            if not _time_chosen(tracker) or chosen is None:
                return {"service_types": codes}
            start = datetime.fromisoformat(chosen)
            if booking.check_time(session, codes, start, now()).status == "free":
                return {"service_types": codes}
        dispatcher.utter_message(response="utter_time_taken", when=i18n.format_datetime(start, lang))
        return {"service_types": codes, "booking_time": None, "time_wish": encode_wish(start, True)}

    async def extract_loaner_car(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Yes or no to the loaner question; and a loaner after all ("jeg trenger lånebil
        likevel") once it was answered no."""
        intent, text = latest_intent(tracker), latest_text(tracker)
        named, refused = bool(LOANER.search(text)), bool(NO_LOANER.search(text))
        if tracker.get_slot("requested_slot") == "loaner_car":
            if refused:
                return {"loaner_car": False}   # "i don't need a loaner car" names one but wants none
            if intent == "request_loaner_car":
                return {"loaner_car": True}
            return yes_or_no(intent, self.corrects(tracker), "loaner_car", text)
        current = tracker.get_slot("loaner_car")
        if refused and current is True:
            return {"loaner_car": False}       # "fast jag vill inte ha lånebil ändå"
        if (intent == "request_loaner_car" or named and intent in ("affirm", "inform")) and current is False \
                and not refused:
            return {"loaner_car": True}        # "jeg trenger lånebil likevel"
        return {}

    async def extract_booking_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "booking_confirmed":
            return {}
        text = latest_text(tracker)
        return yes_or_no(latest_intent(tracker), self.corrects(tracker), "booking_confirmed", text)

    def corrects(self, tracker: Tracker) -> bool:
        """Whether the message changes the booking: a day or time, jobs, or the loaner car."""
        text = latest_text(tracker)
        if parse_when(text, language(tracker), now()) is not None or LOANER.search(text):
            return True
        with session_scope() as session:
            return bool(recognise_services(session, entity_values(tracker, "service_type"), text))

    async def extract_suggestion_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Yes or no to the offer being asked (a tapped button carries the offer's id)."""
        if tracker.get_slot("requested_slot") != "suggestion_answer":
            return {}
        intent = latest_intent(tracker)
        if intent in ("affirm", "deny"):
            return {"suggestion_answer": intent == "affirm"}
        return {}

    def validate_suggestion_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        cid = customer_id(tracker)
        target, tapped = _int(tracker.get_slot("open_suggestion")), tapped_suggestion(tracker)
        if tapped is not None and tapped != target:
            return {"suggestion_answer": None}  # a button of an earlier offer: ask the open one again
        if cid is not None and target is not None and value is not None:
            lang = language(tracker)
            with session_scope() as session:
                row = outcomes.decide(session, target, cid, bool(value), now())
                name = offer_name(session, row.offer_code, lang) if row else None
            if name:
                dispatcher.utter_message(
                    response="utter_suggestion_added" if value else "utter_suggestion_declined",
                    offer=i18n.in_sentence(name),
                )
        return {"suggestion_answer": None, "open_suggestion": None}

    def validate_loaner_car(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        offered, cid = _int(tracker.get_slot("loaner_suggestion")), customer_id(tracker)
        if offered is not None and cid is not None and value is not None:
            with session_scope() as session:
                outcomes.decide(session, offered, cid, bool(value), now())
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


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class ActionAskLoanerCar(SafeAction):
    """Ask about a loaner car, as a suggestion with its reason when the engine has one."""

    def name(self) -> str:
        return "action_ask_loaner_car"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid, lang = customer_id(tracker), language(tracker)
        row: Suggestion | None = None
        events: list[EventType] = []
        if tracker.get_slot("booking_draft") is None:
            events.append(SlotSet("booking_draft", uuid4().hex[:12]))
            tracker.add_slots(events)
        row_id = None
        if cid is not None:
            with session_scope() as session:
                offered = _int(tracker.get_slot("loaner_suggestion"))
                row = session.get(Suggestion, offered) if offered else None
                if row is None:
                    result = suggest(
                        session, cid, now().date(), lang,
                        services=list(tracker.get_slot("service_types") or []),
                        context=draft_context(tracker), kinds=("loaner",), limit=1,
                    )
                    if result.first() is not None:
                        row = store_offer(
                            session, tracker, cid, result.items[0], draft_context(tracker), result.strategy
                        )
                reason, row_id = (row.reason, row.id) if row is not None else (None, None)
        if row_id is None or reasking(tracker):
            ask(dispatcher, tracker, "utter_ask_loaner_car")
            return events if row_id is None else [*events, SlotSet("loaner_suggestion", str(row_id))]
        dispatcher.utter_message(response="utter_suggest_loaner", reason=reason, buttons=answer_buttons(lang, row_id))
        return [*events, SlotSet("loaner_suggestion", str(row_id))]


class ActionAskSuggestionAnswer(SafeAction):
    """Offer the open suggestion: what, why, what it costs, and one tap to say yes or no."""

    def name(self) -> str:
        return "action_ask_suggestion_answer"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, offered = language(tracker), _int(tracker.get_slot("open_suggestion"))
        with session_scope() as session:
            row = session.get(Suggestion, offered) if offered else None
            if row is None:
                return [SlotSet("open_suggestion", None), SlotSet("suggestions_checked", True)]
            name, reason, price, row_id = offer_name(session, row.offer_code, lang), row.reason, row.price_nok, row.id
        if reasking(tracker):
            dispatcher.utter_message(response="utter_ask_suggestion_answer_short", offer=i18n.in_sentence(name),
                                     buttons=answer_buttons(lang, row_id))
            return []
        dispatcher.utter_message(
            response="utter_suggest_offer", offer=name, reason=reason,
            price=i18n.format_price(int(price or 0), lang), buttons=answer_buttons(lang, row_id),
        )
        return []


def _accepted_offers(session: Any, tracker: Tracker, lang: str) -> tuple[list[str], int]:
    """Names and total price of the offers accepted in this booking."""
    cid = customer_id(tracker)
    if cid is None or not tracker.get_slot("booking_draft"):
        return [], 0
    names, total = [], 0
    for row in outcomes.in_context(session, cid, draft_context(tracker)):
        if row.status == "accepted" and (row.price_nok or 0) > 0:
            names.append(i18n.in_sentence(offer_name(session, row.offer_code, lang)))
            total += int(row.price_nok or 0)
    return names, total


class ActionAskBookingConfirmed(SafeAction):
    """Sum up the booking with price before the customer confirms it."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if reasking(tracker):
            dispatcher.utter_message(response="utter_ask_booking_confirmed_short")
            return []
        lang = language(tracker)
        codes = list(tracker.get_slot("service_types") or [])
        start = datetime.fromisoformat(tracker.get_slot("booking_time"))
        with session_scope() as session:
            services = booking.services_by_code(session, codes)
            location = booking.default_location(session).name
            extra_names, extra_price = _accepted_offers(session, tracker, lang)
            names = i18n.join_list(service_names(session, codes, lang) + extra_names, lang)
            terms = self._agreement_terms(session, tracker, lang)
        for response, values in terms:
            dispatcher.utter_message(response=response, **values)
        dispatcher.utter_message(
            response="utter_ask_booking_confirmed_loaner"
            if tracker.get_slot("loaner_car")
            else "utter_ask_booking_confirmed",
            services=names,
            when=i18n.format_datetime(start, lang),
            location=location,
            price=i18n.format_price(booking.price_estimate(services) + extra_price, lang),
        )
        return []

    @staticmethod
    def _agreement_terms(session: Any, tracker: Tracker, lang: str) -> list[tuple[str, dict[str, str]]]:
        """For `auto` customers: what their agreement arranges (pickup, payment)."""
        cid = customer_id(tracker)
        if cid is None or tracker.get_slot("strategy") != "auto":
            return []
        prefs = session.get(Preferences, cid)
        agreement = (prefs.agreement or {}) if prefs and prefs.auto_service else {}
        terms: list[tuple[str, dict[str, str]]] = []
        if agreement.get("pickup"):
            terms.append(("utter_agreement_pickup", {}))
        if agreement.get("payment"):
            methods = booking.setting(session, "payment_methods", []) or []
            names = {m["code"]: m["names"].get(lang, m["code"]) for m in methods}  # type: ignore[union-attr]
            payment = names.get(agreement["payment"], agreement["payment"])
            terms.append(("utter_agreement_payment", {"payment": payment}))
        return terms


class ActionBookService(SafeAction):
    """Book the confirmed jobs in the calendar, or say why not."""

    def name(self) -> str:
        return "action_book_service"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if stopped_form(tracker):
            return say_stopped(dispatcher, tracker) + reset_booking_slots()
        if tracker.get_slot("booking_confirmed") is not True or cid is None:
            if identity_gave_up(tracker):
                say_declined(dispatcher, tracker, "booking_form")
            else:
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
                record = None
            if record is None:
                return self._slot_lost(dispatcher, tracker, start, session)
            outcomes.attach_to_booking(session, cid, draft_context(tracker), record)
            booked_codes = list(dict.fromkeys(item.service_code for item in record.items))
            names = i18n.join_list(service_names(session, booked_codes, lang), lang)
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

    @staticmethod
    def _slot_lost(
        dispatcher: CollectingDispatcher, tracker: Tracker, start: datetime, session: Any
    ) -> list[EventType]:
        """The time went to someone else: offer others; the second time, a person takes over."""
        session.rollback()  # release the write lock before the handoff opens its own session
        dispatcher.utter_message(response="utter_booking_slot_lost")
        failures = int(tracker.get_slot("booking_failures") or 0) + 1
        if failures >= 2:
            return [*reset_booking_slots(), SlotSet("booking_failures", None),
                    *hand_over(dispatcher, tracker, "booking_failed")]
        return [
            SlotSet("booking_failures", failures),
            SlotSet("booking_time", None),
            SlotSet("booking_confirmed", None),
            SlotSet("time_wish", encode_wish(start, True)),
            FollowupAction("booking_form"),
        ]
