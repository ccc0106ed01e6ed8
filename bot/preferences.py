"""Changing how and when a customer wants to be contacted."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.db.models import Customer, Preferences

CHANNELS = ("telegram", "webchat", "sms", "email")
CHANNEL_NAMES = {
    "nb": {"telegram": "Telegram", "webchat": "chat på nettsiden", "sms": "SMS", "email": "e-post"},
    "sv": {"telegram": "Telegram", "webchat": "chatt på webbplatsen", "sms": "sms", "email": "e-post"},
    "en": {"telegram": "Telegram", "webchat": "web chat", "sms": "text message", "email": "e-mail"},
}


def _preferences(session: Session, customer_id: int) -> Preferences:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError("unknown customer")
    if customer.preferences is None:
        customer.preferences = Preferences(language="nb", contact_channels=[], data_sharing="contact")
        session.flush()
    return customer.preferences


def set_preferred_channel(session: Session, customer_id: int, channel: str, now: datetime) -> Preferences:
    """The channel becomes the preferred one and is consented to for contact."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    prefs = _preferences(session, customer_id)
    prefs.preferred_channel = channel
    prefs.contact_channels = list(dict.fromkeys([*(prefs.contact_channels or []), channel]))
    prefs.updated_at = now
    session.flush()
    return prefs


def set_reminders(session: Session, customer_id: int, enabled: bool, now: datetime) -> Preferences:
    prefs = _preferences(session, customer_id)
    prefs.reminders = enabled
    prefs.updated_at = now
    session.flush()
    return prefs


def channel_name(channel: str, lang: str) -> str:
    return CHANNEL_NAMES.get(lang, CHANNEL_NAMES["nb"]).get(channel, channel)


# --- understanding a change in free text --------------------------------------------------
# The NLU model says *that* the customer wants to change a preference (set_preferences) and
# which channel; these word lists say *what* and in which direction, per language.
TOPIC_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "auto_service": {
        "nb": ("automatisk service", "serviceavtale", "automatisk bestilling", "automatiske service"),
        "sv": ("automatisk service", "serviceavtal", "automatisk bokning"),
        "en": ("automatic service", "service agreement", "auto service", "automatic booking"),
    },
    "usage": {
        "nb": ("kjøredata", "telemetri", "kilometerstand", "kjøremønster", "bruksdata", "kjørevane",
               "kjørelengde", "bilens data"),
        "sv": ("kördata", "telemetri", "mätarställning", "körmönster", "användningsdata", "körvanor",
               "körsträcka", "bilens data"),
        "en": ("driving data", "telemetry", "mileage", "driving pattern", "usage data", "driving habit",
               "car's data", "car data"),
    },
    "history": {
        "nb": ("historikk", "tidligere besøk", "verkstedbesøk"),
        "sv": ("historik", "tidigare besök", "verkstadsbesök"),
        "en": ("history", "previous visits", "past visits"),
    },
    "data": {
        "nb": ("data", "informasjon", "opplysning", "samtykke", "personvern"),
        "sv": ("data", "information", "uppgifter", "samtycke"),
        "en": ("data", "information", "consent", "personal details"),
    },
    "reminders": {
        "nb": ("påminn", "varsl", "varsel"),
        "sv": ("påminn", "avisering", "notis", "notifikation"),
        "en": ("remind", "notification", "alert"),
    },
}
OFF_WORDS: dict[str, tuple[str, ...]] = {
    "nb": ("skru av", "slå av", "skru dem av", "slå dem av", "skru den av", "slå den av", "ikke", "slutt",
           "stopp", "trekk tilbake", "trekker tilbake", "avslutt", "fjern", "uten",
           "si opp", "ingen", "aldri", "pause", "slett samtykke", "reserverer meg"),
    "sv": ("stäng av", "slå av", "stäng dem av", "slå dem av", "inte", "sluta", "stoppa", "återkalla",
           "avsluta", "ta bort", "utan", "säga upp", "inga",
           "aldrig", "pausa"),
    "en": ("off", "stop", "don't", "dont", "do not", "no longer", "withdraw", "end", "cancel", "without",
           "opt out", "remove", "pause", "never", "no more", "revoke"),
}
LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "nb": ("norsk", "norwegian", "norska", "bokmål"),
    "sv": ("svensk", "swedish", "svenska"),
    "en": ("engelsk", "english", "engelska"),
}
SHARING_ORDER = ("contact", "history", "usage")


@dataclass(frozen=True)
class Change:
    """One preference change: kind is reminders | sharing | auto_service | channel | language."""

    kind: str
    value: Any
    needs_confirmation: bool = False

    def encode(self) -> str:
        return json.dumps({"kind": self.kind, "value": self.value})

    @classmethod
    def decode(cls, raw: str | None) -> Change | None:
        try:
            data = json.loads(raw or "")
            return cls(str(data["kind"]), data["value"], data["kind"] == "auto_service")
        except (ValueError, KeyError, TypeError):
            return None


def _has(text: str, words: tuple[str, ...]) -> bool:
    """Whole-word match at the start of a word ("ikke" but not "pikker")."""
    return any(re.search(rf"(?<!\w){re.escape(word)}", text) for word in words)


def _contains(text: str, words: tuple[str, ...]) -> bool:
    """Substring match, for compounds ("kjørehistorikken" contains "historikk")."""
    return any(word in text for word in words)


def _words(table: dict[str, tuple[str, ...]], lang: str) -> tuple[str, ...]:
    # The customer may mix languages: look in theirs first, then the others.
    return table.get(lang, ()) + tuple(w for other, words in table.items() if other != lang for w in words)


def parse_changes(text: str, lang: str, channels: list[str], current_sharing: str = "contact") -> list[Change]:
    """What the customer asked to change, most specific topic first; [] when unclear."""
    lowered = (text or "")[:1000].lower()
    off = _has(lowered, _words(OFF_WORDS, lang))
    topic = {name: _contains(lowered, _words(words, lang)) for name, words in TOPIC_WORDS.items()}
    changes: list[Change] = []
    if topic["auto_service"]:
        changes.append(Change("auto_service", not off, needs_confirmation=True))
    elif topic["usage"]:
        if off:
            target = "history" if current_sharing == "usage" else current_sharing
        else:
            target = "usage"
        changes.append(Change("sharing", target))
    elif topic["history"]:
        target = "contact" if off else max(current_sharing, "history", key=SHARING_ORDER.index)
        changes.append(Change("sharing", target))
    elif topic["data"] and not channels:
        target = "contact" if off else max(current_sharing, "history", key=SHARING_ORDER.index)
        changes.append(Change("sharing", target))
    if topic["reminders"]:
        changes.append(Change("reminders", not off))
    for channel in channels:
        if channel in CHANNELS:
            changes.append(Change("channel_off" if off and not topic["reminders"] else "channel", channel))
    for code, words in LANGUAGE_WORDS.items():
        if not changes and _has(lowered, words):
            changes.append(Change("language", code))
    return changes


def apply_change(session: Session, customer_id: int, change: Change, now: datetime,
                 default_agreement: dict[str, Any] | None = None) -> Preferences:
    """Store one change; the strategy follows from the stored preferences on the next read."""
    prefs = _preferences(session, customer_id)
    if change.kind == "reminders":
        prefs.reminders = bool(change.value)
    elif change.kind == "sharing":
        if change.value not in SHARING_ORDER:
            raise ValueError(f"unknown sharing level {change.value!r}")
        prefs.data_sharing = change.value
        if change.value != "usage":
            prefs.auto_service = False  # acting on the customer's behalf needs their usage data
    elif change.kind == "auto_service":
        prefs.auto_service = bool(change.value)
        if change.value:
            prefs.data_sharing = "usage"
            if not prefs.agreement:
                prefs.agreement = dict(default_agreement or {})
    elif change.kind == "channel":
        return set_preferred_channel(session, customer_id, str(change.value), now)
    elif change.kind == "channel_off":
        prefs.contact_channels = [c for c in (prefs.contact_channels or []) if c != change.value]
        if prefs.preferred_channel == change.value:
            prefs.preferred_channel = (prefs.contact_channels or [None])[0]
    elif change.kind == "language":
        if change.value not in ("nb", "sv", "en"):
            raise ValueError(f"unknown language {change.value!r}")
        prefs.language = str(change.value)
    else:
        raise ValueError(f"unknown preference change {change.kind!r}")
    prefs.updated_at = now
    session.flush()
    return prefs
