"""The outbox: written before sending, so a crash, a restart or a second scheduler never
sends a message twice; leases, retries with backoff, and quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage

LEASE = timedelta(seconds=120)
SENDABLE = ("pending", "waiting", "sending")


def enqueue(
    session: Session, customer_id: int, event_type: str, period_key: str, **fields: Any
) -> OutboxMessage | None:
    """Create the row once; None when it already exists (an earlier pass made it)."""
    exists = session.execute(
        select(OutboxMessage.id).filter_by(customer_id=customer_id, event_type=event_type, period_key=period_key)
    ).scalar_one_or_none()
    if exists is not None:
        return None
    row = OutboxMessage(customer_id=customer_id, event_type=event_type, period_key=period_key, **fields)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another scheduler made it between our check and insert
        return None
    return row


def _clock(value: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    return time(hours, minutes)


def quiet_until(now: datetime, quiet_hours: list[str]) -> datetime | None:
    """The end of the quiet period `now` is in, or None when messages may go out now."""
    start, end = _clock(quiet_hours[0]), _clock(quiet_hours[1])
    moment = now.time()
    if start > end:  # over midnight, e.g. 21:00-08:00
        if moment >= start:
            return datetime.combine(now.date() + timedelta(days=1), end)
        if moment < end:
            return datetime.combine(now.date(), end)
        return None
    if start <= moment < end:
        return datetime.combine(now.date(), end)
    return None


def due_rows(session: Session, now: datetime, limit: int = 500) -> list[OutboxMessage]:
    """Rows to try now: pending or waiting whose time has come, and sends whose lease ran out."""
    return list(
        session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(SENDABLE))
            .where(or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
            .where(or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).scalars()
    )


def claim(session: Session, row_id: int, now: datetime) -> bool:
    """Take the row for sending (a conditional UPDATE, so two schedulers cannot both take it)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status.in_(SENDABLE))
        .where(or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now))
        .values(status="sending", lease_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def mark_sent(session: Session, row_id: int, now: datetime) -> None:
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id)
        .values(status="sent", sent_at=now, lease_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_failed_attempt(session: Session, row: OutboxMessage, now: datetime, error: str, cfg: dict[str, Any]) -> str:
    """Retry later with exponential backoff, or give up visibly after `max_attempts`."""
    attempts = int(row.attempts or 0)
    if attempts >= int(cfg["max_attempts"]):
        status, next_at = "failed", None
    else:
        status = "pending"
        next_at = now + timedelta(seconds=int(cfg["retry_base_seconds"]) * 2 ** max(0, attempts - 1))
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row.id)
        .values(status=status, next_attempt_at=next_at, lease_until=None, last_error=error[:200])
        .execution_options(synchronize_session=False)
    )
    return status


def wait_for_quiet_end(session: Session, row_id: int, until: datetime) -> None:
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id)
        .values(status="waiting", next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
