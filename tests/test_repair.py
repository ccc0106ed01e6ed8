"""Conversation repair at action level, with real trackers and a real database: cancel,
digression, off-topic, skip and correction inside forms, completion after identification,
and the guards against loops."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from actions.booking import ActionBookService, ValidateBookingForm
from actions.common import SafeAction
from actions.conversation import ActionFallback, misunderstandings_in_a_row
from actions.identity import ActionAfterIdentification, ValidateIdentifyForm
from actions.manage import ActionCancelBooking, ValidateCancelForm, ValidateRescheduleForm
from actions.repair import ActionStop
from bot import booking
from bot import repair as core
from bot.dates import looks_like_when
from bot.db.models import Booking, ChannelIdentity
from bot.db.session import session_scope
from connectors.loop_guard import should_listen
from tests.actions_support import entity, responses, run, slots_set, tracker, user_event
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)


IN_BOOKING = {"customer_id": "1", "language": "nb", "service_types": ["wash"]}


def booking_turn(text: str, intent: str, requested: str, entities=None, **slots):
    values = {**IN_BOOKING, "requested_slot": requested, **slots}
    history = [{"event": "slot", "name": k, "value": v} for k, v in values.items()]   # set in earlier turns
    return tracker("demo-respond", text, intent, entities, slots=values, active_loop="booking_form", history=history)


# --- the patterns, without Rasa ------------------------------------------------------------

@pytest.mark.parametrize(
    ("intent", "form", "pattern"),
    [
        ("stop", "booking_form", core.CANCEL), ("cancel_booking", "booking_form", core.CANCEL),
        ("cancel_booking", "cancel_form", None), ("skip", "identify_form", core.SKIP),
        ("ask_price", "booking_form", core.DIGRESSION), ("booking_status", "reschedule_form", core.DIGRESSION),
        ("request_human", "booking_form", core.HANDOFF), ("delete_my_data", "booking_form", core.LATER),
        ("request_loaner_car", "booking_form", None), ("request_loaner_car", "cancel_form", core.LATER),
        ("out_of_scope", "cancel_form", core.OFF_TOPIC), ("nlu_fallback", "booking_form", core.NOT_UNDERSTOOD),
        ("inform", "booking_form", None), ("deny", "booking_form", None),
    ],
)
def test_each_message_inside_a_form_is_one_pattern_or_an_answer(intent, form, pattern) -> None:
    assert core.classify(intent, form) == pattern


@pytest.mark.parametrize(
    ("known", "text", "mentioned", "negative", "result"),
    [
        (["wash"], "sorry, I meant a tyre change, not a wash", ["tyre_change", "wash"], ["wash"], ["tyre_change"]),
        (["wash"], "jeg mente dekkskift", ["tyre_change"], [], ["tyre_change"]),
        (["wash"], "og dekkskift også", ["tyre_change"], [], ["wash", "tyre_change"]),
        (["wash", "polish"], "ikke polering likevel", ["polish"], ["polish"], ["wash"]),
        (["service"], "nej, däckbyte istället", ["tyre_change"], [], ["tyre_change"]),
    ],
)
def test_a_correction_replaces_removes_or_adds_jobs(known, text, mentioned, negative, result) -> None:
    assert core.corrected_services(known, mentioned, negative, core.replaces(text)) == result


def test_a_job_is_negated_only_by_the_words_just_before_it() -> None:
    text = "ikke vask, men dekkskift"
    assert core.negated(text, text.index("vask"))
    assert not core.negated(text, text.index("dekkskift"))
    assert core.negated("not a wash", 6) and not core.negated("a wash please", 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("torsdag", True), ("nei, torsdag passer bedre", True), ("kl 14", True), ("den første", True),
     ("neste uke", True), ("tomorrow morning", True), ("nästa vecka", True),
     ("avbryt", False), ("kaffe med melk takk", False), ("sdfgsdfg", False), ("never mind", False)],
)
def test_only_what_reads_like_a_date_or_time_is_taken_as_one(text, expected) -> None:
    assert looks_like_when(text, "nb", NOW) is expected


# --- cancel -------------------------------------------------------------------------------

@pytest.mark.parametrize("form_action", [ValidateBookingForm, ValidateRescheduleForm, ValidateCancelForm,
                                         ValidateIdentifyForm])
async def test_a_stop_message_ends_every_form_and_nothing_is_read_as_an_answer(db_url, form_action) -> None:
    form = form_action().form_name()
    trk = tracker("demo-respond", "avbryt, jeg har ombestemt meg", "stop",
                  slots={"customer_id": "1", "language": "nb", "requested_slot": "booking_time"}, active_loop=form)
    events, dispatcher = await run(form_action(), trk)
    assert slots_set(events) == {"form_stopped": form, "requested_slot": None}
    assert dispatcher.messages == []   # no "I could not read that as a date"


async def test_after_a_stop_the_booking_says_so_in_one_sentence_and_books_nothing(db_url, session) -> None:
    before = session.execute(select(Booking)).scalars().all()
    trk = tracker("demo-respond", "avbryt", "stop", slots={**IN_BOOKING, "form_stopped": "booking_form",
                                                            "booking_time": "2026-11-25T09:00:00"})
    events, dispatcher = await run(ActionBookService(), trk)
    assert responses(dispatcher) == ["utter_stopped_booking_form"]
    slots = slots_set(events)
    assert slots["form_stopped"] is None and slots["service_types"] is None and slots["booking_time"] is None
    session.expire_all()
    assert len(session.execute(select(Booking)).scalars().all()) == len(before)


async def test_a_stopped_cancellation_keeps_the_booking(db_url) -> None:
    trk = tracker("demo-auto", "glem det", "stop", slots={"customer_id": "4", "language": "nb",
                                                         "form_stopped": "cancel_form", "cancel_confirmed": None})
    _, dispatcher = await run(ActionCancelBooking(), trk)
    assert responses(dispatcher) == ["utter_stopped_cancel_form"]


async def test_stop_outside_a_form_drops_the_open_question(db_url) -> None:
    trk = tracker("demo-respond", "never mind", "stop", slots={"customer_id": "1", "pending_erasure": "1"})
    events, dispatcher = await run(ActionStop(), trk)
    assert responses(dispatcher) == ["utter_stopped_nothing"]
    assert slots_set(events) == {"pending_erasure": None}


# --- digression ---------------------------------------------------------------------------

async def test_a_price_question_inside_the_booking_answers_for_the_jobs_being_booked(db_url) -> None:
    trk = booking_turn("hva koster det egentlig?", "ask_price", "loaner_car",
                       service_types=["wash", "tyre_change"], booking_time="2026-11-25T09:00:00")
    events, dispatcher = await run(ValidateBookingForm(), trk)
    prices = [m for m in dispatcher.messages if m.get("response") == "utter_price"]
    assert len(prices) == 2 and "utter_price_list" not in responses(dispatcher)
    assert slots_set(events) == {"repair_reask": True, "requested_slot": "loaner_car"}


async def test_a_digression_needing_identity_inside_a_guests_form_says_so_and_keeps_the_form(db_url) -> None:
    trk = tracker("guest-1", "hva er fakturaen min?", "ask_invoice",
                  slots={"language": "nb", "requested_slot": "contact"}, active_loop="identify_form")
    events, dispatcher = await run(ValidateIdentifyForm(), trk)
    assert responses(dispatcher) == ["utter_repair_needs_identity"]
    assert all(e.get("event") != "followup" for e in events)
    assert slots_set(events)["requested_slot"] == "contact"


async def test_a_request_for_a_person_inside_a_form_is_left_to_the_handoff(db_url) -> None:
    events, dispatcher = await run(ValidateBookingForm(), booking_turn("jeg vil snakke med et menneske",
                                                                       "request_human", "booking_time"))
    assert events == [] and dispatcher.messages == []


# --- off-topic and not understood ---------------------------------------------------------

async def test_off_topic_gets_one_sentence_then_the_second_time_a_way_out(db_url) -> None:
    first, dispatcher = await run(ValidateBookingForm(), booking_turn("kan du lage en kaffe", "out_of_scope",
                                                                      "booking_time"))
    assert responses(dispatcher) == ["utter_repair_off_topic"]
    assert slots_set(first) == {"repair_misses": 1.0, "repair_reask": True, "requested_slot": "booking_time"}
    second, dispatcher = await run(ValidateBookingForm(), booking_turn("spill musikk", "out_of_scope",
                                                                       "booking_time", repair_misses=1.0))
    assert responses(dispatcher) == ["utter_repair_offer_exit"]
    assert slots_set(second)["repair_misses"] == 2.0


async def test_a_text_that_is_no_time_gets_no_date_complaint(db_url) -> None:
    events, dispatcher = await run(ValidateBookingForm(), booking_turn("hmm tja", "affirm", "booking_time"))
    assert "utter_time_unparseable" not in responses(dispatcher)
    assert responses(dispatcher) == ["utter_repair_not_understood"]
    assert slots_set(events)["requested_slot"] == "booking_time"


async def test_a_time_the_model_did_not_understand_is_still_a_time(db_url) -> None:
    events, _ = await run(ValidateBookingForm(), booking_turn("onsdag kl 9", "nlu_fallback", "booking_time"))
    assert slots_set(events)["booking_time"] == "2026-11-25T09:00:00"


# --- skip ---------------------------------------------------------------------------------

async def test_skipping_the_loaner_question_means_no_loaner_and_says_so(db_url) -> None:
    events, dispatcher = await run(ValidateBookingForm(), booking_turn(
        "vet ikke", "skip", "loaner_car", booking_time="2026-11-25T09:00:00"))
    assert responses(dispatcher) == ["utter_skip_loaner"]
    assert slots_set(events)["loaner_car"] is False and "requested_slot" not in slots_set(events)


async def test_any_time_takes_the_first_free_offered_time(db_url) -> None:
    events, dispatcher = await run(ValidateBookingForm(), booking_turn(
        "spiller ingen rolle", "skip", "booking_time", offered_times=["2026-11-25T09:00:00", "2026-11-25T10:00:00"]))
    assert slots_set(events)["booking_time"] == "2026-11-25T09:00:00"
    assert responses(dispatcher) == ["utter_skip_time"]


async def test_a_required_question_cannot_be_skipped(db_url) -> None:
    events, dispatcher = await run(ValidateIdentifyForm(), tracker(
        "guest-2", "vet ikke", "skip", slots={"language": "nb", "requested_slot": "contact"},
        active_loop="identify_form"))
    assert responses(dispatcher) == ["utter_skip_required"]
    assert slots_set(events)["requested_slot"] == "contact"


# --- correction ---------------------------------------------------------------------------

async def test_a_new_day_at_the_summary_changes_the_time_instead_of_refusing(db_url) -> None:
    trk = booking_turn("nei, torsdag passer bedre", "deny", "booking_confirmed",
                       booking_time="2026-11-25T09:00:00", loaner_car=False)
    events, _ = await run(ValidateBookingForm(), trk)
    slots = slots_set(events)
    assert slots.get("booking_confirmed") is None
    assert slots["booking_time"] is None and slots["time_wish"].startswith("2026-11-26")


async def test_another_job_replaces_the_one_being_booked_and_says_so(db_url) -> None:
    trk = booking_turn("sorry, jeg mente dekkskift, ikke vask", "inform", "loaner_car",
                       [entity("service_type", "tyre_change"), entity("service_type", "wash")],
                       booking_time="2026-11-25T09:00:00")
    events, dispatcher = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["service_types"] == ["tyre_change"]
    assert "utter_correction_services" in responses(dispatcher)


async def test_a_loaner_after_all_at_the_summary(db_url) -> None:
    trk = booking_turn("jeg trenger lånebil likevel", "request_loaner_car", "booking_confirmed",
                       booking_time="2026-11-25T09:00:00", loaner_car=False)
    events, _ = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["loaner_car"] is True


# --- completion after identification ------------------------------------------------------

async def test_after_the_code_the_original_question_is_answered_in_the_same_action(db_url) -> None:
    with session_scope(db_url) as session:   # what the code's verification left behind
        session.add(ChannelIdentity(customer_id=4, channel="rest", external_id="guest-3"))
    trk = tracker("guest-3", "123456", "inform", slots={"customer_id": "4", "language": "nb",
                                                        "pending_action": "action_booking_status"})
    events, dispatcher = await run(ActionAfterIdentification(), trk)
    assert all(e.get("event") != "followup" for e in events)
    assert any(r.startswith("utter_status_") for r in responses(dispatcher))
    assert slots_set(events)["pending_action"] is None


def test_a_phone_number_and_a_code_answered_by_a_form_are_no_misunderstandings() -> None:
    history = [user_event("booking_status"), {"event": "action", "name": "action_booking_status"},
               user_event("inform", "+47 912 34 567"), {"event": "action", "name": "identify_form"},
               user_event("inform", "123456"), {"event": "action", "name": "identify_form"}]
    trk = tracker("guest-4", "asdf", "nlu_fallback", history=history)
    assert misunderstandings_in_a_row(trk) == 1
    history += [user_event("inform", "qwe"), {"event": "action", "name": "action_fallback"}]
    assert misunderstandings_in_a_row(tracker("guest-4", "asdf", "nlu_fallback", history=history)) == 2


# --- never a loop -------------------------------------------------------------------------

async def test_an_action_predicted_twice_in_one_turn_says_nothing_the_second_time(db_url) -> None:
    class Hello(SafeAction):
        def name(self) -> str:
            return "action_hello_test"

        async def act(self, dispatcher, tracker, domain):
            dispatcher.utter_message(text="hei")
            return []

    once = tracker("demo-respond", "x", "greet")
    _, dispatcher = await run(Hello(), once)
    assert len(dispatcher.messages) == 1
    once.events.append({"event": "action", "name": "action_hello_test"})
    _, dispatcher = await run(Hello(), once)
    assert dispatcher.messages == []


async def test_the_fallback_after_an_answer_in_the_same_turn_is_silent(db_url) -> None:
    trk = tracker("demo-respond", "123456", "inform")
    trk.events.append({"event": "action", "name": "action_booking_status"})
    events, dispatcher = await run(ActionFallback(), trk)
    assert events == [] and dispatcher.messages == []


async def test_a_held_back_guess_about_personal_data_is_asked_back(db_url) -> None:
    trk = tracker("demo-respond", "vis meg alt", "nlu_fallback")
    trk.latest_message["intent"] = {"name": "nlu_fallback", "confidence": 0.25}
    trk.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.25},
                                            {"name": "show_my_data", "confidence": 0.55},
                                            {"name": "out_of_scope", "confidence": 0.2}]
    _, dispatcher = await run(ActionFallback(), trk)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_clarify_show_my_data"
    assert [b["payload"] for b in message["buttons"]] == ["/show_my_data", "/stop"]


@pytest.mark.parametrize(
    ("actions", "listen"),
    [([], False), (["booking_form"], False), (["action_booking_status"], False),
     (["action_booking_status", "action_fallback"], True), (["action_fallback"], True),
     (["booking_form", "action_book_service", "booking_form"], True),
     (["a", "b", "c", "d", "e", "f"], True)],
)
def test_the_loop_guard_ends_a_turn_that_repeats_itself(actions, listen) -> None:
    assert should_listen(actions, "action_fallback", 6) is listen


def test_a_date_in_the_future_is_used_for_the_skip_test() -> None:
    assert datetime(2026, 11, 25, 9) > NOW


async def test_no_loaner_named_in_the_answer_is_a_no(db_url) -> None:
    for text in ("i don't need a loaner car", "no loaner car thanks", "jeg trenger ikke lånebil"):
        events, _ = await run(ValidateBookingForm(), booking_turn(
            text, "request_loaner_car", "loaner_car", booking_time="2026-11-25T09:00:00"))
        assert slots_set(events)["loaner_car"] is False, text


async def test_any_time_is_fine_when_moving_takes_the_first_free_time(db_url, session) -> None:
    booking.book(session, 6, ["wash"], datetime(2026, 11, 27, 9), NOW, channel="rest")
    session.commit()
    trk = tracker("demo-en", "doesn't matter, any time is fine", "skip", slots={
        "customer_id": "6", "language": "en", "requested_slot": "booking_time",
        "offered_times": ["2026-11-26T10:00:00", "2026-11-26T11:00:00"]}, active_loop="reschedule_form")
    events, dispatcher = await run(ValidateRescheduleForm(), trk)
    assert responses(dispatcher) == ["utter_skip_time"]
    assert slots_set(events)["booking_time"] == "2026-11-26T10:00:00"


async def test_a_job_and_a_day_outside_a_form_start_a_booking_not_a_fallback(db_url) -> None:
    trk = tracker("demo-en", "tyre change on monday", "inform", [entity("service_type", "tyre_change")])
    events, dispatcher = await run(ActionFallback(), trk)
    assert dispatcher.messages == []
    assert events == [{"event": "followup", "timestamp": None, "name": "booking_form"}]


async def test_a_long_answer_inside_a_form_is_cut_to_two_messages_before_the_question(db_url) -> None:
    events, dispatcher = await run(ValidateBookingForm(), booking_turn(
        "hva bør jeg gjøre med bilen før vinteren?", "ask_recommendation", "service_types", service_types=None))
    assert 1 <= len(dispatcher.messages) <= 2
    assert slots_set(events)["requested_slot"] == "service_types"


def cancel_turn(text: str, intent: str):
    return tracker("demo-sv", text, intent, slots={"customer_id": "5", "language": "sv",
                                                   "requested_slot": "cancel_confirmed"}, active_loop="cancel_form")


async def test_keyboard_mashing_never_answers_yes_or_no(db_url) -> None:
    for intent in ("affirm", "deny"):
        events, dispatcher = await run(ValidateCancelForm(), cancel_turn("jkjkjk lölölö", intent))
        assert "cancel_confirmed" not in slots_set(events)
        assert responses(dispatcher) == ["utter_repair_not_understood"]


async def test_typing_the_buttons_words_is_a_yes(db_url) -> None:
    events, _ = await run(ValidateCancelForm(), cancel_turn("ja avboka", "cancel_booking"))
    assert slots_set(events)["cancel_confirmed"] is True


async def test_no_loaner_after_all_at_the_summary(db_url) -> None:
    events, _ = await run(ValidateBookingForm(), booking_turn(
        "fast jag vill inte ha lånebil ändå", "nlu_fallback", "booking_confirmed",
        booking_time="2026-11-25T09:00:00", loaner_car=True))
    assert slots_set(events)["loaner_car"] is False


async def test_another_day_the_model_did_not_understand_is_still_a_correction(db_url) -> None:
    events, _ = await run(ValidateBookingForm(), booking_turn(
        "kan vi ta det på fredag istället", "nlu_fallback", "loaner_car", booking_time="2026-11-25T09:00:00"))
    assert slots_set(events)["time_wish"].startswith("2026-11-27")


async def test_removing_one_of_the_jobs_is_a_correction_not_a_stop(db_url) -> None:
    events, dispatcher = await run(ValidateBookingForm(), booking_turn(
        "fjern vasken", "stop", "booking_confirmed", service_types=["eu_control", "wash"],
        booking_time="2026-11-25T09:00:00", loaner_car=False))
    slots = slots_set(events)
    assert slots.get("form_stopped") is None and slots["service_types"] == ["eu_control"]
    assert "utter_correction_services" in responses(dispatcher)


async def test_a_question_that_needed_identity_is_answered_right_after_the_code(db_url, caplog) -> None:
    import logging
    import re

    from actions.identity import IdentityValidation  # noqa: F401 - the booking form's identity part

    asked = tracker("guest-9", "er bilen min ferdig?", "booking_status", slots={
        "language": "nb", "requested_slot": "contact", "service_types": ["wash"]}, active_loop="booking_form")
    events, dispatcher = await run(ValidateBookingForm(), asked)
    assert responses(dispatcher) == ["utter_repair_needs_identity"]
    assert slots_set(events)["pending_action"] == "action_booking_status"
    contact = tracker("guest-9", "912 34 567", "inform", slots={
        "language": "nb", "requested_slot": "contact", "service_types": ["wash"],
        "pending_action": "action_booking_status"}, active_loop="booking_form")
    with caplog.at_level(logging.INFO):
        await run(ValidateBookingForm(), contact)
    code = re.findall(r"one-time code: (\d{6})", caplog.text)[-1]
    answer = tracker("guest-9", code, "inform", slots={
        "language": "nb", "requested_slot": "otp_code", "contact": "+4791234567", "service_types": ["wash"],
        "pending_action": "action_booking_status"}, active_loop="booking_form")
    events, dispatcher = await run(ValidateBookingForm(), answer)
    said = responses(dispatcher)
    assert said[0] == "utter_identified" and any(r.startswith("utter_status_") or r == "utter_no_bookings"
                                                 for r in said[1:])
    assert slots_set(events)["pending_action"] is None and slots_set(events)["customer_id"] == "1"
