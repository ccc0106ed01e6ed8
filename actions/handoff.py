"""Handing the conversation to a person: a ticket with priority and a summary for the agent,
the expected wait (or when we open) in the customer's language, and the bot paused."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, channel, conversation_key, customer_id, language, latest_intent, now
from bot import booking, i18n
from bot.db.session import session_scope
from bot.handoff.tickets import expected_wait, open_ticket

SUMMARY_SLOTS = ("service_types", "booking_time", "customer_name", "strategy", "language")


def summary(tracker: Tracker) -> dict[str, Any]:
    """What the agent needs first: the intents seen, what was being done, the open booking."""
    intents = [
        ((e.get("parse_data") or {}).get("intent") or {}).get("name")
        for e in tracker.events if e.get("event") == "user"
    ]
    seen = Counter(i for i in intents if i and not i.startswith("EXTERNAL_"))
    slots = {name: tracker.get_slot(name) for name in SUMMARY_SLOTS if tracker.get_slot(name) not in (None, [], "")}
    return {"intents": dict(seen.most_common(8)), "last_intents": [i for i in intents if i][-5:], "slots": slots}


def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    """Open (or find) the ticket, tell the customer what happens next, pause the bot."""
    lang, cid = language(tracker), customer_id(tracker)
    details = summary(tracker)
    with session_scope() as session:
        if cid is not None:
            upcoming = booking.active_bookings(session, cid, now())
            if upcoming:
                details["booking"] = {"reference": upcoming[0].reference, "status": upcoming[0].status,
                                      "start": upcoming[0].start.isoformat()}
        ticket, _ = open_ticket(
            session, conversation_key(tracker), reason, lang, now(), cid,
            sender_id=tracker.sender_id, channel=channel(tracker), summary=details,
        )
        wait = expected_wait(session, ticket, now())
    if reason == "complain":
        dispatcher.utter_message(response="utter_complaint_received")
    if wait.open_now:
        dispatcher.utter_message(response="utter_handoff_wait", position=wait.position, minutes=wait.minutes)
    else:
        opens = i18n.format_datetime(wait.opens_at, lang) if wait.opens_at else "–"
        dispatcher.utter_message(response="utter_handoff_closed", opens=opens)
    return [ConversationPaused()]


class ActionHandoff(SafeAction):
    def name(self) -> str:
        return "action_handoff"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = latest_intent(tracker)
        reason = {"complain": "complain", "nlu_fallback": "fallback"}.get(intent or "", "request_human")
        return hand_over(dispatcher, tracker, reason)


class ActionHandback(SafeAction):
    """The agent handed the conversation back: the bot greets the customer again, by name."""

    def name(self) -> str:
        return "action_handback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        name = tracker.get_slot("customer_name")
        if name:
            dispatcher.utter_message(response="utter_handback_known", name=name)
        else:
            dispatcher.utter_message(response="utter_handback")
        return []
