"""The demo data makes the contract's customers and their stories true."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db.models import Booking, Customer, Service, ServiceJob, WorkshopSlot
from bot.db.seed import seed_all
from bot.profile import customer_language, customer_strategy, find_customer
from tests.conftest import NOW

EXPECTED = {
    "demo-respond": ("Kari", "respond", "nb"),
    "demo-curated": ("Karoline", "curated", "nb"),
    "demo-coach": ("Ola", "coach", "nb"),
    "demo-auto": ("Ingrid", "auto", "nb"),
    "demo-sv": ("Sven", "curated", "sv"),
    "demo-en": ("Emma", "respond", "en"),
}


def test_demo_customers_have_the_contract_strategies_and_languages(session):
    for sender, (name, strategy, lang) in EXPECTED.items():
        for channel in ("rest", "cmdline", "socketio"):
            customer = find_customer(session, channel, sender)
            assert customer is not None, (sender, channel)
            assert customer.first_name == name
            assert customer_strategy(customer) == strategy
            assert customer_language(customer) == lang


def test_curated_customer_took_a_loaner_at_the_last_service_and_has_high_mileage(session):
    customer = find_customer(session, "rest", "demo-curated")
    jobs = session.execute(
        select(ServiceJob).filter_by(customer_id=customer.id).order_by(ServiceJob.done_on.desc())
    ).scalars().all()
    last_service = next(job for job in jobs if "service" in job.items)
    assert last_service.loaner_taken is True
    assert customer.vehicles[0].mileage_km > 100_000
    assert customer.vehicles[0].body_type == "suv"


def test_coach_customer_drives_to_the_mountains_and_shares_telemetry(session):
    vehicle = find_customer(session, "rest", "demo-coach").vehicles[0]
    assert vehicle.habits.get("mountain_trips")
    assert len(vehicle.readings) >= 2


def test_unknown_sender_is_a_guest(session):
    assert find_customer(session, "rest", "someone-new") is None
    assert find_customer(session, "telegram", "demo-respond") is None


def test_seeding_twice_creates_nothing_new(session):
    counts = [session.scalar(select(func.count()).select_from(t)) for t in (Customer, Booking, Service)]
    report = seed_all(session, today=NOW.date())
    assert "customers" not in report.created
    assert counts == [session.scalar(select(func.count()).select_from(t)) for t in (Customer, Booking, Service)]


def test_reset_recreates_demo_customers_and_frees_their_slots(session):
    booked_before = session.scalar(select(func.sum(WorkshopSlot.booked)))
    report = seed_all(session, today=NOW.date(), reset=True)
    assert report.created["customers"] == len(EXPECTED)
    assert session.scalar(select(func.sum(WorkshopSlot.booked))) == booked_before
    assert session.scalar(select(func.count()).select_from(Customer)) == len(EXPECTED)


def test_calendar_has_slots_for_the_booking_horizon(session):
    last = session.scalar(select(func.max(WorkshopSlot.start)))
    assert (last.date() - NOW.date()).days >= 20
