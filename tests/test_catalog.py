"""Prices, hours, place and payment come from the data, in the customer's language."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot import catalog, i18n


@pytest.mark.parametrize(
    ("values", "text", "expected"),
    [
        (["tyre_change"], "hva koster dekkskift", ["tyre_change"]),
        ([], "jeg vil bestille service og dekkskift", ["service", "tyre_change"]),
        ([], "jag vill boka service och däckbyte", ["service", "tyre_change"]),
        ([], "book an EU inspection and a car wash", ["eu_control", "wash"]),
        (["not_a_service"], "hei", []),
        ([], "servicebil", []),
    ],
)
def test_services_are_recognised_from_entities_and_catalog_aliases(session, values, text, expected):
    assert catalog.recognise_services(session, values, text) == expected


def test_opening_hours_group_days_with_the_same_hours(session):
    text = catalog.opening_hours(session, "nb")
    assert "• mandag–onsdag: 07:30–17:00" in text
    assert "• søndag: stengt" in text
    assert "• Sunday: closed" in catalog.opening_hours(session, "en")


def test_price_list_and_payment_options_in_each_language(session):
    assert "dekkskift: 890\u00a0kr" in catalog.price_list(session, "nb")
    assert "tyre change: NOK 890" in catalog.price_list(session, "en")
    assert catalog.payment_options(session, "sv") == "Vipps, kort och faktura (14 dagar)"


def test_location_directions_in_the_customers_language(session):
    assert "blå porten" in catalog.location(session, "nb").directions
    assert "blue gate" in catalog.location(session, "en").directions


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("nb", "tirsdag 24. november kl. 10:00"),
        ("sv", "tisdag 24 november kl. 10:00"),
        ("en", "Tuesday 24 November at 10:00"),
        (None, "tirsdag 24. november kl. 10:00"),
    ],
)
def test_dates_read_naturally(lang, expected):
    assert i18n.format_datetime(datetime(2026, 11, 24, 10, 0), lang) == expected


def test_lists_prices_and_durations_read_naturally():
    assert i18n.join_list(["service", "dekkskift", "vask"], "nb") == "service, dekkskift og vask"
    assert i18n.join_list([], "en") == "none"
    assert i18n.format_price(12490, "nb") == "12\u00a0490\u00a0kr"
    assert i18n.format_duration(90, "sv") == "1 tim 30 min"
    assert i18n.format_date(date(2026, 12, 1), "en") == "Tuesday 1 December"
