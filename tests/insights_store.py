"""Build a Rasa 3.6 SQL tracker store by hand: the events as Rasa writes them (shape copied
from a real run of the stack: `session_started_metadata` slot, `action_session_start`,
`session_started`, `action_listen`, user events with `parse_data` and `input_channel`,
`language` slots from the language detector, `action_handoff` followed by a `pause`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tracker_events import create_table, events_table

OSLO = ZoneInfo("Europe/Oslo")
META = {"model_id": "294fde7b8e40415787d0165a06cbb7a3", "assistant_id": "fjordbil-assistant"}


def stamp(local: datetime) -> float:
    return local.replace(tzinfo=OSLO).timestamp()


class TrackerStore:
    def __init__(self, engine: Engine) -> None:
        create_table(engine)
        self.engine = engine
        self.rows: list[dict[str, Any]] = []

    def _add(self, sender: str, kind: str, at: float, data: dict[str, Any], intent: str | None = None,
             action: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        body = {"event": kind, "timestamp": at, "metadata": {**(metadata or {}), **META}, **data}
        self.rows.append({"sender_id": sender, "type_name": kind, "timestamp": at, "intent_name": intent,
                          "action_name": action, "data": json.dumps(body)})

    def action(self, sender: str, at: float, name: str, policy: str | None = "RulePolicy") -> None:
        self._add(sender, "action", at, {"name": name, "policy": policy, "confidence": 1.0, "action_text": None,
                                         "hide_rule_turn": False}, action=name)

    def session(self, sender: str, at: float, channel: str = "rest") -> None:
        self._add(sender, "slot", at, {"name": "session_started_metadata", "value": {"input_channel": channel}},
                  action="session_started_metadata")
        self.action(sender, at + 0.1, "action_session_start", None)
        self._add(sender, "session_started", at + 0.1, {})
        self.action(sender, at + 0.1, "action_listen", None)

    def user(self, sender: str, at: float, text: str, intent: str, channel: str = "rest",
             language: str | None = None, confidence: float = 0.97) -> None:
        entities = [{"entity": "language", "value": language, "start": 0, "end": len(text), "confidence": 0.9,
                     "extractor": "LanguageDetector"}] if language else []
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": entities, "text": text,
                 "message_id": "b9b7f36d3d4748808353fde0c2250a25", "metadata": {"input_channel": channel},
                 "intent_ranking": [{"name": intent, "confidence": confidence}]}
        data = {"text": text, "parse_data": parse, "input_channel": channel,
                "message_id": "b9b7f36d3d4748808353fde0c2250a25"}
        self._add(sender, "user", at, data, intent=intent, metadata={"input_channel": channel})
        if language:
            self._add(sender, "slot", at + 0.01, {"name": "language", "value": language}, action="language")
        self._add(sender, "user_featurization", at + 0.02, {"use_text_for_featurization": False})

    def bot(self, sender: str, at: float, text: str, utter: str = "utter_greet") -> None:
        self._add(sender, "bot", at, {"text": text, "data": {"buttons": None, "custom": None}},
                  metadata={"utter_action": utter})

    def turn(self, sender: str, at: float, text: str, intent: str, reply_action: str, channel: str = "rest",
             language: str | None = None) -> None:
        """A customer message and the bot's answer, as Rasa logs one turn."""
        self.user(sender, at, text, intent, channel, language)
        self.action(sender, at + 0.1, reply_action)
        self.bot(sender, at + 0.1, "…")
        self.action(sender, at + 0.2, "action_listen")

    def handoff(self, sender: str, at: float) -> None:
        self.action(sender, at, "action_handoff")
        self.bot(sender, at, "Jeg setter deg over til en kollega.", "utter_handoff_wait")
        self._add(sender, "pause", at + 0.01, {})

    def save(self) -> None:
        with self.engine.begin() as conn:
            for start in range(0, len(self.rows), 5000):
                conn.execute(sa.insert(events_table), self.rows[start:start + 5000])
        self.rows.clear()
