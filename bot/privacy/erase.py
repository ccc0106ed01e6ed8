"""Erasing a customer (GDPR art. 17): the profile database in one transaction, then their
conversations in the tracker store.

What goes and what stays:
- deleted: the customer row, preferences (consents), channel identities, vehicles and their
  telemetry, service history, verification codes, offers made to them (after folding their
  outcomes into the anonymous `offer_stats`), proactive messages, handoff tickets with their
  audit events, review-inbox items of their conversations, and every tracker event of
  every linked conversation (all channels).
- kept without any link to the person: bookings (the workshop's capacity and job history:
  customer, car and channel removed, the reference replaced; upcoming ones are cancelled
  and their slot and loaner car freed) and invoices (bookkeeping law: amount and dates only).

Tracker events are deleted through `pending_erasures` rows written in the same transaction,
so a crash between the two databases leaves a durable to-do instead of a half erasure. A
conversation that is still running (the customer erased from inside it) is given a grace
period: Rasa stores the turn's events *after* the action ran, counting the events already
stored (rasa/core/tracker_store.py, SQLTrackerStore._additional_events), so deleting them
during the action would make Rasa write the whole conversation back.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import booking as bookings_module
from bot import tracker_events
from bot.db.models import (
    Booking,
    ChannelIdentity,
    Customer,
    HumanRequest,
    Invoice,
    OfferStat,
    OutboxMessage,
    PendingErasure,
    Preferences,
    ServiceJob,
    Suggestion,
    TicketEvent,
    Vehicle,
    VehicleReading,
)
from bot.privacy.collect import customer_otps, customer_tickets, linked_senders

log = logging.getLogger(__name__)

# How long a running conversation keeps its events before they are deleted.
GRACE = timedelta(seconds=60)


@dataclass
class ErasureReport:
    """What was removed, per table; counts only, never personal data."""

    deleted: Counter[str] = field(default_factory=Counter)
    anonymised: Counter[str] = field(default_factory=Counter)
    conversations: int = 0
    tracker_events: int = 0
    pending_conversations: int = 0

    @property
    def removed(self) -> int:
        return sum(self.deleted.values()) + self.tracker_events

    def summary(self) -> str:
        deleted = ", ".join(f"{k} {v}" for k, v in sorted(self.deleted.items()) if v) or "nothing"
        kept = ", ".join(f"{k} {v}" for k, v in sorted(self.anonymised.items()) if v) or "nothing"
        return (
            f"deleted: {deleted}; anonymised: {kept}; conversations {self.conversations} "
            f"({self.tracker_events} tracker events deleted, {self.pending_conversations} pending)"
        )


def _delete(session: Session, report: ErasureReport, table: str, statement: sa.Delete) -> None:
    report.deleted[table] += int(session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0)


def _fold_suggestions(session: Session, customer_id: int, report: ErasureReport) -> None:
    """Offer outcomes survive as anonymous counts per (offer, strategy, channel, language, status)."""
    rows = session.execute(
        select(Suggestion.offer_code, Suggestion.strategy, Suggestion.channel, Suggestion.lang, Suggestion.status,
               sa.func.count())
        .where(Suggestion.customer_id == customer_id)
        .group_by(Suggestion.offer_code, Suggestion.strategy, Suggestion.channel, Suggestion.lang, Suggestion.status)
    ).all()
    for code, strategy, channel, lang, status, count in rows:
        key = {"offer_code": code, "strategy": strategy, "channel": channel, "lang": lang, "status": status}
        stat = session.execute(select(OfferStat).filter_by(**key)).scalar_one_or_none()
        if stat is None:
            session.add(OfferStat(**key, count=int(count)))
        else:
            stat.count = (stat.count or 0) + int(count)
    session.flush()
    _delete(session, report, "suggestions", delete(Suggestion).where(Suggestion.customer_id == customer_id))


def _anonymise_bookings(session: Session, customer_id: int, now: datetime, report: ErasureReport) -> None:
    for record in session.execute(select(Booking).where(Booking.customer_id == customer_id)).scalars().all():
        if record.status == "booked" and record.start is not None and record.start > now:
            bookings_module.cancel(session, record)
            report.anonymised["bookings_cancelled"] += 1
        record.customer_id = None
        record.vehicle_id = None
        record.channel = None
        record.reference = f"ERASED-{record.id}"[:16]
        report.anonymised["bookings"] += 1
    for invoice in session.execute(select(Invoice).where(Invoice.customer_id == customer_id)).scalars():
        invoice.customer_id = None
        report.anonymised["invoices"] += 1
    session.flush()


def _delete_review_items(session: Session, senders: set[str], report: ErasureReport) -> None:
    """The review inbox (masked texts) keeps the sender id of the conversation it came from."""
    bind = session.get_bind()
    if not senders or not sa.inspect(bind).has_table("review_items"):
        return
    table = sa.Table("review_items", sa.MetaData(), autoload_with=bind)
    _delete(session, report, "review_items", delete(table).where(table.c.sender_id.in_(sorted(senders))))


def erase(
    session: Session, customer_id: int, tracker_engine: Engine | None, *,
    current_sender: str | None = None, now: datetime | None = None,
) -> ErasureReport:
    """Erase the customer from the profile database (in the caller's transaction) and queue
    their conversations for deletion; `current_sender` is a conversation still running.

    Call `finish_pending` after the commit (or use `erase_customer`, which does both)."""
    now = now or datetime.now()
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError("unknown customer")
    report = ErasureReport()
    senders = linked_senders(session, customer_id, tracker_engine)
    if current_sender:
        senders.add(current_sender)
    _fold_suggestions(session, customer_id, report)
    _delete(session, report, "outbox", delete(OutboxMessage).where(OutboxMessage.customer_id == customer_id))
    ticket_ids = [t.id for t in customer_tickets(session, customer_id, senders)]
    if ticket_ids:
        _delete(session, report, "ticket_events", delete(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)))
        _delete(session, report, "human_requests", delete(HumanRequest).where(HumanRequest.id.in_(ticket_ids)))
    for otp in customer_otps(session, customer, senders):
        session.delete(otp)
        report.deleted["otp_challenges"] += 1
    _anonymise_bookings(session, customer_id, now, report)
    _delete(session, report, "service_jobs", delete(ServiceJob).where(ServiceJob.customer_id == customer_id))
    vehicle_ids = select(Vehicle.id).where(Vehicle.customer_id == customer_id).scalar_subquery()
    _delete(session, report, "vehicle_readings",
            delete(VehicleReading).where(VehicleReading.vehicle_id.in_(vehicle_ids)))
    _delete(session, report, "vehicles", delete(Vehicle).where(Vehicle.customer_id == customer_id))
    _delete(session, report, "preferences", delete(Preferences).where(Preferences.customer_id == customer_id))
    _delete(session, report, "channel_identities",
            delete(ChannelIdentity).where(ChannelIdentity.customer_id == customer_id))
    _delete_review_items(session, senders, report)
    session.expunge(customer)
    _delete(session, report, "customers", delete(Customer).where(Customer.id == customer_id))
    for sender in senders:
        due = now + GRACE if sender == current_sender else now
        pending = session.get(PendingErasure, sender)
        if pending is None:
            session.add(PendingErasure(sender_id=sender, due_at=due))
        else:
            pending.due_at = max(pending.due_at or due, due)
    session.flush()
    report.conversations = len(senders)
    report.pending_conversations = len(senders)
    log.info("customer erased: %s", report.summary())
    return report


def finish_pending(session: Session, tracker_engine: Engine, now: datetime | None = None) -> int:
    """Delete the tracker events of every conversation whose erasure is due; returns the
    number of events deleted. Idempotent: safe from the scheduler, `bot erase` and tests."""
    now = now or datetime.now()
    due = list(session.execute(select(PendingErasure).where(PendingErasure.due_at <= now)).scalars())
    if not due:
        return 0
    deleted = tracker_events.delete_conversations(tracker_engine, [p.sender_id for p in due])
    for pending in due:
        session.delete(pending)
    session.flush()
    log.info("pending erasures completed: %d conversations, %d tracker events", len(due), deleted)
    return deleted


def erase_customer(
    customer_id: int, tracker_engine: Engine, *, url: str | None = None,
    current_sender: str | None = None, now: datetime | None = None,
) -> ErasureReport:
    """Erase the customer (one profile transaction), then delete the conversations that are
    not running any more."""
    from bot.db.session import session_scope  # noqa: PLC0415 - keeps erase() usable with any session

    with session_scope(url) as session:
        report = erase(session, customer_id, tracker_engine, current_sender=current_sender, now=now)
    with session_scope(url) as session:
        report.tracker_events = finish_pending(session, tracker_engine, now)
        report.pending_conversations = int(
            session.execute(select(sa.func.count()).select_from(PendingErasure)).scalar() or 0
        )
    return report


def finish_pending_quietly(url: str | None = None) -> int:
    """`finish_pending` for the scheduler's pass: by the wall clock (a pass may pretend another
    time), and a failure is logged, never raised (the rows wait for the next pass)."""
    from bot.db.session import session_scope  # noqa: PLC0415

    try:
        with session_scope(url) as session:
            return finish_pending(session, tracker_events.tracker_engine(), datetime.now())
    except Exception:  # noqa: BLE001 - the tracker store may be down: try again next pass
        log.exception("pending erasures could not be completed; retrying next pass")
        return 0
