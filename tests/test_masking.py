"""Personal data is masked before a trainer or a log file sees it."""

from __future__ import annotations

import pytest

from bot.masking import contains_personal_data, mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skriv til kari.nordmann@example.no takk", "skriv til <email> takk"),
        ("ring meg på +47 912 34 567", "ring meg på <phone>"),
        ("mitt nummer er 91234567.", "mitt nummer er <phone>."),
        ("ring 070-123 45 67", "ring <phone>"),
        ("bilen er EL 12345", "bilen er <regnr>"),
        ("reg nr ab12345 har service", "reg nr <regnr> har service"),
        ("min bil ABC 123 behöver service", "min bil <regnr> behöver service"),
        ("har ni tid för ABC12D", "har ni tid för <regnr>"),
    ],
)
def test_contact_details_and_registrations_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "kan jeg komme 2026-11-23 kl 10:30?",
        "bilen har gått 150000 km",
        "service på tirsdag 24.11",
        "I need winter tyres for 2 cars",
        "",
    ],
)
def test_dates_mileage_and_ordinary_words_are_kept(text: str) -> None:
    assert mask(text) == text
    assert not contains_personal_data(text)


def test_the_customers_names_are_masked_whole_words_only() -> None:
    names = ["Kari Nordmann"]
    assert mask("Hei, dette er Kari Nordmann", names) == "Hei, dette er <name>"
    assert mask("kari her", names) == "<name> her"
    assert mask("Karin og Nordmannsen", names) == "Karin og Nordmannsen"
