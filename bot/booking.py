"""Workshop calendar, free times, bookings and loaner cars.

All times are naive wall-clock times in the workshop's timezone. A slot's capacity is
claimed with one conditional UPDATE, so two customers racing for the last place cannot
both get it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, event, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from bot.config import timezone_name
from bot.db.models import (
    Booking,
    BookingItem,
    CalendarTemplate,
    LoanerCar,
    LoanerReservation,
    Location,
    Service,
    Setting,
    WorkshopSlot,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# When several jobs are booked together, the car occupies the slot of the heaviest one.
RESOURCE_PRIORITY = ("workshop", "tyres", "wash")
ACTIVE_STATUSES = ("booked", "in_progress", "ready")
# A customer cannot book a time that starts sooner than this.
MIN_NOTICE = timedelta(hours=1)


class BookingError(Exception):
    """Base of the booking errors an action turns into a message for the customer."""


class SlotTaken(BookingError):
    """The chosen time has no capacity left (someone else may just have taken it)."""


class NoSlotNeeded(BookingError):
    """Only items that need no workshop time (e.g. roof box rental) were asked for."""


@dataclass(frozen=True)
class Availability:
    """Whether a requested start time can be booked, and why not."""

    status: str  # "free" | "taken" | "closed" | "past"
    start: datetime


def now_local() -> datetime:
    return datetime.now(ZoneInfo(timezone_name())).replace(tzinfo=None, second=0, microsecond=0)


def setting(session: Session, key: str, default: object = None) -> object:
    row = session.get(Setting, key)
    return default if row is None else row.value


def default_location(session: Session) -> Location:
    code = setting(session, "default_location")
    loc = session.execute(select(Location).filter_by(code=code)).scalar_one_or_none()
    if loc is None:
        loc = session.execute(select(Location).order_by(Location.id)).scalars().first()
    if loc is None:
        raise LookupError("no workshop location in the database: run `bot seed-demo`")
    return loc


def services_by_code(session: Session, codes: list[str]) -> list[Service]:
    """Catalog services for the given codes, unknown codes dropped, in catalog order."""
    if not codes:
        return []
    rows = session.execute(select(Service).where(Service.code.in_(codes))).scalars().all()
    return sorted(rows, key=lambda s: s.sort_order)


def primary_resource(services: list[Service]) -> str | None:
    resources = {s.resource for s in services if s.resource}
    for resource in RESOURCE_PRIORITY:
        if resource in resources:
            return resource
    return next(iter(sorted(resources)), None)


def price_estimate(services: list[Service]) -> int:
    return sum(s.price_nok for s in services)


def _parse_clock(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def template_starts(template: CalendarTemplate, day: date) -> list[datetime]:
    """The slot start times a calendar template gives on one day."""
    hours = template.hours.get(WEEKDAYS[day.weekday()])
    if not hours:
        return []
    first = datetime.combine(day, _parse_clock(hours[0]))
    last = datetime.combine(day, _parse_clock(hours[1]))
    step = timedelta(minutes=template.slot_minutes)
    starts = []
    while first <= last:
        starts.append(first)
        first += step
    return starts


def ensure_calendar(session: Session, today: date, days: int | None = None) -> int:
    """Create the missing slots from today to the booking horizon; returns how many were missing.

    Several action servers may do this at the same moment: a slot another one just created is
    left as it is (INSERT ... ON CONFLICT DO NOTHING on the slot's unique key)."""
    horizon = int(days or setting(session, "booking_horizon_days", 21))  # type: ignore[arg-type]
    end = datetime.combine(today + timedelta(days=horizon + 1), time(0))
    missing: list[dict[str, object]] = []
    for template in session.execute(select(CalendarTemplate)).scalars():
        existing = set(
            session.execute(
                select(WorkshopSlot.start).where(
                    WorkshopSlot.location_id == template.location_id,
                    WorkshopSlot.resource == template.resource,
                    WorkshopSlot.start >= datetime.combine(today, time(0)),
                    WorkshopSlot.start < end,
                )
            ).scalars()
        )
        missing.extend(
            {"location_id": template.location_id, "resource": template.resource, "start": start,
             "capacity": template.capacity, "booked": 0}
            for offset in range(horizon + 1)
            for start in template_starts(template, today + timedelta(days=offset))
            if start not in existing
        )
    insert_missing(session, WorkshopSlot, missing)
    key = _calendar_key(session, today, days)
    event.listen(session, "after_commit", lambda _session: _calendar_ready.add(key), once=True)  # not on rollback
    return len(missing)


def insert_missing(session: Session, model: type, rows: list[dict[str, object]]) -> None:
    """Insert the rows whose unique keys are not taken yet (PostgreSQL and SQLite)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(model.__table__).on_conflict_do_nothing(), rows)


# (database, day, horizon) whose calendar this process has already made sure of.
_calendar_ready: set[tuple[str, date, int | None]] = set()


def _calendar_key(session: Session, today: date, days: int | None) -> tuple[str, date, int | None]:
    return (str(session.get_bind().url), today, days)


def ensure_calendar_once(session: Session, today: date) -> None:
    """`ensure_calendar`, once a day per process: a conversation's free times need not check
    21 days of slots on every turn (the horizon only moves when the date does)."""
    if _calendar_key(session, today, None) not in _calendar_ready:
        ensure_calendar(session, today)


def get_or_create_slot(
    session: Session, location: Location, resource: str, start: datetime
) -> WorkshopSlot:
    """The slot at `start`; seed data may place bookings outside the template (past days)."""
    slot = session.execute(
        select(WorkshopSlot).filter_by(location_id=location.id, resource=resource, start=start)
    ).scalar_one_or_none()
    if slot is None:
        template = session.execute(
            select(CalendarTemplate).filter_by(location_id=location.id, resource=resource)
        ).scalar_one_or_none()
        slot = WorkshopSlot(
            location_id=location.id,
            resource=resource,
            start=start,
            capacity=template.capacity if template else 1,
            booked=0,
        )
        session.add(slot)
        session.flush()
    return slot


def free_times(
    session: Session,
    service_codes: list[str],
    now: datetime,
    around: datetime | None = None,
    has_time: bool = False,
    count: int | None = None,
    ensure: bool = True,
) -> list[datetime]:
    """Free start times for the jobs, nearest to the wish first (`ensure=False`: the caller
    already made sure the calendar's slots exist, e.g. once per scheduler pass).

    With a day but no time, the day's free times come first, then the following days.
    With a time, the times closest to it (before or after) come first.
    """
    services = services_by_code(session, service_codes)
    resource = primary_resource(services)
    if resource is None:
        return []
    location = default_location(session)
    if ensure:
        ensure_calendar_once(session, now.date())
    count = count or int(setting(session, "free_times_offered", 4))  # type: ignore[arg-type]
    earliest = now + MIN_NOTICE
    if around is not None and not has_time:
        earliest = max(earliest, datetime.combine(around.date(), time(0)))
    horizon = int(setting(session, "booking_horizon_days", 21))  # type: ignore[arg-type]
    rows = (
        session.execute(
            select(WorkshopSlot.start)
            .where(
                WorkshopSlot.location_id == location.id,
                WorkshopSlot.resource == resource,
                WorkshopSlot.booked < WorkshopSlot.capacity,
                WorkshopSlot.start >= earliest,
                WorkshopSlot.start <= now + timedelta(days=horizon + 1),
            )
            .order_by(WorkshopSlot.start)
        )
        .scalars()
        .all()
    )
    if around is not None and has_time:
        rows = sorted(rows, key=lambda start: (abs((start - around).total_seconds()), start))
        return sorted(rows[:count])
    return list(rows[:count])


def check_time(session: Session, service_codes: list[str], start: datetime, now: datetime) -> Availability:
    """Is this exact start time bookable for these jobs?"""
    if start < now + MIN_NOTICE:
        return Availability("past", start)
    services = services_by_code(session, service_codes)
    resource = primary_resource(services)
    if resource is None:
        return Availability("free", start)
    location = default_location(session)
    ensure_calendar_once(session, now.date())
    slot = session.execute(
        select(WorkshopSlot).filter_by(location_id=location.id, resource=resource, start=start)
    ).scalar_one_or_none()
    if slot is None:
        return Availability("closed", start)
    if slot.booked >= slot.capacity:
        return Availability("taken", start)
    return Availability("free", start)


def _claim_slot(session: Session, location: Location, resource: str, start: datetime) -> WorkshopSlot:
    """Take one place in the slot, atomically: the UPDATE only matches while capacity is left."""
    slot = session.execute(
        select(WorkshopSlot).filter_by(location_id=location.id, resource=resource, start=start)
    ).scalar_one_or_none()
    if slot is None:
        raise SlotTaken(start)
    result = session.execute(
        update(WorkshopSlot)
        .where(and_(WorkshopSlot.id == slot.id, WorkshopSlot.booked < WorkshopSlot.capacity))
        .values(booked=WorkshopSlot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise SlotTaken(start)
    session.refresh(slot)
    return slot


def release_slot(session: Session, record: Booking) -> None:
    if record.slot_id is None:
        return
    session.execute(
        update(WorkshopSlot)
        .where(and_(WorkshopSlot.id == record.slot_id, WorkshopSlot.booked > 0))
        .values(booked=WorkshopSlot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    record.slot_id = None


def _new_reference(session: Session) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        reference = "FB-" + "".join(secrets.choice(alphabet) for _ in range(6))
        if session.execute(select(Booking.id).filter_by(reference=reference)).first() is None:
            return reference


def free_loaner(session: Session, location: Location, day: date) -> LoanerCar | None:
    taken = select(LoanerReservation.loaner_id).where(LoanerReservation.day == day)
    return (
        session.execute(
            select(LoanerCar)
            .where(LoanerCar.location_id == location.id, LoanerCar.active.is_(True))
            .where(LoanerCar.id.not_in(taken))
            .order_by(LoanerCar.id)
        )
        .scalars()
        .first()
    )


def reserve_loaner(session: Session, record: Booking) -> LoanerReservation | None:
    """A loaner car for the booking's day, or None when every car is taken."""
    if record.loaner is not None:
        return record.loaner
    day = record.start.date()
    for _ in range(3):  # another booking may take the same car between the look-up and insert
        car = free_loaner(session, record.location, day)
        if car is None:
            return None
        reservation = LoanerReservation(loaner_id=car.id, booking_id=record.id, day=day)
        nested = session.begin_nested()
        try:
            session.add(reservation)
            session.flush()
            nested.commit()
        except Exception:  # unique (loaner, day) violated by a concurrent reservation
            nested.rollback()
            continue
        session.refresh(record)
        return reservation
    return None


def book(
    session: Session,
    customer_id: int,
    service_codes: list[str],
    start: datetime,
    now: datetime,
    want_loaner: bool = False,
    vehicle_id: int | None = None,
    channel: str | None = None,
) -> Booking:
    """Book the jobs at `start`; raises SlotTaken when the time is no longer free."""
    services = services_by_code(session, service_codes)
    if not services:
        raise BookingError("no known service in the booking")
    if start < now + MIN_NOTICE:
        raise SlotTaken(start)
    location = default_location(session)
    resource = primary_resource(services)
    slot = _claim_slot(session, location, resource, start) if resource else None
    ready_hour = _parse_clock(str(setting(session, "ready_hour", "17:00")))
    record = Booking(
        reference=_new_reference(session),
        customer_id=customer_id,
        vehicle_id=vehicle_id,
        location_id=location.id,
        slot_id=slot.id if slot else None,
        start=start,
        status="booked",
        ready_at=max(start + timedelta(minutes=sum(s.duration_min for s in services)),
                     datetime.combine(start.date(), ready_hour)),
        channel=channel,
        items=[BookingItem(service_code=s.code, price_nok=s.price_nok) for s in services],
    )
    session.add(record)
    session.flush()
    if want_loaner:
        reserve_loaner(session, record)
    return record


def active_bookings(session: Session, customer_id: int, now: datetime) -> list[Booking]:
    """Bookings still to come or in the workshop, the most pressing first."""
    rows = (
        session.execute(
            select(Booking)
            .options(selectinload(Booking.items), selectinload(Booking.loaner))
            .where(Booking.customer_id == customer_id, Booking.status.in_(ACTIVE_STATUSES))
            .order_by(Booking.start)
        )
        .scalars()
        .all()
    )
    in_house = [b for b in rows if b.status in ("in_progress", "ready")]
    upcoming = [b for b in rows if b.status == "booked" and b.start >= now - timedelta(hours=12)]
    return in_house + upcoming


def next_changeable_booking(session: Session, customer_id: int, now: datetime) -> Booking | None:
    """The booking a customer most likely means by "my booking" when moving or cancelling."""
    for record in active_bookings(session, customer_id, now):
        if record.status == "booked" and record.start > now:
            return record
    return None


def cancel(session: Session, record: Booking) -> Booking:
    release_slot(session, record)
    if record.loaner is not None:
        session.delete(record.loaner)
    record.status = "cancelled"
    session.flush()
    return record


def reschedule(session: Session, record: Booking, start: datetime, now: datetime) -> Booking:
    """Move a booking: the new slot is claimed before the old one is released."""
    if start < now + MIN_NOTICE:
        raise SlotTaken(start)
    codes = [item.service_code for item in record.items]
    resource = primary_resource(services_by_code(session, codes))
    new_slot = _claim_slot(session, record.location, resource, start) if resource else None
    release_slot(session, record)
    had_loaner = record.loaner is not None
    if had_loaner:
        session.delete(record.loaner)
        session.flush()
        session.refresh(record)
    duration = record.ready_at - record.start if record.ready_at else timedelta(hours=8)
    record.slot_id = new_slot.id if new_slot else None
    record.start = start
    record.ready_at = start + duration
    session.flush()
    if had_loaner:
        reserve_loaner(session, record)
    return record
