"""Identifying a guest by phone or e-mail and a one-time code, before a profile is read."""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    SafeAction,
    channel_sender,
    conversation_key,
    customer_id,
    find_action,
    language,
    latest_intent,
    latest_text,
    now,
)
from actions.repair import ConversationRepair, say_stopped, stopped_form
from bot.db.models import Customer
from bot.db.session import session_scope
from bot.humans import record_request
from bot.profile import (
    customer_strategy,
    mask_contact,
    parse_code,
    parse_contact,
    start_verification,
    verify_code,
)

IDENTITY_SLOTS = ["contact", "otp_code"]
# Values that end identification without a customer (declined, or too many wrong codes).
GAVE_UP = ("declined", "failed")
# Intents that leave the question unanswered: another policy handles them.
INTERRUPTIONS = {
    "request_human", "complain", "bot_challenge", "ask_opening_hours", "ask_location",
    "ask_price", "goodbye", "greet",
}


def identity_needed(tracker: Tracker) -> bool:
    return customer_id(tracker) is None and tracker.get_slot("otp_code") not in GAVE_UP


def identity_gave_up(tracker: Tracker) -> bool:
    return customer_id(tracker) is None and tracker.get_slot("otp_code") in GAVE_UP


def identity_first(tracker: Tracker, slots: list[str]) -> list[str]:
    """A form's required slots: who the customer is first, nothing once they gave up."""
    if identity_gave_up(tracker):
        return []
    if identity_needed(tracker):
        return IDENTITY_SLOTS + slots
    return slots


def ask_identity_first(action_name: str) -> list[EventType]:
    """Events that identify the customer, then run `action_name` again."""
    return [SlotSet("pending_action", action_name), FollowupAction("identify_form")]


class IdentityValidation:
    """Extraction and validation of `contact` and `otp_code`, shared by every form that
    needs to know who the customer is."""

    def identity_answers(self, tracker: Tracker, requested: str) -> bool:
        """A phone number or e-mail answers the contact question, six digits the code question."""
        text = latest_text(tracker)
        if requested == "contact":
            return parse_contact(text) is not None
        return requested == "otp_code" and parse_code(text) is not None

    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "contact" or latest_intent(tracker) in INTERRUPTIONS:
            return {}
        if latest_intent(tracker) == "deny":
            return {"contact": "declined", "otp_code": "declined"}
        return {"contact": latest_text(tracker)}

    def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "declined":
            return {"contact": "declined"}
        contact = parse_contact(str(value or ""))
        if contact is None:
            dispatcher.utter_message(response="utter_contact_invalid")
            return {"contact": None}
        with session_scope() as session:
            start_verification(session, conversation_key(tracker), contact, now())
        dispatcher.utter_message(response="utter_code_sent", contact_masked=mask_contact(contact))
        return {"contact": contact.value}

    async def extract_otp_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "otp_code" or latest_intent(tracker) in INTERRUPTIONS:
            return {}
        if latest_intent(tracker) == "deny":
            return {"otp_code": "declined"}
        return {"otp_code": latest_text(tracker)}

    async def validate_otp_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value in GAVE_UP:
            return {"otp_code": value}
        code = parse_code(str(value or ""))
        if code is None:
            dispatcher.utter_message(response="utter_otp_wrong", attempts_left="?")
            return {"otp_code": None}
        with session_scope() as session:
            result = verify_code(
                session, conversation_key(tracker), code, now(), *channel_sender(tracker)
            )
            verified: dict[str, Any] | None = None
            if result.status == "ok" and result.customer_id is not None:
                customer = session.get(Customer, result.customer_id)
                if result.new_customer:
                    dispatcher.utter_message(response="utter_identified_new")
                else:
                    dispatcher.utter_message(response="utter_identified", customer_name=result.first_name or "")
                verified = {
                    "otp_code": "verified",
                    "customer_id": str(result.customer_id),
                    "customer_name": result.first_name,
                    "strategy": customer_strategy(customer),
                }
            elif result.status == "wrong":
                dispatcher.utter_message(response="utter_otp_wrong", attempts_left=result.attempts_left)
                return {"otp_code": None}
            else:
                record_request(session, conversation_key(tracker), "identification", language(tracker))
        if verified is not None:
            return {**verified, **await answer_promised(dispatcher, tracker, domain, verified)}
        dispatcher.utter_message(response="utter_otp_locked")
        return {"otp_code": "failed"}


async def answer_promised(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                          verified: dict[str, Any]) -> dict[str, Any]:
    """A question asked during another form that needed the customer's identity ("Det kan jeg
    svare på så snart jeg vet hvem du er") is answered right after the code, inside that form."""
    pending = tracker.get_slot("pending_action")
    if tracker.active_loop_name in (None, "identify_form") or not pending:
        return {}
    action = find_action(pending)
    if action is None:
        return {"pending_action": None}
    tracker.slots.update(verified)
    events = await action.run(dispatcher, tracker, domain)
    return {"pending_action": None, **{e["name"]: e.get("value") for e in events
                                       if e.get("event") == "slot" and e.get("name") != "pending_action"}}


class ValidateIdentifyForm(ConversationRepair, IdentityValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_identify_form"

    def answers_question(self, tracker: Tracker, requested: str) -> bool:
        return self.identity_answers(tracker, requested)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return domain_slots if identity_needed(tracker) else []


class ActionAfterIdentification(SafeAction):
    """Carry on with what the customer asked for before we had to identify them: that action's
    answer is given here, in this action, so the turn ends with it (as a follow-up action it
    left the policies guessing what comes next, and they guessed the fallback and a handoff)."""

    def name(self) -> str:
        return "action_after_identification"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        pending = tracker.get_slot("pending_action")
        events: list[EventType] = [SlotSet("pending_action", None), SlotSet("contact", None), SlotSet("otp_code", None)]
        if stopped_form(tracker):
            return say_stopped(dispatcher, tracker) + events
        if customer_id(tracker) is None:
            if tracker.get_slot("otp_code") == "declined":
                dispatcher.utter_message(response="utter_stopped_identify_form")
            else:
                dispatcher.utter_message(response="utter_anything_else")
            return events
        action = find_action(pending) if pending else None
        if action is None:
            return events
        tracker.add_slots(events)
        answered = await action.run(dispatcher, tracker, domain)
        return events + [e for e in answered if e.get("event") != "followup"]
