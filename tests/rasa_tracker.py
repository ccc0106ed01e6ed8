"""Write conversations into a SQL tracker store the way Rasa 3.6 does, without Rasa.

The rows copy what Rasa 3.6.x wrote for real REST conversations with this project's model
(captured from a running stack): the `events` columns (type_name, intent_name, action_name,
timestamp) and the JSON in `data`: user events with `parse_data` (intent, entities incl. the
pipeline's `language` entity, intent_ranking, text_tokens), `input_channel` and metadata;
bot events with `metadata.utter_action` and `data.buttons`; `slot`, `active_loop`,
`session_started`, `pause` and `action` events.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot import tracker_events as te

MODEL_ID = "294fde7b8e40415787d0165a06cbb7a3"


class TrackerWriter:
    """Appends events to the tracker store; one writer per store, many conversations."""

    def __init__(self, engine: Engine, start: float = 1_795_000_000.0) -> None:
        self.engine = engine
        self.clock = start
        te.create_table(engine)

    def _insert(self, sender: str, data: dict[str, Any], intent: str | None = None,
                action: str | None = None) -> int:
        self.clock += 0.5
        data = {"event": data["event"], "timestamp": self.clock, **data}
        with self.engine.begin() as conn:
            result = conn.execute(te.events_table.insert().values(
                sender_id=sender, type_name=data["event"], timestamp=self.clock,
                intent_name=intent, action_name=action, data=json.dumps(data)))
        return int(result.inserted_primary_key[0])

    def action(self, sender: str, name: str, policy: str | None = "RulePolicy") -> int:
        return self._insert(sender, {"event": "action", "name": name, "policy": policy, "confidence": 1.0,
                                     "action_text": None, "hide_rule_turn": False}, action=name)

    def slot(self, sender: str, name: str, value: Any) -> int:
        return self._insert(sender, {"event": "slot", "name": name, "value": value})

    def start(self, sender: str, customer_id: int | None = None, name: str | None = None,
              language: str | None = None) -> None:
        """What action_session_start writes: the session, and the profile's slots if known."""
        self.slot(sender, "session_started_metadata", {"input_channel": "rest"})
        self.action(sender, "action_session_start", policy=None)
        self._insert(sender, {"event": "session_started"})
        if customer_id is not None:
            self.slot(sender, "customer_id", customer_id)
            self.slot(sender, "customer_name", name)
        if language:
            self.slot(sender, "language", language)
        self.action(sender, "action_listen", policy=None)

    def user(self, sender: str, text: str, intent: str, confidence: float,
             ranking: list[tuple[str, float]] | None = None, language: str | None = None,
             metadata: dict[str, Any] | None = None) -> int:
        """A user message as the NLU pipeline parsed it. For `nlu_fallback`, `confidence`
        is the FallbackClassifier's threshold and `ranking` holds the model's own guesses."""
        ranking = ranking if ranking is not None else [(intent, confidence)]
        message_id = uuid.uuid4().hex
        entities = []
        if language:
            entities.append({"entity": "language", "start": 0, "end": len(text), "confidence_entity": 0.99,
                             "value": language, "extractor": "LanguageDetector"})
        meta = {"input_channel": "rest", "model_id": MODEL_ID, "assistant_id": "fjordbil-assistant",
                **(metadata or {})}
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": entities, "text": text,
                 "message_id": message_id, "metadata": meta,
                 "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}
        if not text.startswith("/"):
            parse["text_tokens"] = [[0, len(text)]]
        event_id = self._insert(sender, {"event": "user", "metadata": meta, "text": text, "parse_data": parse,
                                         "input_channel": "rest", "message_id": message_id}, intent=intent)
        if language:
            self.slot(sender, "language", language)
        self._insert(sender, {"event": "user_featurization", "use_text_for_featurization": False})
        return event_id

    def bot(self, sender: str, text: str, utter_action: str, buttons: list[dict[str, str]] | None = None) -> int:
        return self._insert(sender, {
            "event": "bot", "text": text,
            "data": {"elements": None, "quick_replies": None, "buttons": buttons, "attachment": None,
                     "image": None, "custom": None},
            "metadata": {"utter_action": utter_action, "template": utter_action, "model_id": MODEL_ID,
                         "assistant_id": "fjordbil-assistant"}})

    def turn(self, sender: str, action: str, text: str, utter_action: str,
             buttons: list[dict[str, str]] | None = None) -> None:
        """The bot's answer: its action, its message, then listening again."""
        self.action(sender, action)
        self.bot(sender, text, utter_action, buttons)
        self.action(sender, "action_listen")

    def active_loop(self, sender: str, name: str | None) -> int:
        return self._insert(sender, {"event": "active_loop", "name": name})

    def handoff(self, sender: str, via: str = "action_handoff") -> None:
        """A person takes over: the action, the wait message, and Rasa's pause event."""
        self.action(sender, via)
        self.bot(sender, "Jeg setter deg over til en av mine kolleger.", "utter_handoff_wait")
        self._insert(sender, {"event": "pause"})

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(te.events_table)).scalar_one())
