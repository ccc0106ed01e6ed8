"""Real rasa_sdk trackers and dispatchers for action tests (no server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN: dict[str, Any] = yaml.safe_load((Path(__file__).parent.parent / "domain.yml").read_text())


def tracker(
    sender: str = "demo-respond",
    text: str = "",
    intent: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    channel: str = "rest",
    active_loop: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker whose latest event is this user message, as Rasa sends it to actions."""
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": entities or []}
    user = {"event": "user", "text": text, "parse_data": parse, "input_channel": channel}
    return Tracker(
        sender_id=sender,
        slots={"language": None, **(slots or {})},
        latest_message=parse,
        events=[*(history or []), user],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def entity(name: str, value: str) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 1}


def user_event(intent: str, text: str = "x") -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


async def run(action: Any, trk: Tracker) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, trk, DOMAIN)
    return events, dispatcher


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") for m in dispatcher.messages]


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
