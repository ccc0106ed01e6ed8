"""Conversation figures from Rasa's SQL tracker store, read without Rasa.

A conversation is one session of one sender: the sender's events split at each
`session_started` event, counted when the customer wrote at least one message in it. Only
the events the figures need are read (user messages, session starts, handoffs, pauses and
`language` slots), in one query limited to the period, so a large store stays fast.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tracker_events import events_table, has_events_table

FALLBACK_INTENT = "nlu_fallback"
HANDOFF_ACTION = "action_handoff"
UNKNOWN = "ukjent"


@dataclass(frozen=True)
class Period:
    """Local calendar days from `start` to `end`, both included."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, today: date) -> Period:
        return cls(today - timedelta(days=max(1, days) - 1), today)

    def bounds(self, tz: ZoneInfo) -> tuple[float, float]:
        """Unix timestamps of the period's first and (exclusive) last moment."""
        first = datetime.combine(self.start, time.min, tz)
        after = datetime.combine(self.end + timedelta(days=1), time.min, tz)
        return first.timestamp(), after.timestamp()

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass
class ConversationStats:
    per_day: dict[date, Counter[str]] = field(default_factory=dict)  # day -> channel -> conversations
    conversations: int = 0
    handed_off: int = 0
    user_messages: int = 0
    fallbacks: int = 0
    intents: dict[str, Counter[str]] = field(default_factory=dict)  # intent -> language -> messages

    @property
    def channels(self) -> list[str]:
        return sorted({channel for counts in self.per_day.values() for channel in counts})

    @property
    def contained(self) -> int:
        return self.conversations - self.handed_off

    @property
    def containment_rate(self) -> float:
        return self.contained / self.conversations if self.conversations else 0.0

    @property
    def handoff_rate(self) -> float:
        return self.handed_off / self.conversations if self.conversations else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.user_messages if self.user_messages else 0.0

    def intents_by_volume(self) -> list[tuple[str, Counter[str]]]:
        return sorted(self.intents.items(), key=lambda item: (-sum(item[1].values()), item[0]))

    @property
    def languages(self) -> list[str]:
        return sorted({lang for counts in self.intents.values() for lang in counts})


@dataclass
class _Session:
    day: date | None = None
    channel: str = UNKNOWN
    handed_off: bool = False


def _json(raw: str | None) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _language_entity(data: dict) -> str | None:
    for entity in (data.get("parse_data") or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == "language" and entity.get("value"):
            return str(entity["value"])
    return None


def _query(lo: float, hi: float) -> sa.sql.Select:
    t = events_table
    wanted = sa.or_(
        t.c.type_name.in_(("user", "session_started", "pause")),
        sa.and_(t.c.type_name == "action", t.c.action_name == HANDOFF_ACTION),
        sa.and_(t.c.type_name == "slot", t.c.action_name == "language"),
    )
    data = sa.case((t.c.type_name.in_(("user", "slot")), t.c.data), else_=sa.null())
    return (
        sa.select(t.c.sender_id, t.c.type_name, t.c.timestamp, t.c.intent_name, t.c.action_name, data)
        .where(t.c.timestamp >= lo, t.c.timestamp < hi, wanted)
        .order_by(t.c.id)
    )


def conversation_stats(engine: Engine, period: Period, tz: ZoneInfo) -> ConversationStats:
    """Conversations per day and channel, handoffs, fallbacks and intents per language.

    A session that began before the period counts with the part of it inside the period.
    """
    stats = ConversationStats()
    if not has_events_table(engine):
        return stats
    lo, hi = period.bounds(tz)
    current: dict[str, _Session] = {}
    languages: dict[str, str] = {}  # sender -> language slot (Rasa carries it into new sessions)
    finished: list[_Session] = []
    with engine.connect() as conn:
        rows = conn.execute(_query(lo, hi))
        for sender, kind, stamp, intent, _action, raw in rows:
            session = current.get(sender)
            if kind == "session_started" or session is None:
                if session is not None:
                    finished.append(session)
                session = current[sender] = _Session()
                if kind == "session_started":
                    continue
            if kind == "user":
                if not intent or intent.startswith("EXTERNAL_"):
                    continue
                data = _json(raw)
                if session.day is None:
                    session.day = datetime.fromtimestamp(stamp or 0.0, tz).date()
                    session.channel = str(data.get("input_channel") or (data.get("metadata") or {}).get(
                        "input_channel") or UNKNOWN)
                language = _language_entity(data) or languages.get(sender, UNKNOWN)
                stats.user_messages += 1
                stats.fallbacks += intent == FALLBACK_INTENT
                stats.intents.setdefault(intent, Counter())[language] += 1
            elif kind == "slot":
                value = _json(raw).get("value")
                if value:
                    languages[sender] = str(value)
            else:  # action_handoff or pause
                session.handed_off = True
    finished.extend(current.values())
    for session in finished:
        if session.day is None:  # no customer message: not a conversation
            continue
        stats.conversations += 1
        stats.handed_off += session.handed_off
        stats.per_day.setdefault(session.day, Counter())[session.channel] += 1
    return stats
