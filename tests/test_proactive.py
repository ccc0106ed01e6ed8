"""The proactive engine against a real seeded database: detectors, the decision per strategy
and consent, the outbox (once only, retries, quiet hours), the lock, and whole passes
delivered to a stand-in of Rasa's trigger_intent endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Booking, Invoice, OutboxMessage, Preferences, VehicleReading
from bot.db.session import session_scope
from bot.handoff import tickets
from bot.proactive import outbox
from bot.proactive.detectors import (
    DueEvent,
    booking_tomorrow,
    car_ready,
    invoices,
    loaner_return,
    proactive_settings,
    service_due,
    tyre_change_due,
)
from bot.proactive.plan import plan
from bot.proactive.scheduler import SimulatedCrash, run_pass, scheduler_lock
from tests.conftest import NOW
from tests.fake_rasa import FakeRasa, start_fake_rasa

KARI, KAROLINE, OLA, INGRID, SVEN, EMMA = 1, 2, 3, 4, 5, 6


@pytest.fixture()
def cfg(session):
    return proactive_settings(session)


@pytest.fixture()
def rasa() -> Iterator[FakeRasa]:
    fake, stop = start_fake_rasa()
    yield fake
    stop()


def kinds(events: list[DueEvent]) -> set[tuple[int, str]]:
    return {(e.customer_id, e.event_type) for e in events}


# --- detectors ----------------------------------------------------------------------------
def test_service_due_by_date_within_the_lead_time(session, cfg):
    events = {e.customer_id: e for e in service_due(session, NOW, cfg)}
    assert events[KAROLINE].payload["by"] == "date"  # last service 372 days ago
    assert KARI not in events  # 340 days ago: due in 25 days, lead is 21


def test_service_due_by_distance_only_with_telemetry_consent(session, cfg):
    events = {e.customer_id: e for e in service_due(session, NOW, cfg)}
    assert events[OLA].payload["by"] == "distance" and events[OLA].payload["km"] == 44200
    session.get(Preferences, OLA).data_sharing = "history"
    session.flush()
    assert OLA not in {e.customer_id for e in service_due(session, NOW, cfg)}


def test_service_due_edge_a_reading_just_below_the_threshold(session, cfg):
    reading = session.execute(
        select(VehicleReading).where(VehicleReading.mileage_km == 44200)).scalar_one()
    reading.mileage_km = 43499  # 30,000 + 15,000 - 1,500 = 43,500 is the threshold
    session.flush()
    assert OLA not in {e.customer_id for e in service_due(session, NOW, cfg)}


def test_tyre_season_by_region(session, cfg):
    assert {c for c, _ in kinds(tyre_change_due(session, NOW, cfg))} == {KARI, KAROLINE, OLA, INGRID, SVEN, EMMA}
    assert tyre_change_due(session, datetime(2026, 7, 1, 12), cfg) == []
    assert len(tyre_change_due(session, datetime(2026, 10, 20, 12), cfg)) == 6  # season starts 1 Nov


def test_car_ready_invoice_and_reminders(session, cfg):
    assert kinds(car_ready(session, NOW, cfg)) == {(EMMA, "car_ready")}
    assert kinds(invoices(session, NOW, cfg)) == {(EMMA, "invoice_ready")}
    assert kinds(invoices(session, NOW + timedelta(days=20), cfg)) == {(EMMA, "invoice_overdue")}
    assert booking_tomorrow(session, NOW, cfg) == []
    assert kinds(booking_tomorrow(session, NOW + timedelta(days=4), cfg)) == {(SVEN, "booking_tomorrow")}


def test_loaner_return_when_the_car_with_a_loaner_is_ready(session, cfg):
    assert loaner_return(session, NOW, cfg) == []
    session.execute(select(Booking).filter_by(reference="FB-1004")).scalar_one().status = "ready"
    session.flush()
    assert kinds(loaner_return(session, NOW, cfg)) == {(INGRID, "loaner_return")}


def test_paid_invoices_are_not_announced(session, cfg):
    session.execute(select(Invoice).filter_by(number="F-2026-0106")).scalar_one().status = "paid"
    session.flush()
    assert invoices(session, NOW, cfg) == []


# --- decisions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("customer", "event", "action"),
    [(OLA, "service_due", "suggest"), (INGRID, "tyre_change", "book"), (KARI, "tyre_change", "skip"),
     (KAROLINE, "service_due", "skip"), (EMMA, "car_ready", "notify"), (EMMA, "booking_tomorrow", "skip")],
)
def test_decision_per_strategy(session, cfg, customer, event, action):
    decided = plan(session, DueEvent(customer, event, "k"), cfg["push_channels"])
    assert decided.action == action, decided.reason


def test_nobody_is_contacted_without_consent_for_the_channel(session, cfg):
    session.get(Preferences, EMMA).contact_channels = []
    session.flush()
    assert plan(session, DueEvent(EMMA, "car_ready", "k"), cfg["push_channels"]).reason == "no consent to contact"
    session.get(Preferences, EMMA).contact_channels = ["sms"]  # consented, but we cannot push SMS
    session.flush()
    assert plan(session, DueEvent(EMMA, "car_ready", "k"), cfg["push_channels"]).action == "undeliverable"


def test_the_preferred_consented_channel_with_an_identity_is_used(session, cfg):
    decided = plan(session, DueEvent(OLA, "service_due", "k"), cfg["push_channels"])
    assert (decided.channel, decided.recipient) == ("webchat", "demo-coach")  # no Telegram identity yet


# --- outbox -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("clock", "until"),
    [("22:30", "2026-11-24T08:00"), ("07:59", "2026-11-23T08:00"), ("08:00", None), ("20:59", None)],
)
def test_quiet_hours(clock, until):
    hours, minutes = map(int, clock.split(":"))
    result = outbox.quiet_until(NOW.replace(hour=hours, minute=minutes), ["21:00", "08:00"])
    assert (result.isoformat(timespec="minutes") if result else None) == until


def test_the_outbox_key_makes_a_message_once(session):
    assert outbox.enqueue(session, EMMA, "car_ready", "FB-1006", status="pending") is not None
    assert outbox.enqueue(session, EMMA, "car_ready", "FB-1006", status="pending") is None
    assert outbox.claim(session, 1, NOW) and not outbox.claim(session, 1, NOW)  # leased
    assert outbox.claim(session, 1, NOW + outbox.LEASE + timedelta(seconds=1))  # lease ran out


def test_failed_deliveries_back_off_then_fail_visibly(session, cfg):
    row = outbox.enqueue(session, EMMA, "car_ready", "FB-1006", status="pending")
    for attempt in range(1, int(cfg["max_attempts"]) + 1):
        outbox.claim(session, row.id, NOW + timedelta(days=attempt))
        session.refresh(row)
        status = outbox.mark_failed_attempt(session, row, NOW, "rasa unreachable", cfg)
        session.refresh(row)
        if attempt == 1:
            assert row.next_attempt_at == NOW + timedelta(seconds=30)
        if attempt == 2:
            assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert status == "failed" and row.status == "failed" and row.last_error == "rasa unreachable"


def test_only_one_scheduler_holds_the_lock(db_url):
    with scheduler_lock(db_url, "a", NOW) as first:
        with scheduler_lock(db_url, "b", NOW) as second:
            assert first and not second
        with scheduler_lock(db_url, "b", NOW + timedelta(minutes=11)) as after_expiry:
            assert after_expiry  # a crashed holder does not block forever
    with scheduler_lock(db_url, "b", NOW) as free_again:
        assert free_again


# --- whole passes -------------------------------------------------------------------------
def statuses(db_url: str) -> dict[tuple[int, str], str]:
    with session_scope(db_url) as session:
        rows = session.execute(select(OutboxMessage)).scalars().all()
        return {(r.customer_id, r.event_type): r.status for r in rows}


def test_a_pass_sends_coach_auto_and_transactional_messages_once(db_url, rasa):
    report = run_pass(NOW, db_url, rasa.url, "tok")
    sent = {(c["conversation"], c["channel"]) for c in rasa.calls}
    # Each goes into the conversation the customer's channel writes into: `webchat:<session>`.
    assert sent == {("webchat:demo-coach", "webchat"), ("webchat:demo-auto", "webchat"), ("webchat:demo-en", "webchat")}
    assert report.sent == 4 and all(c["name"] == "EXTERNAL_proactive" and c["token"] == "tok" for c in rasa.calls)
    # Ola's service and tyre change are one proposal; Ingrid's job is booked within her agreement.
    assert statuses(db_url)[(OLA, "tyre_change")] == "merged"
    with session_scope(db_url) as session:
        auto = session.execute(select(OutboxMessage).filter_by(customer_id=INGRID)).scalar_one()
        booked = session.get(Booking, auto.booking_id)
        assert auto.action == "booked" and booked.loaner is not None
        assert [i.service_code for i in booked.items] == ["tyre_change"]
        coach = session.execute(select(OutboxMessage).filter_by(customer_id=OLA, event_type="service_due")).scalar_one()
        assert coach.payload["services"] == ["service", "tyre_change"] and coach.payload["start"]
    again = run_pass(NOW + timedelta(minutes=5), db_url, rasa.url, "tok")
    assert again.sent == 0 and len(rasa.calls) == 4
    with session_scope(db_url) as session:  # and no second booking for Ingrid
        assert len(session.execute(select(Booking).filter_by(customer_id=INGRID)).scalars().all()) == 2


def test_a_crash_between_outbox_and_send_sends_exactly_once(db_url, rasa):
    with pytest.raises(SimulatedCrash):
        run_pass(NOW, db_url, rasa.url, "tok", holder="first", crash_after_enqueue=True)
    assert rasa.calls == [] and set(statuses(db_url).values()) >= {"pending"}
    report = run_pass(NOW + timedelta(minutes=1), db_url, rasa.url, "tok", holder="second")
    assert report.sent == 4 and len(rasa.calls) == 4
    run_pass(NOW + timedelta(minutes=2), db_url, rasa.url, "tok", holder="third")
    assert len(rasa.calls) == 4


def test_quiet_hours_make_messages_wait(db_url, rasa):
    night = NOW.replace(hour=22)
    report = run_pass(night, db_url, rasa.url, "tok")
    assert report.waiting == 4 and rasa.calls == []
    assert run_pass(night + timedelta(hours=2), db_url, rasa.url, "tok").sent == 0
    morning = run_pass(NOW.replace(hour=8, minute=1) + timedelta(days=1), db_url, rasa.url, "tok")
    # The four that waited, plus the reminder for Ingrid's job booked last night for tomorrow.
    assert morning.sent == 5 and statuses(db_url)[(INGRID, "booking_tomorrow")] == "sent"
    assert all(status in ("sent", "merged") for status in statuses(db_url).values())


def test_rasa_down_retries_then_delivers(db_url, rasa):
    rasa.fail_with = [500] * 4
    first = run_pass(NOW, db_url, rasa.url, "tok")
    assert first.sent == 0 and first.retrying == 4
    later = run_pass(NOW + timedelta(minutes=2), db_url, rasa.url, "tok")
    assert later.sent == 4


def test_no_consent_means_no_message(db_url, rasa):
    with session_scope(db_url) as session:
        session.get(Preferences, EMMA).contact_channels = []
    run_pass(NOW, db_url, rasa.url, "tok")
    assert "demo-en" not in {c["conversation"] for c in rasa.calls}
    assert (EMMA, "car_ready") not in statuses(db_url)


def test_a_customer_nobody_answered_is_told_once_and_offered_a_call_back(db_url, rasa):
    with session_scope(db_url) as session:
        tickets.open_ticket(session, "webchat:demo-en", "request_human", "en", NOW, 6,
                            sender_id="demo-en", channel="webchat")
    assert run_pass(NOW + timedelta(minutes=5), db_url, rasa.url, "tok").wait_notices == 0
    later = run_pass(NOW + timedelta(minutes=11), db_url, rasa.url, "tok")
    assert later.wait_notices == 1
    notice = [c for c in rasa.calls if "events" in c]
    assert notice[0]["conversation"] == "demo-en" and notice[0]["channel"] == "webchat"
    assert "call you back" in notice[0]["events"][0]["text"]
    assert run_pass(NOW + timedelta(minutes=20), db_url, rasa.url, "tok").wait_notices == 0  # once
