"""Bot-initiated messages: composed here, in the customer's language, when the scheduler
triggers `EXTERNAL_proactive` through Rasa's API; and the customer's yes or no to a proposal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, customer_id, entity_values, language, now
from bot import booking, i18n
from bot.advice import winter_checklist
from bot.catalog import payment_options, service_names
from bot.conversation_ids import conversation_ids
from bot.db.models import Booking, OutboxMessage
from bot.db.session import session_scope


def _buttons(lang: str, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"title": title, "payload": payload} for title, payload in pairs]


CHANGE_BUTTONS = {
    "nb": [("Velg en annen dato", "/reschedule_booking"), ("Avbestill", "/cancel_booking")],
    "sv": [("Välj ett annat datum", "/reschedule_booking"), ("Avboka", "/cancel_booking")],
    "en": [("Pick another date", "/reschedule_booking"), ("Cancel", "/cancel_booking")],
}
ANSWER_BUTTONS = {
    "nb": [("Ja, bestill", "/affirm"), ("Nei takk", "/deny")],
    "sv": [("Ja, boka", "/affirm"), ("Nej tack", "/deny")],
    "en": [("Yes, book it", "/affirm"), ("No thanks", "/deny")],
}


class ActionProactiveMessage(SafeAction):
    def name(self) -> str:
        return "action_proactive_message"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ids = entity_values(tracker, "proactive_id")
        if not ids or not ids[0].isdigit():
            return []
        lang = language(tracker)
        events: list[EventType] = []
        with session_scope() as session:
            row = session.get(OutboxMessage, int(ids[0]))
            # Only the conversation the message was written for may show it.
            if row is None or tracker.sender_id not in conversation_ids(row.channel or "", row.recipient or ""):
                return []
            payload = dict(row.payload or {})
            location = booking.default_location(session).name
            services = i18n.join_list(service_names(session, list(payload.get("services") or []), lang), lang)
            start = datetime.fromisoformat(payload["start"]) if payload.get("start") else None
            if row.event_type in ("service_due", "tyre_change"):
                if row.event_type == "tyre_change":
                    dispatcher.utter_message(response="utter_proactive_reason_tyres", region=payload.get("region", ""))
                elif payload.get("by") == "distance":
                    dispatcher.utter_message(response="utter_proactive_reason_km",
                                             km=i18n.format_number(int(payload.get("km") or 0), lang))
                else:
                    due = date.fromisoformat(payload["due"]) if payload.get("due") else now().date()
                    dispatcher.utter_message(response="utter_proactive_reason_date", due=i18n.format_date(due, lang))
                if row.action == "booked" and start is not None:
                    dispatcher.utter_message(
                        response="utter_proactive_booked", services=services,
                        when=i18n.format_datetime(start, lang), reference=payload.get("reference", ""),
                        buttons=_buttons(lang, CHANGE_BUTTONS[lang]),
                    )
                    if payload.get("pickup"):
                        dispatcher.utter_message(response="utter_agreement_pickup")
                    if payload.get("loaner"):
                        dispatcher.utter_message(response="utter_proactive_loaner_included")
                elif start is not None:
                    price = booking.price_estimate(booking.services_by_code(session, list(payload["services"])))
                    dispatcher.utter_message(
                        response="utter_proactive_suggest", services=services, location=location,
                        when=i18n.format_datetime(start, lang), price=i18n.format_price(price, lang),
                        buttons=_buttons(lang, ANSWER_BUTTONS[lang]),
                    )
                    events.append(SlotSet("pending_proactive", str(row.id)))
                if "tyre_change" in (payload.get("services") or []):
                    checklist = "\n".join(f"• {line}" for line in winter_checklist(session, lang))
                    dispatcher.utter_message(response="utter_winter_checklist", checklist=checklist)
            elif row.event_type == "car_ready":
                record = session.get(Booking, payload.get("booking_id"))
                price = sum(item.price_nok for item in record.items) if record else 0
                dispatcher.utter_message(
                    response="utter_proactive_car_ready", reference=payload.get("reference", ""),
                    location=location, price=i18n.format_price(price, lang),
                    payment=payment_options(session, lang),
                )
            elif row.event_type in ("invoice_ready", "invoice_overdue"):
                due = date.fromisoformat(payload["due"]) if payload.get("due") else None
                dispatcher.utter_message(
                    response=f"utter_proactive_{row.event_type}", number=payload.get("number", ""),
                    amount=i18n.format_price(int(payload.get("amount") or 0), lang),
                    due=i18n.format_date(due, lang) if due else "–",
                )
            elif row.event_type == "booking_tomorrow":
                record = session.get(Booking, payload.get("booking_id"))
                codes = [item.service_code for item in record.items] if record else []
                when = datetime.fromisoformat(payload["start"])
                dispatcher.utter_message(
                    response="utter_proactive_booking_tomorrow", when=i18n.format_time(when, lang),
                    services=i18n.join_list(service_names(session, codes, lang), lang), location=location,
                    reference=payload.get("reference", ""),
                )
            elif row.event_type == "loaner_return":
                dispatcher.utter_message(response="utter_proactive_loaner_return", location=location)
        return events


def answer_proactive(dispatcher: CollectingDispatcher, tracker: Tracker, yes: bool) -> list[EventType] | None:
    """The customer's yes or no to a pending proposal; None when there is none."""
    pending, cid = tracker.get_slot("pending_proactive"), customer_id(tracker)
    if not pending or not str(pending).isdigit() or cid is None:
        return None
    lang = language(tracker)
    events: list[EventType] = [SlotSet("pending_proactive", None)]
    with session_scope() as session:
        row = session.get(OutboxMessage, int(pending))
        if row is None or row.customer_id != cid:
            return None
        payload = dict(row.payload or {})
        row.answered_at = now()
        row.payload = {**payload, "outcome": "accepted" if yes else "declined"}
        if not yes:
            dispatcher.utter_message(response="utter_proactive_declined")
            return events
        codes = list(payload.get("services") or [])
        start = datetime.fromisoformat(payload["start"])
        try:
            with session.begin_nested():
                record = booking.book(session, cid, codes, start, now(), vehicle_id=payload.get("vehicle_id"),
                                      channel=tracker.get_latest_input_channel())
        except booking.BookingError:
            dispatcher.utter_message(response="utter_booking_slot_lost")
            return [*events, SlotSet("service_types", codes), FollowupAction("booking_form")]
        row.booking_id = record.id
        dispatcher.utter_message(
            response="utter_booking_confirmed",
            services=i18n.join_list(service_names(session, codes, lang), lang),
            when=i18n.format_datetime(start, lang), location=record.location.name,
            price=i18n.format_price(sum(item.price_nok for item in record.items), lang),
            reference=record.reference,
        )
    return events
