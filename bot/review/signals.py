"""Which user messages of a conversation a trainer should look at, and why.

Works on the events of one conversation as Rasa 3.6 writes them to its SQL tracker store
(`bot.tracker_events`); no database and no Rasa here. A message is a candidate for one or
more reasons, each with the id of the event that is the evidence for it, so an incremental
pull can tell reasons it has already seen (evidence before its cursor) from new ones:

* `fallback` – the FallbackClassifier turned it into `nlu_fallback` (the user event's
  `parse_data.intent.name`; the model's own guess stays in `intent_ranking`), or the bot
  answered it with `action_fallback` (the "not understood" rule, e.g. a lone `inform`).
  Evidence: the user event, or the `action_fallback` event.
* `low_confidence` – the model's top intent (the first non-`nlu_fallback` entry of the
  ranking) scored below the threshold. Evidence: the user event.
* `handoff` – a person took over (`action_handoff`, or the `pause` that `action_fallback`
  writes when it hands over after two misunderstandings in a row). Marked: the last
  message before the request for a person that was not small talk, yes/no or a button tap
  (SMALL_TALK; at most LOOK_BACK messages back in the session) – what the bot could not
  help with; and the request itself when the bot had not understood it (fallback or low
  confidence). Evidence: the handoff event.
* `corrected` – the customer said no right after the bot *answered* (rather than asked):
  a typed `deny` ("no, that's not what I meant", "nei, det var ikke det jeg mente") when
  no form is active and the bot's last message before it had no buttons and no question
  mark. The domain has no separate correction intent: `deny` is also the answer to the
  bot's yes/no questions, which all end in "?" or offer /affirm /deny buttons, and to form
  questions, so those are not corrections. Marked: the message the bot had answered.
  Evidence: the `deny` event.

Never candidates: button taps and other `/intent` payloads, `EXTERNAL_` intents (sent by
the scheduler and the desk, not typed), empty messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.lang import SUPPORTED
from bot.tracker_events import Event

REASONS = ("fallback", "low_confidence", "handoff", "corrected")
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_fallback"
HANDOFF_ACTION = "action_handoff"
CORRECTION_INTENT = "deny"
# A message before a request for a person that says nothing about what went wrong.
SMALL_TALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"})
LOOK_BACK = 3


@dataclass
class Candidate:
    """One user message and the evidence (event id per reason) for reviewing it."""

    event: Event
    predicted_intent: str | None
    confidence: float | None
    language: str | None  # from the message itself (the pipeline's `language` entity, metadata)
    conversation_language: str | None  # the `language` slot when the message was sent
    evidence: dict[str, int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.event.text

    def mark(self, reason: str, event_id: int) -> None:
        self.evidence.setdefault(reason, event_id)

    def reasons(self, after_id: int = 0) -> list[str]:
        """Reasons whose evidence came after `after_id`, in REASONS order."""
        return [r for r in REASONS if r in self.evidence and self.evidence[r] > after_id]


def parse_data(event: Event) -> dict[str, Any]:
    value = event.data.get("parse_data")
    return value if isinstance(value, dict) else {}


def intent_name(event: Event) -> str | None:
    intent = parse_data(event).get("intent") or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    return str(name) if name else event.intent_name


def prediction(event: Event) -> tuple[str | None, float | None]:
    """The model's own top intent and its confidence, also under an `nlu_fallback`."""
    data = parse_data(event)
    for entry in data.get("intent_ranking") or []:
        if isinstance(entry, dict) and entry.get("name") and entry.get("name") != FALLBACK_INTENT:
            return str(entry["name"]), _float(entry.get("confidence"))
    intent = data.get("intent") or {}
    if isinstance(intent, dict) and intent.get("name") and intent.get("name") != FALLBACK_INTENT:
        return str(intent["name"]), _float(intent.get("confidence"))
    return None, None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def is_reviewable(event: Event) -> bool:
    """A message the customer typed: not a button payload, not sent by our own systems."""
    text = event.text.strip()
    if event.type_name != "user" or not text or text.startswith("/"):
        return False
    return not (intent_name(event) or "").startswith("EXTERNAL_")


def message_language(event: Event) -> str | None:
    """The language the pipeline (connectors.language_detector) or the channel gave it."""
    for entity in parse_data(event).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == "language" and entity.get("value") in SUPPORTED:
            return str(entity["value"])
    for source in (event.metadata, parse_data(event).get("metadata") or {}):
        if isinstance(source, dict):
            for key in ("language", "lang"):
                if source.get(key) in SUPPORTED:
                    return str(source[key])
    return None


def _asked_a_question(bot: Event | None) -> bool:
    """Whether the bot's message invites a yes or no: buttons, or a question mark."""
    if bot is None:
        return True  # nothing was answered, so there is nothing to correct
    data = bot.data.get("data") if isinstance(bot.data.get("data"), dict) else {}
    return bool(data.get("buttons") or data.get("quick_replies")) or "?" in bot.text


class _Walk:
    """State while reading one conversation in order; reset at each session start."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.found: dict[int, Candidate] = {}
        self.language: str | None = None
        self.reset()

    def reset(self) -> None:
        self.users: list[Event] = []  # this session's user messages
        self.last_bot: Event | None = None
        self.active_loop: str | None = None
        self.handed_over = False

    def candidate(self, event: Event | None) -> Candidate | None:
        if event is None or not is_reviewable(event):
            return None
        if event.id not in self.found:
            intent, confidence = prediction(event)
            self.found[event.id] = Candidate(event, intent, confidence, message_language(event), self.language)
        return self.found[event.id]

    @property
    def last_user(self) -> Event | None:
        return self.users[-1] if self.users else None

    def user(self, event: Event) -> None:
        current = self.candidate(event)
        if current is not None:
            if intent_name(event) == FALLBACK_INTENT:
                current.mark("fallback", event.id)
            if current.confidence is not None and current.confidence < self.threshold:
                current.mark("low_confidence", event.id)
            if intent_name(event) == CORRECTION_INTENT and self.active_loop is None \
                    and not _asked_a_question(self.last_bot):
                answered = self.candidate(self.last_user)
                if answered is not None:
                    answered.mark("corrected", event.id)
        self.users.append(event)
        self.last_bot, self.handed_over = None, False

    def handoff(self, event: Event) -> None:
        if self.handed_over:
            return  # action_handoff and its pause are one handoff
        self.handed_over = True
        request = self.candidate(self.last_user)
        if request is not None and ({"fallback", "low_confidence"} & set(request.evidence)):
            request.mark("handoff", event.id)
        for earlier in reversed(self.users[-1 - LOOK_BACK:-1]):
            before = self.candidate(earlier)
            if before is not None and intent_name(earlier) not in SMALL_TALK:
                before.mark("handoff", event.id)
                return

    def step(self, event: Event) -> None:
        kind = event.type_name
        if kind == "session_started":
            self.reset()
        elif kind == "user":
            self.user(event)
        elif kind == "bot":
            self.last_bot = event
        elif kind == "active_loop":
            self.active_loop = event.data.get("name") or None
        elif kind == "slot" and event.data.get("name") == "language":
            value = event.data.get("value")
            self.language = value if value in SUPPORTED else self.language
        elif kind == "pause":
            self.handoff(event)
        elif kind == "action":
            name = event.data.get("name") or event.action_name
            if name == HANDOFF_ACTION:
                self.handoff(event)
            elif name == FALLBACK_ACTION:
                answered = self.candidate(self.last_user)
                if answered is not None:
                    answered.mark("fallback", event.id)


def candidates(events: Iterable[Event], threshold: float) -> list[Candidate]:
    """The user messages of one conversation with at least one reason, in order."""
    walk = _Walk(threshold)
    for event in events:
        walk.step(event)
    return [c for c in sorted(walk.found.values(), key=lambda c: c.event.id) if c.evidence]


def customer_ids(events: Iterable[Event]) -> set[int]:
    """Every customer the conversation was linked to (`customer_id` slot)."""
    found: set[int] = set()
    for event in events:
        if event.type_name == "slot" and event.data.get("name") == "customer_id":
            try:
                found.add(int(event.data.get("value")))
            except (TypeError, ValueError):
                continue
    return found


def slot_names(events: Iterable[Event]) -> set[str]:
    """Names the conversation itself knows (`customer_name` slot)."""
    return {str(e.data["value"]) for e in events
            if e.type_name == "slot" and e.data.get("name") == "customer_name" and e.data.get("value")}
