"""The workshop calendar books only free times, and never more than a slot holds."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot import booking
from bot.db.models import LoanerCar, WorkshopSlot
from bot.db.session import session_scope
from bot.profile import find_customer
from tests.conftest import NOW

TUESDAY_10 = datetime(2026, 11, 24, 10, 0)


def kari(session) -> int:
    return find_customer(session, "rest", "demo-respond").id


def test_free_times_for_a_day_start_on_that_day(session):
    times = booking.free_times(session, ["service", "tyre_change"], NOW, around=TUESDAY_10, has_time=False)
    assert times and all(t.date() == TUESDAY_10.date() for t in times)
    assert times == sorted(times)


def test_free_times_with_a_time_are_nearest_to_it(session):
    times = booking.free_times(session, ["service"], NOW, around=TUESDAY_10, has_time=True, count=3)
    assert TUESDAY_10 in times
    assert max(abs(t - TUESDAY_10) for t in times) <= timedelta(hours=1)


def test_free_times_never_in_the_past_or_too_soon(session):
    times = booking.free_times(session, ["tyre_change"], NOW, count=10)
    assert all(t >= NOW + booking.MIN_NOTICE for t in times)


def test_booking_several_jobs_uses_the_heaviest_resource_and_sums_the_price(session):
    record = booking.book(session, kari(session), ["service", "tyre_change"], TUESDAY_10, NOW)
    assert record.reference.startswith("FB-")
    assert sorted(i.service_code for i in record.items) == ["service", "tyre_change"]
    assert sum(i.price_nok for i in record.items) == 3490 + 890
    slot = session.get(WorkshopSlot, record.slot_id)
    assert slot.resource == "workshop" and slot.booked == 1


def test_a_full_slot_is_refused_and_alternatives_are_offered(session):
    slot = session.execute(
        select(WorkshopSlot).filter_by(resource="workshop", start=TUESDAY_10)
    ).scalar_one()
    for _ in range(slot.capacity):
        booking.book(session, kari(session), ["service"], TUESDAY_10, NOW)
    assert booking.check_time(session, ["service"], TUESDAY_10, NOW).status == "taken"
    with pytest.raises(booking.SlotTaken):
        booking.book(session, kari(session), ["service"], TUESDAY_10, NOW)
    alternatives = booking.free_times(session, ["service"], NOW, around=TUESDAY_10, has_time=True)
    assert alternatives and TUESDAY_10 not in alternatives


def test_times_outside_opening_hours_and_in_the_past_are_not_bookable(session):
    assert booking.check_time(session, ["service"], datetime(2026, 11, 29, 10, 0), NOW).status == "closed"
    assert booking.check_time(session, ["service"], datetime(2026, 11, 23, 9, 0), NOW).status == "past"
    with pytest.raises(booking.SlotTaken):
        booking.book(session, kari(session), ["service"], datetime(2026, 11, 23, 9, 0), NOW)


def test_two_customers_racing_for_the_last_place_only_one_gets_it(db_url):
    with session_scope(db_url) as session:
        slot = session.execute(
            select(WorkshopSlot).filter_by(resource="wash", start=TUESDAY_10)
        ).scalar_one()
        assert slot.capacity == 1
        customer = kari(session)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        try:
            with session_scope(db_url) as s:
                booking.book(s, customer, ["wash"], TUESDAY_10, NOW)
            results.append("booked")
        except booking.SlotTaken:
            results.append("taken")
        except Exception as error:  # SQLite may refuse the second writer outright
            results.append(type(error).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("booked") == 1
    with session_scope(db_url) as session:
        assert session.execute(select(WorkshopSlot).filter_by(id=slot.id)).scalar_one().booked == 1


def test_cancel_frees_the_place_and_the_loaner(session):
    record = booking.book(session, kari(session), ["wash"], TUESDAY_10, NOW, want_loaner=True)
    assert record.loaner is not None
    booking.cancel(session, record)
    assert record.status == "cancelled"
    assert booking.check_time(session, ["wash"], TUESDAY_10, NOW).status == "free"
    assert booking.free_loaner(session, booking.default_location(session), TUESDAY_10.date()) is not None


def test_reschedule_moves_the_booking_and_frees_the_old_time(session):
    record = booking.book(session, kari(session), ["wash"], TUESDAY_10, NOW)
    later = TUESDAY_10 + timedelta(days=1)
    booking.reschedule(session, record, later, NOW)
    assert record.start == later
    assert booking.check_time(session, ["wash"], TUESDAY_10, NOW).status == "free"
    assert booking.check_time(session, ["wash"], later, NOW).status == "taken"


def test_loaner_cars_run_out(session):
    cars = session.execute(select(LoanerCar)).scalars().all()
    customer = kari(session)
    reserved = [
        booking.book(session, customer, ["tyre_change"], TUESDAY_10 + timedelta(minutes=30 * i), NOW,
                     want_loaner=True).loaner
        for i in range(len(cars) + 1)
    ]
    assert all(r is not None for r in reserved[: len(cars)])
    assert reserved[-1] is None


def test_next_changeable_booking_is_the_customers_next_one(session):
    sven = find_customer(session, "rest", "demo-sv").id
    record = booking.next_changeable_booking(session, sven, NOW)
    assert record is not None and record.reference == "FB-1005"
    ingrid = find_customer(session, "rest", "demo-auto").id
    assert [b.status for b in booking.active_bookings(session, ingrid, NOW)] == ["in_progress"]
