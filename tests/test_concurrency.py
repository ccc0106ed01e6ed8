"""Two customers booking the last free place at the same moment: exactly one gets it, on
SQLite and on PostgreSQL. The guarantee is the database's (a conditional UPDATE and the
slot's CHECK constraint), not a check in Python followed by a write."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import booking
from bot.db import migrate
from bot.db.models import Booking, WorkshopSlot
from bot.db.seed import seed_all
from bot.db.session import get_engine, session_scope
from bot.profile import find_customer
from tests.conftest import NOW

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Wash slots (capacity 1) on Tuesday and Wednesday: one race per slot.
RACE_SLOTS = [datetime(2026, 11, 24, 10, 0) + timedelta(days=d, hours=h) for d in (0, 1) for h in (0, 1, 2)]


def postgres_database() -> Iterator[str]:
    admin = create_engine(POSTGRES_ADMIN, future=True, isolation_level="AUTOCOMMIT")
    name = f"fjordbil_race_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {error.orig}")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def race_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        databases: Iterator[str] = iter([f"sqlite:///{tmp_path / 'race.db'}"])
    else:
        databases = postgres_database()
    url = next(databases)
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session, today=NOW.date())
        booking.ensure_calendar(session, NOW.date())
    yield url
    next(databases, None)


def customers(url: str) -> list[int]:
    with session_scope(url) as session:
        return [find_customer(session, "rest", sender).id for sender in ("demo-respond", "demo-en")]


def race(url: str, customer_ids: list[int], start: datetime) -> list[str]:
    barrier = threading.Barrier(len(customer_ids))
    results: list[str] = []

    def attempt(customer_id: int) -> None:
        barrier.wait()
        try:
            with session_scope(url) as session:
                booking.book(session, customer_id, ["wash"], start, NOW)
            results.append("booked")
        except booking.SlotTaken:
            results.append("taken")
        except OperationalError:  # SQLite may refuse the second writer (locked): not booked either
            results.append("refused")

    threads = [threading.Thread(target=attempt, args=(c,)) for c in customer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_customers_booking_the_last_free_slot_at_once_exactly_one_gets_it(race_db):
    ids = customers(race_db)
    for start in RACE_SLOTS:
        with session_scope(race_db) as session:
            slot = session.execute(select(WorkshopSlot).filter_by(resource="wash", start=start)).scalar_one()
            assert (slot.capacity, slot.booked) == (1, 0)
        results = race(race_db, ids, start)
        assert len(results) == 2 and results.count("booked") == 1, (start, results)
        with session_scope(race_db) as session:
            assert session.get(WorkshopSlot, slot.id).booked == 1
            assert len(session.execute(select(Booking).filter_by(slot_id=slot.id)).scalars().all()) == 1


def test_the_database_itself_refuses_more_bookings_than_a_slot_holds(race_db):
    with session_scope(race_db) as session:
        slot = session.execute(select(WorkshopSlot).filter_by(resource="wash", start=RACE_SLOTS[0])).scalar_one()
        slot_id = slot.id
    with pytest.raises(IntegrityError), session_scope(race_db) as session:
        session.execute(update(WorkshopSlot).where(WorkshopSlot.id == slot_id).values(booked=WorkshopSlot.capacity + 1))


def test_two_action_servers_opening_the_same_new_calendar_days_at_once_both_succeed(race_db):
    later = NOW.date() + timedelta(days=40)  # days no slot exists for yet
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def open_days() -> None:
        barrier.wait()
        try:
            with session_scope(race_db) as session:
                booking.ensure_calendar(session, later)
            outcomes.append("ok")
        except Exception as error:  # noqa: BLE001 - the test reports what went wrong
            outcomes.append(repr(error))

    threads = [threading.Thread(target=open_days) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == ["ok", "ok"]
    with session_scope(race_db) as session:
        starts = session.execute(select(WorkshopSlot.location_id, WorkshopSlot.resource, WorkshopSlot.start)
                                 .where(WorkshopSlot.start >= datetime.combine(later, datetime.min.time()))).all()
    assert starts and len(starts) == len(set(starts))
