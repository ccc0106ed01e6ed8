"""Greeting, not understanding, and asking for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, actions_this_turn, entity_values, language, latest_intent, latest_text
from actions.handoff import hand_over
from bot import i18n
from bot.catalog import recognise_services
from bot.db.session import session_scope
from bot.intents import PERSONAL_DATA_INTENTS

FALLBACK_ACTION = "action_fallback"


def misunderstandings_in_a_row(tracker: Tracker) -> int:
    """How many of the latest customer messages in a row the bot could not place: the current
    one, and before it each message that was `nlu_fallback` or answered by the fallback action.
    A phone number or a code answered by a form is understood, whatever its intent."""
    count, answered_by_fallback = 0, False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "action" and event.get("name") == FALLBACK_ACTION:
            answered_by_fallback = True
        elif kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if count and not (intent == "nlu_fallback" or answered_by_fallback):
                break
            count += 1
            answered_by_fallback = False
    return count


def names_a_job(tracker: Tracker) -> bool:
    with session_scope() as session:
        return bool(recognise_services(session, entity_values(tracker, "service_type"), latest_text(tracker)))


def held_back_guess(tracker: Tracker) -> str | None:
    """The guarded intent (personal data, bookings) the fallback classifier held back, when the
    model's own first choice was one with at least the ordinary threshold's confidence."""
    message = tracker.latest_message or {}
    if ((message.get("intent") or {}).get("name")) != "nlu_fallback":
        return None
    ranking = [r for r in message.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    fallback = float((message.get("intent") or {}).get("confidence") or 1.0)  # = the threshold
    top = ranking[0] if ranking else {}
    if top.get("name") in PERSONAL_DATA_INTENTS and float(top.get("confidence") or 0) >= fallback:
        return str(top["name"])
    return None


def clarify_buttons(intent: str, lang: str) -> list[dict[str, str]]:
    yes, no = i18n.yes_no(True, lang).capitalize(), i18n.yes_no(False, lang).capitalize()
    return [{"title": yes, "payload": f"/{intent}"}, {"title": no, "payload": "/stop"}]


class ActionGreet(SafeAction):
    def name(self) -> str:
        return "action_greet"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("customer_name"):
            dispatcher.utter_message(response="utter_greet_known")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


class ActionFallback(SafeAction):
    """Ask to rephrase once; the second time in a row, get a person to follow up.

    Predicted after the bot already answered in this turn (the policies did not know what comes
    next), it says nothing: the answer stands and the loop guard ends the turn. A guess of an
    intent that shows or changes personal data, held back by the fallback classifier, is asked
    back ("Do you mean ...?") instead of being called not understood."""

    def name(self) -> str:
        return FALLBACK_ACTION

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if actions_this_turn(tracker):
            return []
        if latest_intent(tracker) == "inform" and names_a_job(tracker):
            return [FollowupAction("booking_form")]   # "tyre change on monday": a booking, not noise
        guess = held_back_guess(tracker)
        if guess is not None:
            buttons = clarify_buttons(guess, language(tracker))
            dispatcher.utter_message(response=f"utter_clarify_{guess}", buttons=buttons)
            return []
        if misunderstandings_in_a_row(tracker) < 2:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response="utter_offer_human")
        return hand_over(dispatcher, tracker, "fallback")
