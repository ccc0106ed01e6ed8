"""What every action needs: the customer's language, channel and identity, a database
session per call, and a safety net so a failure never leaves the customer in silence."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot import booking, i18n
from bot.conversation_ids import split
from bot.db.session import session_scope
from bot.profile import identity_customer, sender_key

log = logging.getLogger(__name__)


def language(tracker: Tracker) -> str:
    return i18n.lang_or_default(tracker.get_slot("language"))


def channel(tracker: Tracker) -> str:
    """The conversation's channel: the one its id carries (set by our connectors); for a legacy id,
    the channel of the latest message, or at session start the first message's metadata."""
    prefixed, _ = split(tracker.sender_id)
    if prefixed:
        return prefixed
    latest = tracker.get_latest_input_channel()
    if latest:
        return latest
    metadata = tracker.get_slot("session_started_metadata") or {}
    found = metadata.get("input_channel") if isinstance(metadata, dict) else None
    return str(found) if found else "rest"


def channel_sender(tracker: Tracker) -> tuple[str, str]:
    """(channel, the sender's id on it): whom `channel_identities` must link to the customer."""
    return channel(tracker), split(tracker.sender_id)[1]


def conversation_key(tracker: Tracker) -> str:
    return sender_key(*channel_sender(tracker))


def claimed_customer_id(tracker: Tracker) -> int | None:
    """The `customer_id` slot as it is: what the conversation says, not yet checked."""
    value = tracker.get_slot("customer_id")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def customer_id(tracker: Tracker) -> int | None:
    """The customer of this conversation: the `customer_id` slot, but only while the sender id on
    the conversation's channel belongs to that customer (verified by a code, or known), and the
    latest message came in through that channel.

    A slot is no proof: a slot set by a payload, or a message from another channel, reads as a
    guest. Checked once per action call (the tracker keeps the answer).
    """
    claimed = claimed_customer_id(tracker)
    if claimed is None:
        return None
    key = (*channel_sender(tracker), claimed)
    checked: dict[tuple[str, str, int], bool] = tracker.__dict__.setdefault("_identity_checked", {})
    if key not in checked:
        latest = tracker.get_latest_input_channel()
        if latest and latest != key[0]:  # a message that came in through another channel
            checked[key] = False
        else:
            with session_scope() as session:
                checked[key] = identity_customer(session, key[0], key[1]) == claimed
        if not checked[key]:
            log.warning("customer_id slot does not belong to this conversation's sender on %s: read as a guest",
                        key[0])
    return claimed if checked[key] else None


def now() -> datetime:
    return booking.now_local()


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    return [
        str(e.get("value"))
        for e in (tracker.latest_message or {}).get("entities", [])
        if e.get("entity") == entity and e.get("value") is not None
    ]


def actions_this_turn(tracker: Tracker) -> list[str]:
    """Names of the actions run since the customer's latest message (action_listen excluded)."""
    names: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") not in (None, "action_listen"):
            names.append(str(event.get("name")))
    return list(reversed(names))


def find_action(name: str) -> SafeAction | None:
    """A new instance of the SafeAction called `name`, from any module of this package."""
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    package = __name__.rsplit(".", 1)[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if module.name != "server":   # the entry point, not actions
            importlib.import_module(f"{package}.{module.name}")
    pending = list(SafeAction.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if getattr(cls, "__abstractmethods__", None):
            continue
        instance = cls()
        if instance.name() == name:
            return instance
    return None


class SafeAction(Action, ABC):
    """An action whose failures (database down, a bug) end in an apology and, when the
    ticket can be opened, a person taking over; never in silence."""

    hand_over_on_error = True
    # An action the policies predict a second time in one turn says nothing the second time:
    # never the same message twice in one reply (the loop guard policy then ends the turn).
    may_repeat_in_turn = False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not self.may_repeat_in_turn and self.name() in actions_this_turn(tracker):
            log.warning("action %s predicted twice in one turn: not run again", self.name())
            return []
        try:
            return await self.act(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - the customer must always get an answer
            log.exception("action %s failed", self.name())
            dispatcher.utter_message(response="utter_technical_problem")
            if not self.hand_over_on_error:
                return []
            from actions.handoff import hand_over  # noqa: PLC0415 - handoff builds on this module

            try:
                return hand_over(dispatcher, tracker, "error")
            except Exception:  # noqa: BLE001 - the database itself is down: the apology stands
                log.warning("could not open a ticket after the failure of %s", self.name())
                return []

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The action's work; exceptions are turned into an apology by `run`."""
