"""Booking actions with a real tracker and a real database: the customer really gets booked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.booking import ActionAskBookingConfirmed, ActionBookService, ValidateBookingForm
from actions.time_choice import ActionAskBookingTime
from bot import booking
from bot.db.models import Booking, WorkshopSlot
from tests.actions_support import entity, responses, run, slots_set, tracker
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)


async def test_first_message_with_jobs_and_a_free_time_fills_the_form(db_url):
    trk = tracker(
        "demo-respond", "jeg vil bestille service og dekkskift neste tirsdag kl 10", "book_service",
        [entity("service_type", "service"), entity("service_type", "tyre_change")],
        slots={"customer_id": "1", "language": "nb"},
    )
    events, dispatcher = await run(ValidateBookingForm(), trk)
    slots = slots_set(events)
    assert slots["service_types"] == ["service", "tyre_change"]
    assert slots["booking_time"] == "2026-11-24T10:00:00"
    assert "requested_slot" not in slots  # identified: Rasa asks the next empty slot (loaner_car)


async def test_a_day_without_time_offers_that_days_free_times_as_buttons(db_url):
    trk = tracker(
        "demo-sv", "nästa tisdag", "inform", slots={"customer_id": "5", "language": "sv",
        "service_types": ["tyre_change"], "requested_slot": "booking_time"}, active_loop="booking_form",
    )
    events, _ = await run(ValidateBookingForm(), trk)
    wish = slots_set(events)["time_wish"]
    assert wish.startswith("2026-11-24")
    trk.slots.update(slots_set(events))
    events, dispatcher = await run(ActionAskBookingTime(), trk)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_free_times"
    assert message["buttons"] and all("2026-11-24" in b["payload"] for b in message["buttons"])
    assert message["buttons"][0]["title"].startswith("tis 24.11")
    assert len(slots_set(events)["offered_times"]) == len(message["buttons"])


async def test_the_first_one_picks_the_first_offered_time(db_url):
    trk = tracker(
        "demo-en", "the first one please", "inform", slots={"customer_id": "6", "language": "en",
        "service_types": ["wash"], "requested_slot": "booking_time",
        "offered_times": ["2026-11-25T09:00:00", "2026-11-25T10:00:00"]}, active_loop="booking_form",
    )
    events, _ = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["booking_time"] == "2026-11-25T09:00:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("i dag kl 9", "utter_time_in_past"), ("den 45. en gang", "utter_time_unparseable")],
)
async def test_past_or_unreadable_times_are_asked_again_politely(db_url, text, expected):
    trk = tracker(
        "demo-respond", text, "inform", slots={"customer_id": "1", "language": "nb",
        "service_types": ["service"], "requested_slot": "booking_time"}, active_loop="booking_form",
    )
    events, dispatcher = await run(ValidateBookingForm(), trk)
    assert responses(dispatcher) == [expected]
    assert slots_set(events)["booking_time"] is None


async def test_a_text_that_is_no_time_is_not_called_an_unreadable_time(db_url):
    trk = tracker(
        "demo-respond", "blåbærsyltetøy", "inform", slots={"customer_id": "1", "language": "nb",
        "service_types": ["service"], "requested_slot": "booking_time"}, active_loop="booking_form",
    )
    events, dispatcher = await run(ValidateBookingForm(), trk)
    assert responses(dispatcher) == ["utter_repair_not_understood"]
    assert slots_set(events)["requested_slot"] == "booking_time"


async def test_a_full_time_is_refused_and_remembered_for_alternatives(session):
    slot = session.execute(
        select(WorkshopSlot).filter_by(resource="workshop", start=NOW.replace(day=24, hour=10))
    ).scalar_one()
    slot.booked = slot.capacity
    session.commit()
    trk = tracker(
        "demo-respond", "tirsdag kl 10", "inform", slots={"customer_id": "1", "language": "nb",
        "service_types": ["service"], "requested_slot": "booking_time"}, active_loop="booking_form",
    )
    events, dispatcher = await run(ValidateBookingForm(), trk)
    assert responses(dispatcher) == ["utter_time_taken"]
    assert dispatcher.messages[0]["when"] == "tirsdag 24. november kl. 10:00"
    assert slots_set(events)["time_wish"] == "2026-11-24T10:00:00|time"


async def test_deny_when_asked_for_the_jobs_stops_the_booking(db_url):
    trk = tracker(
        "demo-respond", "nei, glem det", "deny", slots={"customer_id": "1", "requested_slot": "service_types"},
        active_loop="booking_form",
    )
    events, _ = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["requested_slot"] is None  # the form ends here
    _, dispatcher = await run(ActionBookService(), tracker(slots={"customer_id": "1"}))
    assert responses(dispatcher) == ["utter_booking_aborted"]


async def test_guest_is_asked_to_identify_first(db_url):
    trk = tracker("web-guest", "book a wash", "book_service", [entity("service_type", "wash")])
    events, _ = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["requested_slot"] == "contact"


async def test_confirmation_sums_up_with_price_and_place(db_url):
    trk = tracker(slots={"customer_id": "1", "language": "en", "service_types": ["service", "tyre_change"],
                         "booking_time": "2026-11-24T10:00:00", "loaner_car": True})
    _, dispatcher = await run(ActionAskBookingConfirmed(), trk)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_booking_confirmed_loaner"
    assert message["services"] == "service and tyre change"
    assert message["price"] == "NOK 4,380"
    assert message["when"] == "Tuesday 24 November at 10:00"
    assert message["location"] == "Fjordbil Alnabru"


async def test_confirmed_booking_is_stored_with_loaner_and_confirmed_to_the_customer(session):
    trk = tracker("demo-curated", slots={"customer_id": "2", "language": "nb",
                                         "service_types": ["service", "tyre_change"],
                                         "booking_time": "2026-11-24T10:00:00", "loaner_car": True,
                                         "booking_confirmed": True})
    events, dispatcher = await run(ActionBookService(), trk)
    assert responses(dispatcher) == ["utter_booking_confirmed", "utter_booking_confirmed_loaner"]
    reference = dispatcher.messages[0]["reference"]
    stored = session.execute(select(Booking).filter_by(reference=reference)).scalar_one()
    assert stored.customer_id == 2 and stored.loaner is not None
    assert sorted(i.service_code for i in stored.items) == ["service", "tyre_change"]
    assert all(value is None for value in slots_set(events).values())


async def test_time_taken_between_confirmation_and_booking_returns_to_the_form(session):
    slot = session.execute(
        select(WorkshopSlot).filter_by(resource="wash", start=NOW.replace(day=24, hour=10))
    ).scalar_one()
    slot.booked = slot.capacity
    session.commit()
    trk = tracker(slots={"customer_id": "1", "service_types": ["wash"],
                         "booking_time": "2026-11-24T10:00:00", "booking_confirmed": True})
    events, dispatcher = await run(ActionBookService(), trk)
    assert responses(dispatcher) == ["utter_booking_slot_lost"]
    assert {"event": "followup", "name": "booking_form"} in [
        {k: e[k] for k in ("event", "name")} for e in events if e.get("event") == "followup"
    ]


async def test_declined_confirmation_books_nothing(session):
    before = session.execute(select(Booking)).scalars().all()
    trk = tracker(slots={"customer_id": "1", "service_types": ["wash"],
                         "booking_time": "2026-11-24T10:00:00", "booking_confirmed": False})
    _, dispatcher = await run(ActionBookService(), trk)
    assert responses(dispatcher) == ["utter_booking_aborted"]
    assert len(session.execute(select(Booking)).scalars().all()) == len(before)
