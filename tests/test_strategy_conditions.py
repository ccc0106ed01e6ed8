"""Each condition an offer can state, on hand-made facts."""

from __future__ import annotations

from datetime import date

from bot.strategy import ConsentFacts, choose_strategy
from bot.strategy.conditions import CONDITIONS, OfferContext, check_all
from bot.strategy.facts import CustomerFacts, Fact

WINTER = date(2026, 11, 23)


def facts(sharing: str = "usage", today: date = WINTER, **values) -> CustomerFacts:
    categories = {"age_years": "vehicle", "body_type": "vehicle", "mileage_km": "history",
                  "usage_mileage_km": "usage", "habits": "usage", "recent_visits": "history"}
    return CustomerFacts(
        1, choose_strategy(ConsentFacts(sharing)), today,
        {name: Fact(name, value, categories[name]) for name, value in values.items()},
    )


BOOKING = OfferContext(("service", "tyre_change"))
ADVICE = OfferContext(None)


def test_booked_with_needs_one_of_the_services_in_the_booking():
    assert CONDITIONS["booked_with"](["service"], facts(), BOOKING).ok
    assert not CONDITIONS["booked_with"](["eu_control"], facts(), BOOKING).ok
    assert CONDITIONS["booked_with"](["eu_control"], facts(), ADVICE).ok  # advice: "when booked together"


def test_min_mileage_uses_telemetry_before_the_workshop_record():
    check = CONDITIONS["min_mileage_km"](90000, facts(mileage_km=85000, usage_mileage_km=91000), BOOKING)
    assert check.ok and check.used[0].category == "usage" and check.params == {"mileage": 90000}
    assert not CONDITIONS["min_mileage_km"](90000, facts(mileage_km=85000), BOOKING).ok
    assert not CONDITIONS["min_mileage_km"](90000, facts(), BOOKING).ok  # unknown mileage: no offer


def test_min_age_years():
    assert CONDITIONS["min_age_years"](5, facts(age_years=8), BOOKING).params == {"age": 8}
    assert not CONDITIONS["min_age_years"](5, facts(age_years=4), BOOKING).ok


def test_habit_needs_the_shared_habit():
    assert CONDITIONS["habit"]("mountain_trips", facts(habits={"mountain_trips": "biweekly_winter"}), BOOKING).ok
    assert not CONDITIONS["habit"]("mountain_trips", facts(habits={"commute": "daily"}), BOOKING).ok
    assert not CONDITIONS["habit"]("mountain_trips", facts(), BOOKING).ok


def test_months():
    assert CONDITIONS["months"]([11, 12, 1], facts(), BOOKING).ok
    assert not CONDITIONS["months"]([11, 12, 1], facts(today=date(2026, 7, 1)), BOOKING).ok


def test_loaner_last_time_looks_at_the_last_visit_for_the_listed_jobs():
    visits = [(date(2026, 5, 1), ("tyre_change",), False), (date(2025, 11, 1), ("service",), True)]
    check = CONDITIONS["loaner_last_time"](["service"], facts(recent_visits=visits), BOOKING)
    assert check.ok and check.used[0].value == date(2025, 11, 1)
    assert not CONDITIONS["loaner_last_time"](True, facts(recent_visits=visits), BOOKING).ok  # the last visit
    assert not CONDITIONS["loaner_last_time"](["eu_control"], facts(recent_visits=visits), BOOKING).ok


def test_body_types():
    assert CONDITIONS["body_types"](["suv"], facts(body_type="suv"), BOOKING).ok
    assert not CONDITIONS["body_types"](["suv"], facts(body_type="sedan"), BOOKING).ok


def test_all_conditions_must_hold_and_an_unknown_condition_never_matches():
    known = facts(age_years=8, mileage_km=120000)
    both = check_all({"min_age_years": 5, "min_mileage_km": 90000}, known, BOOKING)
    assert both.ok and [f.name for f in both.used] == ["age_years", "mileage_km"]
    assert not check_all({"min_age_years": 5, "min_mileage_km": 200000}, known, BOOKING).ok
    assert not check_all({"moon_phase": "full"}, known, BOOKING).ok
    assert check_all({}, known, BOOKING).ok
