"""Handoff tickets: opened by the bot, queued by priority and waiting time, claimed by one
agent, answered, transferred, handed back to the bot or closed; every step audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.booking import WEEKDAYS, default_location, setting
from bot.db.models import Agent, Booking, HumanRequest, TicketEvent
from bot.handoff.agents import agents_online

OPEN = ("open", "claimed")
URGENT, CAR_IN_WORKSHOP, NORMAL = 0, 1, 2
REASONS = ("request_human", "fallback", "complain", "error", "identification", "delete_my_data",
           "booking_failed")


def audit(session: Session, ticket_id: int, action: str, now: datetime, agent_id: int | None = None,
          **detail: Any) -> None:
    session.add(TicketEvent(ticket_id=ticket_id, agent_id=agent_id, action=action, detail=detail, at=now))


def priority_for(session: Session, reason: str, customer_id: int | None) -> int:
    """Complaints first, then customers whose car is in the workshop, then everyone else."""
    if reason == "complain":
        return URGENT
    if customer_id is not None and session.execute(
        select(Booking.id).where(Booking.customer_id == customer_id, Booking.status.in_(("in_progress", "ready")))
    ).first():
        return CAR_IN_WORKSHOP
    return NORMAL


def open_ticket(
    session: Session, key: str, reason: str, language: str, now: datetime, customer_id: int | None = None,
    sender_id: str | None = None, channel: str | None = None, summary: dict[str, Any] | None = None,
) -> tuple[HumanRequest, bool]:
    """One open ticket per conversation: asking again returns it. Returns (ticket, created)."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    existing = session.execute(
        select(HumanRequest).where(HumanRequest.sender_key == key, HumanRequest.status.in_(OPEN))
    ).scalars().first()
    if existing is not None:
        if reason == "complain" and existing.priority != URGENT:
            existing.priority = URGENT
        return existing, False
    ticket = HumanRequest(
        sender_key=key, reason=reason, language=language, customer_id=customer_id, status="open",
        created_at=now, sender_id=sender_id, channel=channel, summary=summary or {},
        priority=priority_for(session, reason, customer_id),
    )
    session.add(ticket)
    session.flush()
    audit(session, ticket.id, "opened", now, reason=reason)
    return ticket, True


def queue(session: Session) -> list[HumanRequest]:
    """Open and claimed tickets: most urgent first, then the longest waiting."""
    return list(session.execute(
        select(HumanRequest).where(HumanRequest.status.in_(OPEN))
        .order_by(HumanRequest.priority, HumanRequest.created_at, HumanRequest.id)
    ).scalars())


@dataclass(frozen=True)
class Wait:
    minutes: int
    position: int
    open_now: bool
    opens_at: datetime | None


def around_the_clock() -> dict[str, list[str]]:
    """A `support_hours` setting for a desk that answers all day, every day."""
    return {day: ["00:00", "23:59"] for day in WEEKDAYS}


def support_hours(session: Session) -> dict[str, list[str]]:
    """When people answer in the desk: the `support_hours` setting, else the workshop's hours."""
    hours = setting(session, "support_hours")
    return hours if isinstance(hours, dict) and hours else (default_location(session).opening_hours or {})


def next_opening(session: Session, now: datetime) -> datetime | None:
    """When customer service is next open (now if it is open)."""
    hours = support_hours(session)
    for offset in range(8):
        day = now.date() + timedelta(days=offset)
        span = hours.get(WEEKDAYS[day.weekday()])
        if not span:
            continue
        start = datetime.combine(day, datetime.strptime(span[0], "%H:%M").time())
        end = datetime.combine(day, datetime.strptime(span[1], "%H:%M").time())
        if offset == 0 and start <= now < end:
            return now
        if start > now:
            return start
    return None


def expected_wait(session: Session, ticket: HumanRequest, now: datetime) -> Wait:
    """Position in the queue x minutes per conversation / agents online (at least one)."""
    ahead = session.execute(
        select(func.count()).select_from(HumanRequest).where(
            HumanRequest.status == "open",
            (HumanRequest.priority < ticket.priority)
            | ((HumanRequest.priority == ticket.priority) & (HumanRequest.id < ticket.id)),
        )
    ).scalar_one()
    per_conversation = int(setting(session, "handoff_minutes_per_conversation", 6) or 6)  # type: ignore[arg-type]
    online = max(1, agents_online(session, now))
    opens = next_opening(session, now)
    minutes = max(1, round((ahead + 1) * per_conversation / online))
    return Wait(minutes, int(ahead) + 1, opens == now, None if opens == now else opens)


def claim(session: Session, ticket_id: int, agent_id: int, now: datetime) -> bool:
    """Take an open ticket; a conditional UPDATE, so two agents cannot both claim it."""
    taken = session.execute(
        update(HumanRequest)
        .where(HumanRequest.id == ticket_id, HumanRequest.status == "open")
        .values(status="claimed", agent_id=agent_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.expire_all()  # the database decided; loaded tickets must not keep the old state
    if taken:
        audit(session, ticket_id, "claimed", now, agent_id)
    return taken


def owned(session: Session, ticket_id: int, agent_id: int) -> HumanRequest | None:
    """The ticket when this agent has it claimed, else None."""
    return _owned(session, ticket_id, agent_id)


def _owned(session: Session, ticket_id: int, agent_id: int) -> HumanRequest | None:
    ticket = session.get(HumanRequest, ticket_id)
    if ticket is None or ticket.status != "claimed" or ticket.agent_id != agent_id:
        return None
    return ticket


def transfer(session: Session, ticket_id: int, agent_id: int, to_username: str, now: datetime) -> bool:
    ticket = _owned(session, ticket_id, agent_id)
    target = session.execute(select(Agent).filter_by(username=to_username)).scalar_one_or_none()
    if ticket is None or target is None:
        return False
    ticket.agent_id = target.id
    audit(session, ticket_id, "transferred", now, agent_id, to=target.username)
    return True


def record_reply(session: Session, ticket_id: int, agent_id: int, now: datetime, length: int) -> bool:
    if _owned(session, ticket_id, agent_id) is None:
        return False
    audit(session, ticket_id, "replied", now, agent_id, characters=length)  # never the text itself
    return True


def finish(session: Session, ticket_id: int, agent_id: int, now: datetime, handed_back: bool) -> HumanRequest | None:
    ticket = _owned(session, ticket_id, agent_id)
    if ticket is None:
        return None
    ticket.status, ticket.closed_at = ("handed_back" if handed_back else "closed"), now
    audit(session, ticket_id, "handed_back" if handed_back else "closed", now, agent_id)
    return ticket


def history(session: Session, ticket_id: int) -> list[TicketEvent]:
    return list(session.execute(
        select(TicketEvent).filter_by(ticket_id=ticket_id).order_by(TicketEvent.at, TicketEvent.id)
    ).scalars())
