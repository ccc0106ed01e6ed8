"""Suggestions from the catalog for the demo customers, their outcomes, and how outcomes
feed the ranking. A real migrated and seeded database; the clock is the seed day."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot import booking
from bot.db.models import BookingItem, Offer, Preferences, Suggestion
from bot.preferences import Change, apply_change
from bot.strategy import outcomes
from bot.strategy.engine import clear_caches, suggest
from tests.conftest import NOW

RESPOND, CURATED, COACH, AUTO, SV, EN = 1, 2, 3, 4, 5, 6
SERVICE_AND_TYRES = ["service", "tyre_change"]


@pytest.fixture(autouse=True)
def fresh_rates():
    clear_caches()
    yield
    clear_caches()


def codes(result) -> list[str]:
    return [s.offer_code for s in result.items]


def test_respond_customers_get_no_suggestion_unless_they_ask(session, today):
    assert codes(suggest(session, RESPOND, today, "nb", services=SERVICE_AND_TYRES)) == []
    asked = suggest(session, RESPOND, today, "nb", asked=True)
    # Only facts about the car itself: its age, never history or usage.
    assert codes(asked) == ["polish_half_price"]
    assert {d["source"] for s in asked.items for d in s.data_used} == {"vehicle"}


def test_curated_gets_the_loaner_car_again_because_taken_last_time(session, today):
    result = suggest(session, CURATED, today, "nb", services=SERVICE_AND_TYRES, kinds=("loaner",))
    loaner = result.first()
    assert loaner.offer_code == "loaner_again" and loaner.kind == "loaner" and loaner.price_nok == 0
    assert loaner.reason == "Du tok lånebil sist bilen din var hos oss."
    assert loaner.data_used[0]["fact"] == "loaner_last_time" and loaner.data_used[0]["source"] == "history"


def test_curated_high_mileage_gets_interior_and_paint_at_half_price(session, today):
    result = suggest(session, CURATED, today, "en", services=SERVICE_AND_TYRES, kinds=("service",))
    care = result.first()
    assert care.offer_code == "care_half_price" and care.price_nok == 1890
    assert care.reason.startswith("Your car has passed 90,000 km: interior cleaning and paint treatment at half price")
    assert care.data_used == ({"fact": "mileage_km", "source": "history", "value": 142300},)
    # The single paint offer sells a service the bundle already has: it is not offered next to it.
    assert "polish_half_price" not in codes(result)


def test_offers_that_need_a_service_are_not_made_for_a_tyre_change_alone(session, today):
    assert codes(suggest(session, CURATED, today, "nb", services=["tyre_change"])) == []


def test_coach_mountain_habit_gets_a_roof_box_in_winter_only(session, today):
    result = suggest(session, COACH, today, "nb", services=SERVICE_AND_TYRES)
    assert codes(result) == ["roof_box_winter"]
    assert "fjellet annenhver helg" in result.first().reason
    assert result.first().data_used[0]["source"] == "usage"
    assert codes(suggest(session, COACH, date(2026, 7, 1), "nb", services=SERVICE_AND_TYRES)) == []


def test_auto_customer_is_served_from_usage_and_history(session, today):
    result = suggest(session, AUTO, today, "nb", services=SERVICE_AND_TYRES)
    assert result.strategy == "auto" and result.facts.agreement["loaner"] is True
    assert codes(result) == ["loaner_again"]


def test_swedish_customer_gets_swedish_reasons(session, today):
    result = suggest(session, SV, today, "sv", services=SERVICE_AND_TYRES)
    assert codes(result) == ["loaner_again", "care_half_price"]
    assert result.items[1].reason.startswith("Bilen har passerat 90\u00a0000 km")


def test_withdrawing_usage_consent_removes_usage_based_suggestions_at_once(session, today):
    assert codes(suggest(session, COACH, today, "nb", services=SERVICE_AND_TYRES)) == ["roof_box_winter"]
    apply_change(session, COACH, Change("sharing", "history"), NOW)
    after = suggest(session, COACH, today, "nb", services=SERVICE_AND_TYRES)
    assert after.strategy == "curated"
    assert "usage" not in after.facts.choice.data_allowed
    assert not any(d["source"] == "usage" for s in after.items for d in s.data_used)
    assert "habits" not in after.facts.facts and "usage_mileage_km" not in after.facts.facts


def test_withdrawing_history_leaves_a_respond_customer(session, today):
    apply_change(session, CURATED, Change("sharing", "contact"), NOW)
    assert suggest(session, CURATED, today, "nb", services=SERVICE_AND_TYRES).items == []
    asked = suggest(session, CURATED, today, "nb", asked=True)
    assert all(d["source"] == "vehicle" for s in asked.items for d in s.data_used)


def test_guests_get_nothing_personal(session, today):
    result = suggest(session, None, today, "nb", asked=True)
    assert result.strategy == "respond" and result.items == []


def offer(session, customer_id: int, code: str, context: str, strategy: str = "curated") -> Suggestion:
    return outcomes.record_offered(
        session, customer_id, code, context, strategy=strategy, channel="rest", lang="nb",
        reason="r", data_used=[{"fact": "x", "source": "history", "value": date(2026, 1, 1)}],
        price_nok=100, now=NOW,
    )


def test_an_offer_is_stored_once_per_context_with_its_reason_and_data(session):
    first = offer(session, CURATED, "care_half_price", "booking:a")
    again = offer(session, CURATED, "care_half_price", "booking:a")
    assert first.id == again.id and first.status == "offered"
    assert first.data_used == [{"fact": "x", "source": "history", "value": "2026-01-01"}]


def test_only_the_customer_can_decide_their_offer_and_only_once(session):
    row = offer(session, CURATED, "care_half_price", "booking:a")
    assert outcomes.decide(session, row.id, RESPOND, True, NOW) is None
    assert outcomes.decide(session, row.id, CURATED, False, NOW).status == "declined"
    assert outcomes.decide(session, row.id, CURATED, True, NOW).status == "declined"


def test_declined_offers_are_not_offered_again_in_the_same_booking(session, today):
    row = offer(session, CURATED, "care_half_price", "booking:a")
    outcomes.decide(session, row.id, CURATED, False, NOW)
    same = suggest(session, CURATED, today, "nb", services=SERVICE_AND_TYRES, context="booking:a")
    assert "care_half_price" not in codes(same)
    # The paint offer is now free to be made, since the bundle with the same service is out.
    assert "polish_half_price" in codes(same)
    # In another booking the bundle may come back; having been declined, it now ranks below
    # the paint offer for this customer, and the paint offer (same service) takes its place.
    other = suggest(session, CURATED, today, "nb", services=SERVICE_AND_TYRES, context="booking:b", limit=5)
    assert codes(other) == ["loaner_again", "polish_half_price"]


def test_an_accepted_bundle_counts_as_booked_for_the_next_offers(session, today):
    row = offer(session, CURATED, "care_half_price", "booking:a")
    outcomes.decide(session, row.id, CURATED, True, NOW)
    after = suggest(session, CURATED, today, "nb", services=SERVICE_AND_TYRES, context="booking:a")
    assert "polish_half_price" not in codes(after)


def test_offers_declined_repeatedly_drop_for_that_customer_and_then_disappear(session, today):
    before = suggest(session, SV, today, "sv", services=SERVICE_AND_TYRES)
    assert codes(before) == ["loaner_again", "care_half_price"]
    for n in range(2):
        outcomes.decide(session, offer(session, SV, "loaner_again", f"booking:{n}").id, SV, False, NOW)
    dropped = suggest(session, SV, today, "sv", services=SERVICE_AND_TYRES)
    assert codes(dropped) == ["care_half_price", "loaner_again"]
    assert dropped.items[1].score < before.items[0].score
    outcomes.decide(session, offer(session, SV, "loaner_again", "booking:2").id, SV, False, NOW)
    assert codes(suggest(session, SV, today, "sv", services=SERVICE_AND_TYRES)) == ["care_half_price"]
    # Other customers are not affected by Sven's answers.
    assert "loaner_again" in codes(suggest(session, CURATED, today, "nb", services=SERVICE_AND_TYRES))


def test_acceptance_rates_per_offer_and_segment(session):
    for n, (customer, accepted) in enumerate([(CURATED, True), (SV, False), (CURATED, True)]):
        row = offer(session, customer, "care_half_price", f"booking:{n}")
        outcomes.decide(session, row.id, customer, accepted, NOW)
    offer(session, COACH, "roof_box_winter", "booking:9", strategy="coach")
    rates = {(r.offer_code, r.segment): r for r in outcomes.acceptance_rates(session, "strategy")}
    care = rates[("care_half_price", "curated")]
    assert (care.offered, care.accepted, care.declined) == (3, 2, 1)
    assert care.rate == pytest.approx(2 / 3)
    roof = rates[("roof_box_winter", "coach")]
    assert (roof.offered, roof.rate) == (1, 0.0)
    assert {r.segment for r in outcomes.acceptance_rates(session, "channel")} == {"rest"}
    with pytest.raises(ValueError):
        outcomes.acceptance_rates(session, "favourite_colour")


def test_well_accepted_offers_rank_higher_in_their_segment(session, today):
    base = {s.offer_code: s.score for s in suggest(session, SV, today, "sv", services=SERVICE_AND_TYRES).items}
    for n in range(4):
        outcomes.decide(session, offer(session, CURATED, "care_half_price", f"b:{n}").id, CURATED, True, NOW)
    clear_caches()
    boosted = {s.offer_code: s.score for s in suggest(session, SV, today, "sv", services=SERVICE_AND_TYRES).items}
    assert boosted["care_half_price"] > base["care_half_price"]


def test_accepted_offers_are_added_to_the_booking_with_their_price(session, today):
    record = booking.book(session, CURATED, SERVICE_AND_TYRES, datetime(2026, 11, 24, 10), NOW)
    accepted = offer(session, CURATED, "care_half_price", "booking:z")
    declined = offer(session, CURATED, "roof_box_winter", "booking:z")
    outcomes.decide(session, accepted.id, CURATED, True, NOW)
    outcomes.decide(session, declined.id, CURATED, False, NOW)
    outcomes.attach_to_booking(session, CURATED, "booking:z", record)
    items = session.execute(select(BookingItem).filter_by(booking_id=record.id)).scalars().all()
    assert {(i.service_code, i.price_nok, i.offer_code) for i in items} == {
        ("service", 3490, None), ("tyre_change", 890, None),
        ("interior_cleaning", 645, "care_half_price"), ("polish", 1245, "care_half_price"),
    }
    assert {accepted.booking_id, declined.booking_id} == {record.id}


def test_the_last_offer_is_kept_for_why_questions(session):
    offer(session, CURATED, "loaner_again", "booking:a")
    latest = offer(session, CURATED, "care_half_price", "booking:a")
    assert outcomes.last_offered(session, CURATED).id == latest.id
    assert outcomes.last_offered(session, COACH) is None


def test_catalog_offers_are_data_with_reasons_in_every_language(session):
    for row in session.execute(select(Offer)).scalars():
        assert set(row.reasons) == {"nb", "sv", "en"} and set(row.names) == {"nb", "sv", "en"}
        assert row.price_nok == sum(i["price_nok"] for i in row.items)


def test_auto_service_needs_usage_data_so_withdrawing_it_ends_the_agreement(session):
    apply_change(session, AUTO, Change("sharing", "history"), NOW)
    prefs = session.get(Preferences, AUTO)
    assert prefs.auto_service is False and prefs.data_sharing == "history"
