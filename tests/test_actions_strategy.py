"""The strategy engine inside conversations, action by action with real trackers and a real
database: offers inside the booking form, one tap to accept or decline, the booking with
the accepted offers' prices, "why?", and customer control over what is used."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from actions.advice import ActionRecommend
from actions.booking import (
    ActionAskBookingConfirmed,
    ActionAskLoanerCar,
    ActionAskSuggestionAnswer,
    ActionBookService,
    ValidateBookingForm,
)
from actions.preferences import ActionSetPreferences, ActionYesNo
from actions.suggestions import ActionExplainSuggestion
from bot import booking
from bot.db.models import Booking, Preferences, Suggestion
from bot.db.session import session_scope
from bot.strategy.engine import clear_caches
from tests.actions_support import entity, responses, run, slots_set, tracker
from tests.conftest import NOW

TIME = "2026-11-24T10:00:00"
CUSTOMERS = {
    "demo-respond": ("1", "respond"), "demo-curated": ("2", "curated"), "demo-coach": ("3", "coach"),
    "demo-auto": ("4", "auto"), "demo-sv": ("5", "curated"),
}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)
    clear_caches()


def booking_tracker(sender: str, text: str, intent: str, lang: str = "nb", **slots: Any):
    cid, strategy = CUSTOMERS[sender]
    base = {"customer_id": cid, "strategy": strategy, "language": lang, "service_types": ["service", "tyre_change"],
            "booking_time": TIME, "booking_draft": "d1"}
    return tracker(sender, text, intent, slots={**base, **slots}, active_loop="booking_form",
                   entities=slots.pop("entities", None) if "entities" in slots else None)


async def test_curated_is_offered_the_loaner_car_with_the_reason(db_url):
    _, dispatcher = await run(ActionAskLoanerCar(), booking_tracker("demo-curated", "", "inform"))
    message = dispatcher.messages[0]
    assert message["response"] == "utter_suggest_loaner"
    assert message["reason"] == "Du tok lånebil sist bilen din var hos oss."
    assert [b["title"] for b in message["buttons"]] == ["Ja, legg til", "Nei takk"]
    assert message["buttons"][0]["payload"].startswith('/affirm{"suggestion":"')


async def test_respond_gets_the_plain_loaner_question(db_url):
    events, dispatcher = await run(ActionAskLoanerCar(), booking_tracker("demo-respond", "", "inform"))
    assert responses(dispatcher) == ["utter_ask_loaner_car"] and "loaner_suggestion" not in slots_set(events)


async def test_the_loaner_answer_is_stored_as_the_offer_outcome(db_url):
    events, _ = await run(ActionAskLoanerCar(), booking_tracker("demo-curated", "", "inform"))
    offered = slots_set(events)["loaner_suggestion"]
    trk = booking_tracker("demo-curated", "ja", "affirm", requested_slot="loaner_car", loaner_car=True,
                          loaner_suggestion=offered)
    trk.events.append({"event": "slot", "name": "loaner_car", "value": True})  # as Rasa's slot mapping sets it
    events, _ = await run(ValidateBookingForm(), trk)
    with session_scope(db_url) as session:
        assert session.get(Suggestion, int(offered)).status == "accepted"
    # Once the loaner question is answered, the engine's next offer is asked.
    assert slots_set(events)["requested_slot"] == "suggestion_answer"


async def offer_round(sender: str, lang: str = "nb") -> tuple[dict[str, Any], Any]:
    trk = booking_tracker(sender, "nei", "deny", lang, requested_slot="loaner_car", loaner_car=False)
    events, dispatcher = await run(ValidateBookingForm(), trk)
    return slots_set(events), dispatcher


async def test_curated_gets_interior_and_paint_offer_after_the_loaner_question(db_url):
    slots, _ = await offer_round("demo-curated", "en")
    assert slots["requested_slot"] == "suggestion_answer"
    trk = booking_tracker("demo-curated", "", "deny", "en", open_suggestion=slots["open_suggestion"])
    _, dispatcher = await run(ActionAskSuggestionAnswer(), trk)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_suggest_offer"
    assert message["offer"] == "Interior cleaning and paint treatment at half price"
    assert message["price"] == "NOK 1,890" and "90,000 km" in message["reason"]


async def test_coach_gets_the_roof_box_and_respond_gets_nothing(db_url):
    coach, _ = await offer_round("demo-coach")
    with session_scope(db_url) as session:
        assert session.get(Suggestion, int(coach["open_suggestion"])).offer_code == "roof_box_winter"
    respond, _ = await offer_round("demo-respond")
    assert respond.get("suggestions_checked") is True and "open_suggestion" not in respond


async def test_auto_customer_gets_the_agreements_loaner_without_being_asked(db_url):
    trk = booking_tracker("demo-auto", "tirsdag kl 10", "inform", requested_slot="booking_time")
    events, dispatcher = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["loaner_car"] is True
    assert "utter_agreement_loaner" in responses(dispatcher)


async def test_accepting_and_declining_with_one_tap_each(db_url):
    slots, _ = await offer_round("demo-curated")
    first = slots["open_suggestion"]
    tap = booking_tracker("demo-curated", "/affirm", "affirm", requested_slot="suggestion_answer",
                          loaner_car=False, open_suggestion=first, entities=[entity("suggestion", first)])
    events, dispatcher = await run(ValidateBookingForm(), tap)
    after = slots_set(events)
    assert responses(dispatcher)[0] == "utter_suggestion_added"
    # Next offer: paint alone is not offered (accepted bundle has it); nothing else fits Karoline.
    assert after["suggestions_checked"] is True and after["open_suggestion"] is None
    with session_scope(db_url) as session:
        assert session.get(Suggestion, int(first)).status == "accepted"


async def test_declined_offer_is_not_asked_again_and_the_next_one_comes(db_url):
    slots, _ = await offer_round("demo-curated")
    first = slots["open_suggestion"]
    trk = booking_tracker("demo-curated", "nei takk", "deny", requested_slot="suggestion_answer",
                          loaner_car=False, open_suggestion=first)
    events, dispatcher = await run(ValidateBookingForm(), trk)
    after = slots_set(events)
    assert responses(dispatcher)[0] == "utter_suggestion_declined"
    assert after["open_suggestion"] not in (None, first)
    with session_scope(db_url) as session:
        assert session.get(Suggestion, int(first)).status == "declined"
        assert session.get(Suggestion, int(after["open_suggestion"])).offer_code == "polish_half_price"
    # The second answer ends the round (at most two offers per booking).
    trk = booking_tracker("demo-curated", "nei", "deny", requested_slot="suggestion_answer",
                          loaner_car=False, open_suggestion=after["open_suggestion"])
    events, _ = await run(ValidateBookingForm(), trk)
    assert slots_set(events)["suggestions_checked"] is True


async def test_summary_and_booking_include_the_accepted_offer_at_its_price(db_url):
    slots, _ = await offer_round("demo-curated")
    tap = booking_tracker("demo-curated", "ja", "affirm", requested_slot="suggestion_answer",
                          loaner_car=False, open_suggestion=slots["open_suggestion"])
    await run(ValidateBookingForm(), tap)
    done = dict(loaner_car=False, suggestions_checked=True, booking_confirmed=True)
    _, dispatcher = await run(ActionAskBookingConfirmed(), booking_tracker("demo-curated", "", "inform", **done))
    summary = dispatcher.messages[-1]
    assert "innvendig rengjøring og lakkbehandling til halv pris" in summary["services"]
    assert summary["price"] == "6\u00a0270\u00a0kr"  # 3 490 + 890 + 1 890
    events, dispatcher = await run(ActionBookService(), booking_tracker("demo-curated", "ja", "affirm", **done))
    confirmed = dispatcher.messages[0]
    assert confirmed["response"] == "utter_booking_confirmed" and confirmed["price"] == "6\u00a0270\u00a0kr"
    with session_scope(db_url) as session:
        record = session.execute(select(Booking).filter_by(reference=confirmed["reference"])).scalar_one()
        assert sorted((i.service_code, i.price_nok) for i in record.items) == [
            ("interior_cleaning", 645), ("polish", 1245), ("service", 3490), ("tyre_change", 890)]
    assert slots_set(events)["booking_draft"] is None  # the next booking is a new context


async def test_auto_summary_states_pickup_and_payment_by_agreement(db_url):
    done = dict(loaner_car=True, suggestions_checked=True)
    _, dispatcher = await run(ActionAskBookingConfirmed(), booking_tracker("demo-auto", "", "inform", **done))
    assert responses(dispatcher)[:2] == ["utter_agreement_pickup", "utter_agreement_payment"]
    assert dispatcher.messages[1]["payment"] == "faktura (14 dager)"


async def test_why_is_answered_with_the_stored_reason_and_data(db_url):
    await offer_round("demo-curated", "en")
    trk = tracker("demo-curated", "why did you suggest that?", "ask_suggestion_reason",
                  slots={"customer_id": "2", "language": "en"})
    _, dispatcher = await run(ActionExplainSuggestion(), trk)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_explain_suggestion"
    assert "90,000 km" in message["reason"] and message["data"] == "the mileage we recorded at your last workshop visit"


async def test_why_without_any_suggestion(db_url):
    trk = tracker("demo-respond", "hvorfor foreslår du det?", "ask_suggestion_reason", slots={"customer_id": "1"})
    _, dispatcher = await run(ActionExplainSuggestion(), trk)
    assert responses(dispatcher) == ["utter_no_suggestion_to_explain"]


async def test_withdrawing_consent_in_chat_removes_usage_suggestions_in_the_next_turn(db_url):
    trk = tracker("demo-coach", "slutt å bruke kjøredataene mine", "set_preferences",
                  slots={"customer_id": "3", "strategy": "coach", "language": "nb"})
    events, dispatcher = await run(ActionSetPreferences(), trk)
    assert responses(dispatcher) == ["utter_pref_sharing_history"]
    assert slots_set(events)["strategy"] == "curated"
    slots, _ = await offer_round("demo-coach")
    assert slots.get("suggestions_checked") is True and "open_suggestion" not in slots


async def test_automatic_service_needs_an_explicit_yes(db_url):
    trk = tracker("demo-respond", "jeg vil ha automatisk serviceavtale", "set_preferences",
                  slots={"customer_id": "1", "strategy": "respond", "language": "nb"})
    events, dispatcher = await run(ActionSetPreferences(), trk)
    assert responses(dispatcher) == ["utter_confirm_auto_on"]
    pending = slots_set(events)["pending_preference"]
    with session_scope(db_url) as session:
        assert session.get(Preferences, 1).auto_service is False  # nothing changed yet
    no = tracker("demo-respond", "nei", "deny", slots={"customer_id": "1", "pending_preference": pending})
    events, dispatcher = await run(ActionYesNo(), no)
    assert responses(dispatcher) == ["utter_pref_unchanged"] and slots_set(events)["pending_preference"] is None
    yes = tracker("demo-respond", "ja", "affirm", slots={"customer_id": "1", "pending_preference": pending})
    events, dispatcher = await run(ActionYesNo(), yes)
    assert responses(dispatcher) == ["utter_pref_auto_on"] and slots_set(events)["strategy"] == "auto"
    with session_scope(db_url) as session:
        prefs = session.get(Preferences, 1)
        assert prefs.auto_service and prefs.data_sharing == "usage" and prefs.agreement["loaner"] is True


async def test_unclear_preference_change_asks_what_to_change(db_url):
    trk = tracker("demo-respond", "endre innstillingene mine", "set_preferences", slots={"customer_id": "1"})
    _, dispatcher = await run(ActionSetPreferences(), trk)
    assert responses(dispatcher) == ["utter_ask_which_preference"]


async def test_a_lone_yes_without_anything_pending_asks_what_else(db_url):
    _, dispatcher = await run(ActionYesNo(), tracker("demo-respond", "ja", "affirm", slots={"customer_id": "1"}))
    assert responses(dispatcher) == ["utter_anything_else"]


@pytest.mark.parametrize(
    ("sender", "cid", "lang", "expected"),
    [
        ("demo-respond", "1", "nb", ["utter_recommendation_service_due", "utter_tyre_change_now",
                                     "utter_winter_checklist", "utter_advice_suggestion"]),
        ("demo-coach", "3", "en", ["utter_recommendation_service_due", "utter_tyre_change_now",
                                   "utter_winter_checklist", "utter_advice_suggestion"]),
        ("guest-1", None, "sv", ["utter_tyre_general", "utter_winter_checklist"]),
    ],
)
async def test_advice_on_request_for_any_strategy(db_url, sender, cid, lang, expected):
    trk = tracker(sender, "hva bør jeg gjøre før vinteren?", "ask_recommendation",
                  slots={"customer_id": cid, "language": lang})
    _, dispatcher = await run(ActionRecommend(), trk)
    assert responses(dispatcher) == expected
    checklist = next(m for m in dispatcher.messages if m["response"] == "utter_winter_checklist")["checklist"]
    assert checklist.count("•") >= 3


async def test_a_stale_button_of_another_offer_does_not_answer_the_open_one(db_url):
    slots, _ = await offer_round("demo-curated")
    open_one = slots["open_suggestion"]
    stale = booking_tracker("demo-curated", "/affirm", "affirm", requested_slot="suggestion_answer",
                            loaner_car=False, open_suggestion=open_one, entities=[entity("suggestion", "999")])
    events, dispatcher = await run(ValidateBookingForm(), stale)
    assert dispatcher.messages == [] and "open_suggestion" not in slots_set(events)
    with session_scope(db_url) as session:
        assert session.get(Suggestion, int(open_one)).status == "offered"
