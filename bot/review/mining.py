"""Fill the trainers' review inbox (`review_items`) from Rasa's SQL tracker store.

`pull` reads the events written since the last pull (the cursor in `review_state`), finds
the messages worth a look in each conversation that has new events (bot.review.signals),
masks them (bot.masking, with the names of the customer linked to the conversation) and
stores them. The raw text never reaches the profile database.

Duplicates: a message's `dedupe_key` is its language and its normalised masked text
(lower case, digits as 0, punctuation and white space collapsed), so "Kan jeg betale med
Vipps 2 ganger?" and "kan jeg betale med vipps 3 ganger" are one item. A message whose
normalised text is near-identical (difflib ratio >= NEAR_DUPLICATE) to an item still `new`
in the same language joins that item too. Joining raises `occurrences`, moves
`last_seen` and merges the reasons.

The cursor (`review_state`, key `cursor:<hash of the tracker store URL>`, value the id of the
last event read) is kept per tracker store. Only one pull should run at a time (the cursor
is read, then written at the end).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.config import timezone_name
from bot.conversation_ids import external_id
from bot.db.models import ChannelIdentity, Customer, ReviewItem, ReviewState
from bot.lang import DEFAULT_LANGUAGE, detect_language
from bot.masking import mask
from bot.review.signals import REASONS, Candidate, candidates, customer_ids, slot_names
from bot.tracker_events import Event, conversation, events

CURSOR_PREFIX = "cursor:"
DEFAULT_THRESHOLD = 0.6
NEAR_DUPLICATE = 0.9
STATUSES = ("new", "labelled", "not_useful")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DIGIT = re.compile(r"\d")


@dataclass
class PullReport:
    """What one pull did: messages found per reason and language, rows added or joined."""

    events_read: int = 0
    conversations: int = 0
    added: int = 0  # new rows
    joined: int = 0  # an existing row counted one more occurrence
    updated: int = 0  # a message already in the inbox got another reason
    by_reason: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    cursor: int = 0

    @property
    def found(self) -> int:
        return self.added + self.joined + self.updated

    def summary(self) -> str:
        reasons = ", ".join(f"{r} {self.by_reason[r]}" for r in REASONS if self.by_reason[r]) or "none"
        languages = ", ".join(f"{lang} {n}" for lang, n in sorted(self.by_language.items())) or "none"
        return (f"review pull: {self.events_read} events in {self.conversations} conversations; "
                f"{self.found} messages ({self.added} new items, {self.joined} repeats, {self.updated} "
                f"with a new reason)\n  by reason: {reasons}\n  by language: {languages}\n"
                f"  cursor: event {self.cursor}")


def normalise(masked: str) -> str:
    """Lower case, digits as 0, every run of punctuation and white space as one space."""
    text = _DIGIT.sub("0", masked.lower())
    return _NOT_WORD.sub(" ", text).strip()


def dedupe_key(masked: str, lang: str) -> str:
    """`lang:normalised text`; long texts end in a hash of the whole so the key fits 255."""
    norm = normalise(masked)
    key = f"{lang}:{norm}"
    if len(key) <= 255:
        return key
    return f"{lang}:{norm[:200]}#{hashlib.sha256(norm.encode()).hexdigest()[:40]}"


def _local(timestamp: float | None, fallback: datetime) -> datetime:
    if not timestamp:
        return fallback
    return datetime.fromtimestamp(timestamp, ZoneInfo(timezone_name())).replace(tzinfo=None, microsecond=0)


def cursor_key(tracker_engine: Engine) -> str:
    """One cursor per tracker store: `cursor:` and a hash of its URL (password left out)."""
    url = tracker_engine.url.render_as_string(hide_password=True)
    return CURSOR_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:24]


def get_cursor(session: Session, key: str) -> int:
    row = session.get(ReviewState, key)
    try:
        return int(row.value) if row is not None and row.value else 0
    except ValueError:
        return 0


def set_cursor(session: Session, key: str, value: int) -> None:
    row = session.get(ReviewState, key)
    if row is None:
        session.add(ReviewState(key=key, value=str(value)))
    else:
        row.value = str(value)


def customer_names(session: Session, conv: list[Event]) -> list[str]:
    """Names to mask: of every customer the conversation was linked to (the `customer_id`
    slot, or a channel identity of the sender), and the `customer_name` slot."""
    ids = customer_ids(conv)
    sender = external_id(conv[0].sender_id) if conv else None   # `telegram:123` -> 123; a legacy id as it is
    if sender:
        ids.update(session.execute(select(ChannelIdentity.customer_id)
                                   .where(ChannelIdentity.external_id == sender)).scalars())
    names = set(slot_names(conv))
    if ids:
        for customer in session.execute(select(Customer).where(Customer.id.in_(ids))).scalars():
            names.update(n for n in (customer.first_name, customer.last_name) if n)
    return sorted(names)


def language_of(candidate: Candidate) -> str:
    """The message's own language, else the one detected from its text, else the
    conversation's, else the default."""
    return (candidate.language or detect_language(candidate.text)
            or candidate.conversation_language or DEFAULT_LANGUAGE)


class _Inbox:
    """Finds the item a message belongs to; caches the `new` items per language for the
    near-duplicate comparison during one pull."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.open: dict[str, list[tuple[str, ReviewItem]]] = {}

    def _open_items(self, lang: str) -> list[tuple[str, ReviewItem]]:
        if lang not in self.open:
            rows = self.session.execute(select(ReviewItem).filter_by(status="new", lang=lang)).scalars()
            self.open[lang] = [(normalise(item.text or ""), item) for item in rows]
        return self.open[lang]

    def find(self, masked: str, lang: str) -> ReviewItem | None:
        key = dedupe_key(masked, lang)
        item = self.session.execute(select(ReviewItem).filter_by(dedupe_key=key)).scalar_one_or_none()
        if item is not None:
            return item
        norm = normalise(masked)
        best, best_ratio = None, NEAR_DUPLICATE
        for other_norm, other in self._open_items(lang):
            matcher = difflib.SequenceMatcher(None, norm, other_norm, autojunk=False)
            if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio >= best_ratio:
                best, best_ratio = other, ratio
        return best

    def add(self, item: ReviewItem) -> None:
        self.session.add(item)
        self.session.flush()
        self._open_items(item.lang).append((normalise(item.text or ""), item))


def _record(inbox: _Inbox, candidate: Candidate, masked: str, lang: str, reasons: list[str],
            counted_before: bool, when: datetime) -> str:
    """Add the message to the inbox; returns "added", "joined" or "updated"."""
    item = inbox.find(masked, lang)
    if item is None:
        inbox.add(ReviewItem(
            sender_id=candidate.event.sender_id, event_id=candidate.event.id, text=masked,
            dedupe_key=dedupe_key(masked, lang), lang=lang, predicted_intent=candidate.predicted_intent,
            confidence=candidate.confidence, reasons=reasons, occurrences=1, first_seen=when,
            last_seen=when, status="new",
        ))
        return "added"
    item.reasons = [r for r in REASONS if r in set(item.reasons or []) | set(reasons)]
    item.first_seen = min(item.first_seen or when, when)
    item.last_seen = max(item.last_seen or when, when)
    if item.predicted_intent is None and candidate.predicted_intent is not None:
        item.predicted_intent, item.confidence = candidate.predicted_intent, candidate.confidence
    if counted_before:
        return "updated"
    item.occurrences = (item.occurrences or 0) + 1
    return "joined"


def _new_senders(engine: Engine, cursor: int, report: PullReport) -> tuple[list[str], int]:
    """Conversations with events after the cursor, and the id of the last event read."""
    senders: dict[str, None] = {}
    last = cursor
    for event in events(engine, after_id=cursor):
        senders.setdefault(event.sender_id, None)
        last = max(last, event.id)
        report.events_read += 1
    return list(senders), last


def pull(session: Session, tracker_engine: Engine, threshold: float = DEFAULT_THRESHOLD,
         now: datetime | None = None) -> PullReport:
    """Mine the tracker events written since the last pull into `review_items`.

    Whole conversations are read (a handoff or a correction after the cursor marks an
    earlier message), but only reasons whose evidence is new count, so a second pull over
    the same events adds nothing. A missing or empty tracker store is an empty pull."""
    now = now or datetime.now(ZoneInfo(timezone_name())).replace(tzinfo=None, microsecond=0)
    report = PullReport()
    key = cursor_key(tracker_engine)
    cursor = get_cursor(session, key)
    senders, last = _new_senders(tracker_engine, cursor, report)
    inbox = _Inbox(session)
    for sender in senders:
        conv = [e for e in conversation(tracker_engine, sender) if e.id <= last]
        report.conversations += 1
        names: list[str] | None = None
        for candidate in candidates(conv, threshold):
            reasons = candidate.reasons(after_id=cursor)
            if not reasons:
                continue
            names = customer_names(session, conv) if names is None else names
            lang = language_of(candidate)
            masked = mask(candidate.text, names)
            counted_before = bool(set(candidate.evidence) - set(reasons))
            outcome = _record(inbox, candidate, masked, lang, reasons, counted_before,
                              _local(candidate.event.timestamp, now))
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.by_reason.update(reasons)
            report.by_language[lang] += 1
    set_cursor(session, key, last)
    report.cursor = last
    session.flush()
    return report


def list_items(session: Session, status: str | None = "new", lang: str | None = None,
               reason: str | None = None, limit: int | None = 100, offset: int = 0) -> list[ReviewItem]:
    """Inbox items, most frequent first, then most recent. `status=None` lists every status.

    The reason filter is applied in Python (reasons is a JSON list, queried the same way
    on SQLite and PostgreSQL)."""
    query = select(ReviewItem)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if lang is not None:
        query = query.where(ReviewItem.lang == lang)
    query = query.order_by(ReviewItem.occurrences.desc(), ReviewItem.last_seen.desc(), ReviewItem.id.desc())
    rows: Iterable[ReviewItem] = session.execute(query).scalars()
    if reason is not None:
        rows = (item for item in rows if reason in (item.reasons or []))
    result: list[ReviewItem] = []
    for index, item in enumerate(rows):
        if index < offset:
            continue
        if limit is not None and len(result) >= limit:
            break
        result.append(item)
    return result


def get_item(session: Session, item_id: int) -> ReviewItem | None:
    return session.get(ReviewItem, item_id)
