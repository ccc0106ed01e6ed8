"""The customer's privacy rights in chat: see what we store (with the way to a JSON copy), and
erase it all after a yes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, customer_id, language
from actions.identity import ask_identity_first
from bot import i18n, tracker_events
from bot.db.session import session_scope
from bot.privacy import collect, erase_customer, summary_text

log = logging.getLogger(__name__)

# Rasa stores this turn's events after the action returns, counting those already stored
# (SQLTrackerStore._additional_events): the conversation is deleted only after that. Later
# attempts catch a slow save; the durable `pending_erasures` row catches a crash.
TRACKER_DELETE_AFTER_S = (3.0, 15.0, 45.0)
_background: set[asyncio.Task[None]] = set()


async def _delete_conversation_later(sender_id: str) -> None:
    waited = 0.0
    for delay in TRACKER_DELETE_AFTER_S:
        await asyncio.sleep(delay - waited)
        waited = delay
        try:
            deleted = await asyncio.to_thread(
                tracker_events.delete_conversations, tracker_events.tracker_engine(), [sender_id]
            )
            log.info("erased conversation: %d tracker events deleted", deleted)
        except Exception:  # noqa: BLE001 - the pending_erasures row remains for the scheduler
            log.exception("could not delete an erased conversation yet")


def delete_conversation_after_turn(sender_id: str) -> None:
    task = asyncio.get_running_loop().create_task(_delete_conversation_later(sender_id))
    _background.add(task)
    task.add_done_callback(_background.discard)


class ActionShowMyData(SafeAction):
    def name(self) -> str:
        return "action_show_my_data"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        with session_scope() as session:
            data = collect(session, cid, tracker_events.tracker_engine())
        dispatcher.utter_message(text=summary_text(data, language(tracker)))
        dispatcher.utter_message(response="utter_data_export_offer")
        return []


class ActionDeleteMyData(SafeAction):
    """Asks first; the yes or no is answered by `answer_erasure` (through action_yes_no)."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        lang = language(tracker)
        yes, no = i18n.yes_no(True, lang).capitalize(), i18n.yes_no(False, lang).capitalize()
        dispatcher.utter_message(
            response="utter_confirm_delete_my_data",
            buttons=[{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}],
        )
        return [SlotSet("pending_erasure", str(cid))]


def answer_erasure(dispatcher: CollectingDispatcher, tracker: Tracker, yes: bool) -> list[EventType] | None:
    """The answer to "delete everything?", or None when that was not the question."""
    pending = tracker.get_slot("pending_erasure")
    cid = customer_id(tracker)
    if not pending or cid is None or str(cid) != str(pending):
        return None
    if not yes:
        dispatcher.utter_message(response="utter_data_kept")
        return [SlotSet("pending_erasure", None)]
    report = erase_customer(cid, tracker_events.tracker_engine(), current_sender=tracker.sender_id)
    delete_conversation_after_turn(tracker.sender_id)
    dispatcher.utter_message(response="utter_data_erased", removed=report.removed)
    return [
        SlotSet("pending_erasure", None), SlotSet("customer_id", None), SlotSet("customer_name", None),
        SlotSet("strategy", None),
    ]
