"""Rasa's SQL tracker store, at a cost per turn that does not grow with the conversation.

Rasa's `SQLTrackerStore` reads, decodes and replays every event of the session on each
message, and every policy then computes a state for every earlier turn; the action server
is sent the whole session as JSON. Measured here: 53 ms a turn at turn 5, 207 ms at turn
300 of one conversation, half of it in the read alone.

This store keeps, per conversation, what it already decoded (a bounded LRU cache) and
reads only the rows added since (by another Rasa instance, say): the database stays the
only truth, so several instances behind a load balancer share it as before. And it hands
Rasa a *window*: the last `window_turns` customer turns, after events that restore the
state the conversation had when the window starts (its slots, active form, paused
flag). Policies look back five turns (TED, memoization) or match rules at the end of
the history, so they predict as before; the conversation in the database is complete
(`retrieve_full_tracker`, the desk, the web chat history and `bot review` read all of
it). New events are appended exactly once, after the ones already stored.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from bot.db.session import sqlite_engine

log = logging.getLogger(__name__)

# The attribute a tracker handed out by `retrieve` carries: how many of its events are stored.
STORED = "_fjordbil_stored_events"
WINDOW = "_fjordbil_window"  # and the cached conversation it is a window of
DEFAULT_WINDOW_TURNS = 20
# Reads of a conversation's new rows go by (sender_id, id).
INDEX = "ix_events_sender_id_id"
# Conversations kept decoded: a load test's conversation (44 events) took 74 KB, so 1,000 of
# them about 75 MB of the Rasa server's memory. One process answers about 250 conversations at
# a time (`bot bench load`), so the ones being talked in stay; an older one is read anew.
DEFAULT_CACHE_SIZE = 1000


@dataclass
class Conversation:
    """What is known of one conversation's current session."""

    first_id: int                                   # the conversation's first row: erasure changes it
    last_id: int                                    # the newest row read or written
    prefix: list[Event] = field(default_factory=list)  # restores the state before `tail`
    tail: list[Event] = field(default_factory=list)    # events of the window, as stored
    trigger_message: dict[str, Any] | None = None      # of a form active since before the window


def state_events(tracker: DialogueStateTracker) -> list[Event]:
    """Events that give a new tracker the state `tracker` has now (at a turn boundary)."""
    stamp = tracker.events[-1].timestamp if tracker.events else None
    events: list[Event] = [SessionStarted(timestamp=stamp)]
    for slot in tracker.slots.values():
        if slot.value != slot.initial_value:
            events.append(SlotSet(slot.name, slot.value, timestamp=stamp))
    if tracker.active_loop_name:
        events.append(ActiveLoop(tracker.active_loop_name, timestamp=stamp))
    if tracker.is_paused():
        events.append(ConversationPaused(timestamp=stamp))
    return events


def decode(rows: Any) -> list[Event]:
    """Stored rows as events; a row Rasa cannot read (an unknown type) is left out, as Rasa does."""
    events = (Event.from_parameters(json.loads(row.data)) for row in rows)
    return [event for event in events if event is not None]


def turn_starts(events: list[Event]) -> list[int]:
    """Indexes of the `action_listen` that opens each customer turn."""
    return [
        index for index in range(len(events) - 1)
        if isinstance(events[index], ActionExecuted) and events[index].action_name == ACTION_LISTEN_NAME
        and isinstance(events[index + 1], UserUttered)
    ]


class WindowedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with incremental reads and a bounded window of recent turns."""

    def __init__(
        self,
        domain: Domain | None = None,
        window_turns: int = DEFAULT_WINDOW_TURNS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain=domain, **kwargs)
        if self.engine.url.drivername.startswith("sqlite"):  # pooled, WAL (bot/db/session.py)
            self.engine = sqlite_engine(self.engine.url.render_as_string(hide_password=False))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self.window_turns = max(6, int(window_turns))  # TED and memoization look back 5 turns
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[str, Conversation] = OrderedDict()
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {INDEX} ON events (sender_id, id)"))
        except DBAPIError:  # another instance starting at the same moment made it (PostgreSQL)
            log.debug("index %s was created by another instance", INDEX)

    # --- reading -------------------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's tracker: the window of recent turns, with today's state."""
        conversation = self._refresh(sender_id)
        if conversation is None:
            return None
        self._fold(sender_id, conversation)
        return self._view(sender_id, conversation)

    async def recent_events(self, sender_id: str) -> list[Event]:
        """The window's events as stored, without building a tracker (cheaper than `retrieve`)."""
        conversation = self._refresh(sender_id)
        return list(conversation.tail) if conversation is not None else []

    def _refresh(self, sender_id: str) -> Conversation | None:
        """The cached conversation brought up to date with rows added since, or read anew."""
        events_table = self.SQLEvent.__table__
        cached = self._cache.get(sender_id)
        if cached is None:
            return self._load(sender_id)
        with self.session_scope() as session:
            first = session.execute(
                sa.select(sa.func.min(events_table.c.id)).where(events_table.c.sender_id == sender_id)
            ).scalar()
            if first != cached.first_id:  # erased (or erased and begun again): read it anew
                self._cache.pop(sender_id, None)
                return self._load(sender_id) if first is not None else None
            rows = session.execute(
                sa.select(events_table.c.id, events_table.c.type_name, events_table.c.data)
                .where(events_table.c.sender_id == sender_id, events_table.c.id > cached.last_id)
                .order_by(events_table.c.id)
            ).all()
        if any(row.type_name == SessionStarted.type_name for row in rows):
            self._cache.pop(sender_id, None)  # a new session: Rasa's own rule for where it begins
            return self._load(sender_id)
        if rows:
            cached.tail.extend(decode(rows))
            cached.last_id = rows[-1].id
        self._cache.move_to_end(sender_id)
        return cached

    def _load(self, sender_id: str) -> Conversation | None:
        """Read the session as Rasa's store does (from the latest `session_started`)."""
        events_table = self.SQLEvent.__table__
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
            if not rows:
                return None
            first = session.execute(
                sa.select(sa.func.min(events_table.c.id)).where(events_table.c.sender_id == sender_id)
            ).scalar()
        conversation = Conversation(
            first_id=first, last_id=max(row.id for row in rows),
            tail=decode(rows),
        )
        self._remember(sender_id, conversation)
        return conversation

    def _remember(self, sender_id: str, conversation: Conversation) -> None:
        self._cache[sender_id] = conversation
        self._cache.move_to_end(sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _fold(self, sender_id: str, conversation: Conversation) -> None:
        """Move turns older than the window into the state prefix (in steps of a few turns,
        so most messages only append)."""
        starts = turn_starts(conversation.tail)
        if len(starts) <= self.window_turns + self.window_turns // 4:
            return
        cut = starts[len(starts) - self.window_turns]
        before = DialogueStateTracker.from_events(
            sender_id, conversation.prefix + conversation.tail[:cut], self.domain.slots
        )
        if before.active_loop is None:
            conversation.trigger_message = None
        elif any(isinstance(event, ActiveLoop) for event in conversation.tail[:cut]):
            conversation.trigger_message = before.active_loop.trigger_message
        # else: the form was active before the prefix too; its trigger message stays
        conversation.prefix = state_events(before)
        conversation.tail = conversation.tail[cut:]

    def _view(self, sender_id: str, conversation: Conversation) -> DialogueStateTracker:
        events = conversation.prefix + conversation.tail
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        if (
            conversation.trigger_message is not None and tracker.active_loop is not None
            and not any(isinstance(e, ActiveLoop) for e in conversation.tail)
        ):
            tracker.active_loop.trigger_message = conversation.trigger_message
        setattr(tracker, STORED, len(events))
        setattr(tracker, WINDOW, conversation)
        return tracker

    # --- writing -------------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events not stored yet, once, and keep them in the cache."""
        await self.stream_events(tracker)
        stored = getattr(tracker, STORED, None)
        events = list(tracker.events)
        with self.session_scope() as session:
            if stored is None:  # a tracker this store did not hand out: count as Rasa does
                stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            new = events[stored:]
            rows = [self._row(tracker.sender_id, event) for event in new]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]  # before the commit expires them (a SELECT each)
            session.commit()
        setattr(tracker, STORED, len(events))
        if not new:
            return
        cached = self._cache.get(tracker.sender_id)
        if (
            cached is None or getattr(tracker, WINDOW, None) is not cached
            or any(isinstance(event, SessionStarted) for event in new)
            or self._rows_between(tracker.sender_id, cached.last_id, min(ids))
        ):
            self._cache.pop(tracker.sender_id, None)  # read anew next time
            return
        cached.tail.extend(new)
        cached.last_id = max(ids)

    def _rows_between(self, sender_id: str, after: int, before: int) -> bool:
        """Whether someone else stored events of this conversation since it was read."""
        events_table = self.SQLEvent.__table__
        with self.session_scope() as session:
            return session.execute(
                sa.select(events_table.c.id).where(
                    events_table.c.sender_id == sender_id, events_table.c.id > after, events_table.c.id < before
                ).limit(1)
            ).first() is not None

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
            action_name=data.get("name"),
            data=json.dumps(data),
        )
