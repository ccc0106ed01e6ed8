"""What must hold after a load test, whatever the speed:

1. every conversation's tracker has every user message exactly once and in the order sent
   (a message whose outcome the client never learnt may be missing, never doubled);
2. no workshop slot holds more bookings than its capacity, and its counter agrees;
3. no error reached a customer (no failed turn, no apology).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from bot.conversation_ids import REST, conversation_id
from bot.db.models import Booking, WorkshopSlot
from bot.db.session import session_scope
from bot.tracker_events import conversation, tracker_engine


@dataclass
class Verdict:
    conversations: int = 0
    messages: int = 0
    bookings: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "ok" if self.ok else f"{len(self.problems)} PROBLEMS"
        return (f"correctness: {state} ({self.conversations} conversations, {self.messages} customer messages, "
                f"{self.bookings} bookings checked)")


def sent_messages(entries: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Per sender, the (message_id, outcome) of each message, in the order sent."""
    outcome = {e["message_id"]: e["state"] for e in entries if e["state"] != "sent"}
    per_sender: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entry in sorted((e for e in entries if e["state"] == "sent"), key=lambda e: e["t"]):
        per_sender[entry["sender"]].append((entry["message_id"], outcome.get(entry["message_id"], "unknown")))
    return per_sender


def is_customer_message(event: Any) -> bool:
    """A user event the customer sent (not a bot-initiated `EXTERNAL_*` trigger)."""
    intent = ((event.data.get("parse_data") or {}).get("intent") or {}).get("name") or ""
    return event.type_name == "user" and not intent.startswith("EXTERNAL")


def check_trackers(tracker_url: str, entries: list[dict[str, Any]], verdict: Verdict) -> None:
    engine = tracker_engine(tracker_url)
    for sender, messages in sent_messages(entries).items():
        verdict.conversations += 1
        verdict.messages += len(messages)
        # The REST channel keeps a sender's messages in `rest:<sender>` (bot/conversation_ids.py).
        stored = [e.data.get("message_id") for e in conversation(engine, conversation_id(REST, sender))
                  if is_customer_message(e)]
        sent_ids = [message_id for message_id, _ in messages]
        doubled = {m for m, n in Counter(stored).items() if n > 1}
        if doubled:
            verdict.problems.append(f"{sender}: {len(doubled)} message(s) stored more than once")
        strangers = [m for m in stored if m not in sent_ids]
        if strangers:
            verdict.problems.append(f"{sender}: {len(strangers)} stored message(s) that were never sent")
        missing = sum(1 for message_id, state in messages if state == "answered" and message_id not in stored)
        if missing:
            verdict.problems.append(f"{sender}: {missing} answered message(s) missing from the tracker")
        in_store = [m for m in sent_ids if m in stored]
        if [m for m in stored if m in sent_ids] != in_store:
            verdict.problems.append(f"{sender}: messages stored out of order")


def check_bookings(db_url: str, verdict: Verdict) -> None:
    with session_scope(db_url) as session:
        active = (
            select(Booking.slot_id, func.count(Booking.id).label("n"))
            .where(Booking.slot_id.is_not(None), Booking.status != "cancelled")
            .group_by(Booking.slot_id).subquery()
        )
        rows = session.execute(
            select(WorkshopSlot.id, WorkshopSlot.capacity, WorkshopSlot.booked, active.c.n)
            .join(active, active.c.slot_id == WorkshopSlot.id)
        ).all()
        verdict.bookings = int(session.execute(select(func.count(Booking.id))).scalar_one())
    for slot_id, capacity, booked, count in rows:
        if count > capacity:
            verdict.problems.append(f"slot {slot_id}: {count} bookings for {capacity} place(s)")
        if count != booked:
            verdict.problems.append(f"slot {slot_id}: {count} bookings but the slot counts {booked}")


def check_errors(entries: list[dict[str, Any]], verdict: Verdict) -> None:
    failed = [e for e in entries if e["state"] == "failed"]
    if failed:
        reasons = defaultdict(int)
        for e in failed:
            reasons[e.get("error") or "?"] += 1
        verdict.problems.append(f"{len(failed)} turn(s) reached a customer as an error: {dict(reasons)}")


def check(entries: list[dict[str, Any]], tracker_url: str | None, db_url: str | None) -> Verdict:
    verdict = Verdict()
    check_errors(entries, verdict)
    if tracker_url:
        check_trackers(tracker_url, entries, verdict)
    if db_url:
        check_bookings(db_url, verdict)
    return verdict
