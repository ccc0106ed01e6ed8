"""Advice on request: service due, tyre season by region, winter checklist."""

from __future__ import annotations

from datetime import date

import pytest

from bot.advice import service_due, tyre_season, winter_checklist
from bot.db.models import Vehicle


@pytest.mark.parametrize(
    ("region", "car", "today", "status"),
    [
        ("Oslo", "summer", date(2026, 11, 23), "change_now"),
        ("Oslo", "summer", date(2026, 10, 20), "change_soon"),
        ("Oslo", "summer", date(2026, 9, 1), "fine"),
        ("Oslo", "winter", date(2026, 4, 10), "summer_soon"),
        ("Oslo", "summer", date(2026, 4, 10), "fine"),
        ("Tromsø", "summer", date(2026, 10, 20), "change_now"),  # the north starts on 16 October
        ("Tromsø", "winter", date(2026, 4, 25), "summer_soon"),  # ... and ends on 1 May
    ],
)
def test_tyre_season_by_region(session, region, car, today, status):
    assert tyre_season(session, region, car, today).status == status


def test_season_dates_follow_the_region(session):
    south = tyre_season(session, "Oslo", "summer", date(2026, 11, 23))
    north = tyre_season(session, "Tromsø", "summer", date(2026, 11, 23))
    assert (south.winter_from, south.winter_until) == (date(2026, 11, 1), date(2027, 4, 20))
    assert (north.winter_from, north.winter_until) == (date(2026, 10, 16), date(2027, 5, 1))


def test_winter_checklist_in_every_language(session):
    for lang in ("nb", "sv", "en"):
        assert len(winter_checklist(session, lang)) >= 3
    assert "3 mm" in winter_checklist(session, "en")[0]


def test_service_due_uses_telemetry_only_with_consent(session, today):
    car = session.query(Vehicle).filter_by(registration="EV23456").one()  # demo-coach, 1,900 km in 29 days
    with_data = service_due(session, car, today, use_telemetry=True)
    without = service_due(session, car, today, use_telemetry=False)
    assert with_data.due_on < without.due_on
