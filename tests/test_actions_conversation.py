"""Every other action, with a real tracker and a real database."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from actions.advice import ActionRecommend
from actions.conversation import ActionFallback, ActionGreet
from actions.handoff import ActionHandoff
from actions.identity import ActionAfterIdentification, ValidateIdentifyForm
from actions.info import ActionInvoice, ActionLocation, ActionOpeningHours, ActionPrice
from actions.manage import (
    ActionAskCancelConfirmed,
    ActionBookingStatus,
    ActionCancelBooking,
    ActionRequestLoanerCar,
    ActionRescheduleBooking,
    ValidateCancelForm,
)
from actions.preferences import ActionSetPreferences
from actions.privacy import ActionShowMyData
from actions.session import ActionSessionStart
from bot import booking
from bot.db.models import Booking, HumanRequest, Preferences
from tests.actions_support import entity, responses, run, slots_set, tracker, user_event
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)


async def test_session_start_recognises_the_customer_and_their_language(db_url):
    events, _ = await run(ActionSessionStart(), tracker("demo-sv"))
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    assert slots_set(events) == {"customer_id": "5", "customer_name": "Sven", "strategy": "curated",
                                 "language": "sv"}


async def test_session_start_for_a_guest_sets_nothing(db_url):
    events, _ = await run(ActionSessionStart(), tracker("never-seen"))
    assert slots_set(events) == {}


async def test_session_still_starts_when_the_database_is_down(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent-dir/x.db")
    events, dispatcher = await run(ActionSessionStart(), tracker("demo-sv"))
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


async def test_any_action_apologises_when_the_database_is_down(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent-dir/x.db")
    _, dispatcher = await run(ActionOpeningHours(), tracker())
    assert responses(dispatcher) == ["utter_technical_problem"]


async def test_greeting_uses_the_name_when_known(db_url):
    _, known = await run(ActionGreet(), tracker(slots={"customer_name": "Kari"}))
    _, guest = await run(ActionGreet(), tracker())
    assert responses(known) == ["utter_greet_known"] and responses(guest) == ["utter_greet"]


async def test_second_misunderstanding_in_a_row_offers_a_person_and_records_it(session):
    _, once = await run(ActionFallback(), tracker(intent="nlu_fallback", history=[user_event("greet")]))
    assert responses(once) == ["utter_default"]
    events, twice = await run(ActionFallback(), tracker(intent="nlu_fallback", history=[user_event("nlu_fallback")]))
    assert responses(twice)[0] == "utter_offer_human"
    assert any(e["event"] == "pause" for e in events)  # the bot steps aside for a person
    request = session.execute(select(HumanRequest)).scalar_one()
    assert (request.reason, request.sender_key) == ("fallback", "rest:demo-respond")


async def test_complaint_is_recorded_for_a_person(session):
    events, dispatcher = await run(ActionHandoff(), tracker(intent="complain", slots={"customer_id": "1"}))
    assert responses(dispatcher)[0] == "utter_complaint_received" and any(e["event"] == "pause" for e in events)
    assert session.execute(select(HumanRequest.reason)).scalar_one() == "complain"


async def test_price_of_a_named_service_and_the_whole_list(db_url):
    _, one = await run(
        ActionPrice(), tracker(text="hva koster dekkskift", entities=[entity("service_type", "tyre_change")])
    )
    assert one.messages[0]["price"] == "890\u00a0kr" and one.messages[0]["duration"] == "30 min"
    _, all_ = await run(ActionPrice(), tracker(text="prisliste?", slots={"language": "en"}))
    assert "roof box rental (week): NOK 590" in all_.messages[0]["price_list"]


async def test_hours_and_place_come_from_the_data(db_url):
    _, hours = await run(ActionOpeningHours(), tracker(slots={"language": "sv"}))
    assert "måndag–onsdag: 07:30–17:00" in hours.messages[0]["hours"]
    _, place = await run(ActionLocation(), tracker())
    assert place.messages[0]["address"] == "Strømsveien 200, 0668 Oslo"


async def test_invoice_for_a_known_customer(db_url):
    _, dispatcher = await run(ActionInvoice(), tracker("demo-en", slots={"customer_id": "6", "language": "en"}))
    message = dispatcher.messages[0]
    assert message["response"] == "utter_invoice_open" and message["amount"] == "NOK 4,380"
    assert message["payment_options"] == "Vipps, card and invoice (14 days)"


async def test_a_customer_id_slot_is_no_proof_of_identity(db_url):
    # The same conversation id reached from another channel, or a slot set by a payload, is a guest:
    # the invoice asks who it is talking to and shows nothing of the customer's.
    for sender, channel in (("demo-en", "telegram"), ("someone-else", "rest")):
        events, dispatcher = await run(ActionInvoice(), tracker(sender, slots={"customer_id": "6", "language": "en"},
                                                                channel=channel))
        assert not any(m.get("amount") for m in dispatcher.messages), (sender, channel)
        assert any(e.get("event") == "followup" and e["name"] == "identify_form" for e in events), (sender, channel)


async def test_the_channel_a_conversation_id_carries_decides_whose_data_it_may_show(db_url):
    # `webchat:demo-en` is Emma's web chat (a demo identity on webchat): her invoice is shown.
    _, own = await run(ActionInvoice(), tracker("webchat:demo-en", slots={"customer_id": "6", "language": "en"},
                                                channel="webchat"))
    assert any(m.get("amount") for m in own.messages)
    # Her id on a channel where it is not hers (Telegram), or a message into her web chat conversation
    # that came through another channel: a guest, asked who it is, shown nothing.
    for sender, channel in (("telegram:demo-en", "telegram"), ("webchat:demo-en", "rest"),
                            ("rest:webchat:demo-en", "rest")):
        events, dispatcher = await run(ActionInvoice(), tracker(sender, slots={"customer_id": "6", "language": "en"},
                                                                channel=channel))
        assert not any(m.get("amount") for m in dispatcher.messages), (sender, channel)
        assert any(e.get("event") == "followup" and e["name"] == "identify_form" for e in events), (sender, channel)


async def test_payment_question_needs_no_identity_but_the_invoice_does(db_url):
    _, pay = await run(ActionInvoice(), tracker("guest", entities=[entity("payment_method", "vipps")]))
    assert responses(pay) == ["utter_payment_options"]
    events, _ = await run(ActionInvoice(), tracker("guest"))
    assert slots_set(events) == {"pending_action": "action_invoice"}
    assert any(e.get("event") == "followup" and e["name"] == "identify_form" for e in events)


async def test_status_of_a_car_in_the_workshop_and_of_a_ready_car(db_url):
    _, auto = await run(ActionBookingStatus(), tracker("demo-auto", slots={"customer_id": "4"}))
    assert responses(auto) == ["utter_status_in_progress"]
    assert auto.messages[0]["ready_at"].endswith("kl. 18:00")
    _, en = await run(ActionBookingStatus(), tracker("demo-en", slots={"customer_id": "6", "language": "en"}))
    assert responses(en) == ["utter_status_ready"] and en.messages[0]["price"] == "NOK 4,380"


async def test_cancel_asks_then_cancels_the_next_booking(session):
    events, _ = await run(
        ValidateCancelForm(), tracker("demo-sv", slots={"customer_id": "5"}, active_loop="cancel_form")
    )
    # The form goes on (Rasa asks the next empty slot, cancel_confirmed) instead of ending.
    assert slots_set(events).get("requested_slot", "not ended") is not None
    _, ask = await run(ActionAskCancelConfirmed(), tracker("demo-sv", slots={"customer_id": "5", "language": "sv"}))
    assert ask.messages[0]["services"] == "däckbyte"
    _, done = await run(ActionCancelBooking(), tracker("demo-sv", slots={"customer_id": "5", "cancel_confirmed": True}))
    assert responses(done) == ["utter_cancelled"]
    assert session.execute(select(Booking.status).filter_by(reference="FB-1005")).scalar_one() == "cancelled"


async def test_cancel_without_bookings_says_so(db_url):
    events, _ = await run(
        ValidateCancelForm(), tracker("demo-coach", slots={"customer_id": "3"}, active_loop="cancel_form")
    )
    assert slots_set(events)["requested_slot"] is None
    _, dispatcher = await run(ActionCancelBooking(), tracker("demo-coach", slots={"customer_id": "3"}))
    assert responses(dispatcher) == ["utter_no_bookings"]


async def test_reschedule_moves_the_booking(session):
    _, dispatcher = await run(
        ActionRescheduleBooking(),
        tracker("demo-sv", slots={"customer_id": "5", "language": "sv", "booking_time": "2026-11-30T09:00:00"}),
    )
    assert responses(dispatcher) == ["utter_rescheduled"]
    assert dispatcher.messages[0]["when"] == "måndag 30 november kl. 09:00"
    moved = session.execute(select(Booking).filter_by(reference="FB-1005")).scalar_one()
    assert moved.start.isoformat() == "2026-11-30T09:00:00"


async def test_loaner_car_for_the_next_booking(session):
    _, dispatcher = await run(ActionRequestLoanerCar(), tracker("demo-sv", slots={"customer_id": "5"}))
    assert responses(dispatcher) == ["utter_loaner_reserved"]
    _, again = await run(ActionRequestLoanerCar(), tracker("demo-sv", slots={"customer_id": "5"}))
    assert responses(again) == ["utter_loaner_already"]
    _, none = await run(ActionRequestLoanerCar(), tracker("demo-coach", slots={"customer_id": "3"}))
    assert responses(none) == ["utter_loaner_needs_booking"]


async def test_recommendation_uses_the_cars_service_interval(db_url):
    _, dispatcher = await run(ActionRecommend(), tracker("demo-coach", slots={"customer_id": "3"}))
    assert responses(dispatcher)[0] == "utter_recommendation_service_due"
    assert dispatcher.messages[0]["model"] == "Skoda Enyaq iV 80"


async def test_preferred_channel_is_saved(session):
    _, dispatcher = await run(ActionSetPreferences(), tracker(
        "demo-respond", "kontakt meg på sms", entities=[entity("channel", "sms")], slots={"customer_id": "1"}))
    assert dispatcher.messages[0]["channel"] == "SMS"
    prefs = session.get(Preferences, 1)
    assert prefs.preferred_channel == "sms" and "sms" in prefs.contact_channels


async def test_show_my_data_summarises_the_profile(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    _, dispatcher = await run(ActionShowMyData(), tracker("demo-sv", slots={"customer_id": "5", "language": "sv"}))
    summary = dispatcher.messages[0]["text"]
    assert summary.startswith("Det här har vi sparat om dig") and "Sven Svensson" in summary and "V90" in summary
    assert responses(dispatcher)[1:] == ["utter_data_export_offer"]


async def test_guest_identifies_with_phone_and_code_then_the_pending_action_runs(db_url, caplog):
    form = ValidateIdentifyForm()
    events, dispatcher = await run(form, tracker(
        "guest-7", "912 34 567", "inform", slots={"requested_slot": "contact"}, active_loop="identify_form"))
    assert responses(dispatcher) == ["utter_code_sent"] and "912" not in str(dispatcher.messages)
    code = re.findall(r"one-time code: (\d{6})", caplog.text)[-1]
    with caplog.at_level(logging.WARNING):
        events, dispatcher = await run(form, tracker(
            "guest-7", code, "inform", slots={"requested_slot": "otp_code", "contact": "+4791234567"},
            active_loop="identify_form"))
    assert responses(dispatcher) == ["utter_identified"]
    assert slots_set(events)["customer_id"] == "1"
    events, dispatcher = await run(ActionAfterIdentification(), tracker(
        "guest-7", slots={"customer_id": "1", "pending_action": "action_booking_status"}))
    # The status is answered within this action: no follow-up for the policies to guess after.
    assert not any(e.get("event") == "followup" for e in events)
    assert responses(dispatcher) and all(r.startswith("utter_status_") or r == "utter_no_bookings"
                                         for r in responses(dispatcher))


async def test_unreadable_contact_is_asked_again(db_url):
    events, dispatcher = await run(ValidateIdentifyForm(), tracker(
        "guest-8", "hmm vet ikke", "inform", slots={"requested_slot": "contact"}, active_loop="identify_form"))
    assert responses(dispatcher) == ["utter_contact_invalid"]
    assert slots_set(events)["contact"] is None


def test_every_custom_action_of_the_domain_is_served_by_the_action_server():
    from rasa_sdk.executor import ActionExecutor

    from tests.actions_support import DOMAIN

    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {a for a in DOMAIN["actions"] if a.startswith(("action_", "validate_"))}
    assert custom <= set(executor.actions)
