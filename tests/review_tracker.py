"""A tracker store with one realistic conversation (events as Rasa 3.6's SQLTrackerStore
writes them), for the review tests: a booking with a form, a message the model did not
understand that carries a name and a phone number, and a hand-over to a person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot import tracker_events as te

SENDER = "webchat-review-1"
BOOKING = "hei, jeg vil bestille dekkskift på tirsdag"
UNCLEAR = "jeg heter Kari Nordmann, ring meg på 912 11 222 om bremsene som hviner"
UNCLEAR_MASKED = "jeg heter <name>, ring meg på <phone> om bremsene som hviner"


def _user(text: str, intent: str, confidence: float, entities: list[dict[str, Any]] | None = None) -> dict:
    return {"event": "user", "text": text, "input_channel": "webchat", "message_id": "m",
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
                           "text": text}, "metadata": {}}


def _action(name: str) -> dict:
    return {"event": "action", "name": name, "policy": "RulePolicy", "confidence": 1.0}


def _slot(name: str, value: Any) -> dict:
    return {"event": "slot", "name": name, "value": value}


CONVERSATION: list[dict[str, Any]] = [
    _action("action_session_start"),
    {"event": "session_started"},
    _action("action_listen"),
    _user(BOOKING, "book_service", 0.97, [
        {"entity": "language", "value": "nb", "start": 0, "end": len(BOOKING), "extractor": "LanguageDetector"},
        {"entity": "service_type", "value": "tyre_change", "start": BOOKING.index("dekkskift"),
         "end": BOOKING.index("dekkskift") + len("dekkskift"), "extractor": "DIETClassifier"}]),
    _slot("language", "nb"),
    _action("booking_form"),
    {"event": "active_loop", "name": "booking_form"},
    _slot("requested_slot", "booking_time"),
    {"event": "bot", "text": "Disse tidene er ledige:", "metadata": {}},
    _action("action_listen"),
    _user("/inform{\"slot_choice\": \"2026-11-24T10:00:00\"}", "inform", 1.0, [
        {"entity": "slot_choice", "value": "2026-11-24T10:00:00", "start": 7, "end": 45}]),
    _action("booking_form"),
    _slot("requested_slot", None),
    {"event": "active_loop", "name": None},
    _action("action_book_service"),
    _slot("customer_name", "Kari Nordmann"),
    _slot("booking_draft", "{\"reference\": \"X\"}"),
    {"event": "bot", "text": "Takk Kari, du er booket.", "metadata": {}},
    _action("action_listen"),
    _user(UNCLEAR, "nlu_fallback", 0.4),
    _action("action_fallback"),
    _action("action_listen"),
    _user("jeg vil snakke med et menneske", "request_human", 0.99),
    _action("action_handoff"),
    {"event": "pause"},
    _user("hallo? er det noen der", "greet", 0.6),
    {"event": "bot", "text": "Hei, det er Per.", "metadata": {"agent": "Per"}},
    {"event": "resume"},
    _user("/EXTERNAL_handback", "EXTERNAL_handback", 1.0),
    _action("action_handback"),
    _action("action_listen"),
]


def make_tracker(path: Path, sender: str = SENDER) -> tuple[str, dict[str, int]]:
    """A SQLite tracker store with CONVERSATION; returns its URL and the event id of UNCLEAR."""
    url = f"sqlite:///{path}"
    engine = te.engine_for(url)
    te.create_table(engine)
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for number, event in enumerate(CONVERSATION):
            kind = event["event"]
            result = conn.execute(te.events_table.insert().values(
                sender_id=sender, type_name=kind, timestamp=1_795_000_000.0 + number,
                intent_name=(event.get("parse_data") or {}).get("intent", {}).get("name"),
                action_name=event.get("name") if kind == "action" else None, data=json.dumps(event)))
            if kind == "user":
                ids[event["text"]] = int(result.inserted_primary_key[0])
    return url, ids


def unclear_event_id(url: str, sender: str = SENDER) -> int:
    engine = te.engine_for(url)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(te.events_table.c.id).where(
            te.events_table.c.sender_id == sender, te.events_table.c.intent_name == "nlu_fallback")).scalar_one())
