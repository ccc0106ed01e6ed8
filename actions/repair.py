"""Conversation repair for every form: the customer leads, off the happy path too.

One layer, shared by the booking, reschedule, cancel and identification forms, with the
patterns Rasa Pro's CALM ships (names from `bot.repair`):
- cancel: a stop message ("avbryt", "never mind", "cancel that") at any question ends the form
  and drops the draft; the form's submit action says so in one sentence (`say_stopped`);
- digression: a question the bot can answer is answered inside the form, then the open
  question is asked again once, in short form (`REASK`);
- later: a request that needs a conversation of its own is promised for after the form;
- off-topic / not understood: one polite sentence and the question again; the second time in
  a row, buttons to stop or to get a person;
- skip: "vet ikke" / "doesn't matter" to an optional question takes its default and says so;
- handoff: a request for a person or a complaint leaves the turn to the handoff rules.
Corrections of the booking (another day, other jobs, a loaner after all) live with the booking
form's extraction (`actions/booking.py`), which this layer lets through.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, find_action, latest_intent, latest_text
from bot import repair
from bot.lang import is_gibberish

log = logging.getLogger(__name__)

FORM_STOPPED = "form_stopped"     # the name of the form the customer stopped
REASK = "repair_reask"            # the open question is asked again: in short form
MISSES = "repair_misses"          # off-topic or not understood in a row inside a form
OFF_TOPIC_ANSWER_WORDS = 5         # an off-topic guess this short may still be the answer
DIGRESSION_MESSAGES = 2           # a digression's answer inside a form; then the open question

# The answer of a digression, by intent: an action (run inline) or a response.
_ANSWERS = {
    "ask_price": "action_price", "ask_opening_hours": "action_opening_hours", "ask_location": "action_location",
    "ask_invoice": "action_invoice", "booking_status": "action_booking_status",
    "ask_recommendation": "action_recommend", "show_my_data": "action_show_my_data",
    "ask_suggestion_reason": "action_explain_suggestion",
    "bot_challenge": "utter_iamabot", "thank": "utter_you_are_welcome", "greet": None,
}


# Set by a form when the customer's answer was taken in, though not as the requested slot itself.
_ANSWER_SLOTS = frozenset({"time_wish", "booking_confirmed", "cancel_confirmed", "loaner_car", "suggestion_answer"})


def _answered(events: list[EventType], slots: list[str]) -> bool:
    """Whether the form took anything of the message as an answer (a value, or a validation verdict)."""
    names = set(slots) | _ANSWER_SLOTS
    ends_form = any(e.get("event") == "slot" and e.get("name") == "requested_slot" and e.get("value") is None
                    for e in events)
    return ends_form or any(e.get("event") == "slot" and e.get("name") in names for e in events)


class ConversationRepair:
    """Mixin for a form's FormValidationAction (listed first among its bases)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        form = self.form_name()  # type: ignore[attr-defined]
        pattern = repair.classify(latest_intent(tracker), form) if requested else None
        if requested and is_gibberish(latest_text(tracker)):
            pattern = repair.NOT_UNDERSTOOD   # "jhgjhg" is no greeting, whatever the model made of it
        # "kl 14" read as not understood is still a time; the form takes it. Read as off topic, only a
        # short one is ("hva med neste mandag?"), not "vad blir det för väder imorgon".
        short = len(latest_text(tracker).split()) <= OFF_TOPIC_ANSWER_WORDS
        if (pattern == repair.NOT_UNDERSTOOD or pattern == repair.OFF_TOPIC and short) \
                and self.answers_question(tracker, requested):
            pattern = None
        if pattern is not None and self.overrides_pattern(tracker, pattern):
            pattern = None   # the form reads it as a correction
        if pattern is None:
            slots = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)  # type: ignore[attr-defined]
            events = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
            if requested and not _answered(events, [*slots, requested]) and not dispatcher.messages:
                return events + self.not_understood(dispatcher, tracker, requested)
            return [*events, SlotSet(REASK, False), SlotSet(MISSES, None)]
        if pattern == repair.HANDOFF:
            return []   # the form steps aside: the handoff rules answer
        if pattern == repair.CANCEL:
            return [SlotSet(FORM_STOPPED, form), SlotSet("requested_slot", None)]
        keep = [SlotSet("requested_slot", requested)]   # ask the same question, not the domain's next
        if pattern == repair.SKIP:
            events = self.skip(dispatcher, tracker, requested)
            # A skipped question is answered: the form asks its next one (no requested_slot kept).
            return events if any(e.get("name") == requested for e in events) else events + keep
        if pattern == repair.DIGRESSION:
            return await answer_inline(dispatcher, tracker, domain) + [SlotSet(REASK, True), *keep]
        if pattern == repair.LATER:
            dispatcher.utter_message(response="utter_repair_later")
            return [SlotSet(REASK, True), *keep]
        return self.not_understood(dispatcher, tracker, requested, off_topic=pattern == repair.OFF_TOPIC)

    def answers_question(self, tracker: Tracker, requested: str) -> bool:
        """Whether the message can be an answer to `requested` whatever the NLU made of it
        (forms override: a time, a phone number, a code)."""
        return False

    def overrides_pattern(self, tracker: Tracker, pattern: str) -> bool:
        """Whether the form reads this message its own way despite the pattern (forms override)."""
        return False

    def not_understood(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str,
                       off_topic: bool = False) -> list[EventType]:
        """One polite sentence, then the question again; the second time in a row, a way out."""
        misses = int(tracker.get_slot(MISSES) or 0) + 1
        if misses >= 2:
            dispatcher.utter_message(response="utter_repair_offer_exit")
        else:
            dispatcher.utter_message(response="utter_repair_off_topic" if off_topic else "utter_repair_not_understood")
        return [SlotSet(MISSES, float(misses)), SlotSet(REASK, True), SlotSet("requested_slot", requested)]

    def skip(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str) -> list[EventType]:
        """The default of an optional question (forms override `skip_values`), or why it is needed."""
        if requested in repair.OPTIONAL_SLOTS:
            values = self.skip_values(dispatcher, tracker, requested)
            if values is not None:
                return [*(SlotSet(k, v) for k, v in values.items()), SlotSet(REASK, False), SlotSet(MISSES, None)]
        dispatcher.utter_message(response="utter_skip_required")
        return [SlotSet(REASK, True)]

    def skip_values(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str) -> dict[str, Any] | None:
        """Slot values that skipping `requested` means (the form says which default it took)."""
        return None


async def answer_inline(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    """Answer the digression of the latest message as its own action would, without leaving the
    form: follow-ups (asking who the customer is) are dropped and said instead."""
    answer = _ANSWERS.get(latest_intent(tracker) or "")
    if answer is None:
        return []
    if answer.startswith("utter_"):
        dispatcher.utter_message(response=answer)
        return []
    action = find_action(answer)
    if action is None:
        log.warning("no action %s for a digression", answer)
        return []
    before = len(dispatcher.messages)
    events = await action.run(dispatcher, tracker, domain)
    # Inside a form the answer is short: at most DIGRESSION_MESSAGES messages before the question again.
    del dispatcher.messages[before + DIGRESSION_MESSAGES:]
    needs_identity = any(e.get("event") == "followup" for e in events)
    kept = [e for e in events if e.get("event") != "followup" and e.get("name") != "pending_action"]
    if needs_identity:
        dispatcher.utter_message(response="utter_repair_needs_identity")
        if tracker.active_loop_name != "identify_form":   # there, pending_action is the first request
            kept.append(SlotSet("pending_action", answer))   # answered once the code is right
    return kept


def yes_or_no(intent: str | None, correcting: bool, slot: str, text: str = "") -> dict[str, Any]:
    """A yes or no answer to a yes/no question; nothing for a "no" (or "yes") that corrects the
    booking instead ("nei, torsdag passer bedre": the new day is the answer), and nothing for
    keyboard mashing, whatever the model made of it."""
    if intent not in ("affirm", "deny") or correcting or is_gibberish(text):
        return {}
    return {slot: intent == "affirm"}


def stopped_form(tracker: Tracker) -> str | None:
    return tracker.get_slot(FORM_STOPPED)


def say_stopped(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The one sentence after a stop; the submit action resets the form's own slots."""
    form = stopped_form(tracker) or "nothing"
    dispatcher.utter_message(response=f"utter_stopped_{form}")
    return [SlotSet(FORM_STOPPED, None), SlotSet(REASK, None), SlotSet(MISSES, None)]


def say_declined(dispatcher: CollectingDispatcher, tracker: Tracker, form: str) -> None:
    """A customer who would not identify ("nei", "skit samma" at the phone or code question)
    stopped the form: the same one sentence as any stop (too many wrong codes are said already)."""
    if tracker.get_slot("otp_code") == "declined":
        dispatcher.utter_message(response=f"utter_stopped_{form}")


def reasking(tracker: Tracker) -> bool:
    return bool(tracker.get_slot(REASK))


def ask(dispatcher: CollectingDispatcher, tracker: Tracker, response: str, **kwargs: Any) -> None:
    """Ask with `response`, or with its `_short` form when the question is asked again."""
    dispatcher.utter_message(response=f"{response}_short" if reasking(tracker) else response, **kwargs)


class ActionStop(SafeAction):
    """A stop message outside a form: drop whatever question is open (erasure, a preference,
    a proactive proposal) and listen."""

    PENDING = ("pending_erasure", "pending_preference", "pending_proactive", "pending_action")

    def name(self) -> str:
        return "action_stop"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_stopped_nothing")
        return [SlotSet(slot, None) for slot in self.PENDING if tracker.get_slot(slot) is not None]


class ActionAskServiceTypes(SafeAction):
    def name(self) -> str:
        return "action_ask_service_types"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ask(dispatcher, tracker, "utter_ask_service_types")
        return []


class ActionAskContact(SafeAction):
    def name(self) -> str:
        return "action_ask_contact"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ask(dispatcher, tracker, "utter_ask_contact")
        return []


class ActionAskOtpCode(SafeAction):
    def name(self) -> str:
        return "action_ask_otp_code"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ask(dispatcher, tracker, "utter_ask_otp_code")
        return []

