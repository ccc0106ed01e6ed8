"""Guests identify with phone or e-mail and a one-time code before a profile is read."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.db.models import Customer
from bot.profile import (
    Contact,
    find_customer,
    mask_contact,
    parse_code,
    parse_contact,
    profile_view,
    start_verification,
    verify_code,
)
from tests.conftest import NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("912 34 567", Contact("phone", "+4791234567")),
        ("mitt nummer er +47 912 34 567", Contact("phone", "+4791234567")),
        ("0046 70 123 45 67", Contact("phone", "+46701234567")),
        ("Kari.Nordmann@Example.no", Contact("email", "kari.nordmann@example.no")),
        ("my email is emma.smith@example.com thanks", Contact("email", "emma.smith@example.com")),
        ("hei", None),
        ("123", None),
        ("", None),
    ],
)
def test_contact_is_recognised_and_normalised(text, expected):
    assert parse_contact(text) == expected


def test_code_is_six_digits_inside_text():
    assert parse_code("koden er 482913") == "482913"
    assert parse_code("48291") is None
    assert parse_code("4829131") is None


def test_masked_contact_hides_most_of_it():
    assert mask_contact(Contact("phone", "+4791234567")) == "+47 *** ** 567"
    assert mask_contact(Contact("email", "kari@example.no")) == "k***@example.no"


def test_right_code_links_the_sender_to_the_existing_customer(session, caplog):
    contact = parse_contact("+47 912 34 567")
    with caplog.at_level(logging.WARNING):
        code = start_verification(session, "rest:guest-1", contact, NOW)
    assert code in caplog.text  # dev mode: the code is in the log, never in the chat
    assert "912" not in caplog.text  # ...but not the phone number
    result = verify_code(session, "rest:guest-1", code, NOW, "rest", "guest-1")
    assert result.status == "ok" and result.first_name == "Kari" and not result.new_customer
    assert find_customer(session, "rest", "guest-1").first_name == "Kari"


def test_unknown_contact_becomes_a_new_customer(session):
    code = start_verification(session, "rest:guest-2", parse_contact("ny@example.no"), NOW)
    result = verify_code(session, "rest:guest-2", code, NOW, "rest", "guest-2")
    assert result.status == "ok" and result.new_customer
    assert session.get(Customer, result.customer_id).email == "ny@example.no"


def test_wrong_codes_count_down_then_lock(session):
    code = start_verification(session, "rest:guest-3", parse_contact("912 34 567"), NOW)
    wrong = "000000" if code != "000000" else "111111"
    first = verify_code(session, "rest:guest-3", wrong, NOW, "rest", "guest-3")
    assert (first.status, first.attempts_left) == ("wrong", 2)
    verify_code(session, "rest:guest-3", wrong, NOW, "rest", "guest-3")
    third = verify_code(session, "rest:guest-3", wrong, NOW, "rest", "guest-3")
    assert third.status == "locked"
    assert verify_code(session, "rest:guest-3", code, NOW, "rest", "guest-3").status == "locked"
    assert find_customer(session, "rest", "guest-3") is None


def test_expired_code_is_refused(session):
    code = start_verification(session, "rest:guest-4", parse_contact("912 34 567"), NOW)
    later = NOW + timedelta(minutes=11)
    assert verify_code(session, "rest:guest-4", code, later, "rest", "guest-4").status == "expired"


def test_profile_view_lists_cars_and_bookings(session):
    sven = find_customer(session, "rest", "demo-sv")
    view = profile_view(session, sven.id, "sv", NOW)
    assert view.full_name == "Sven Svensson" and view.strategy == "curated"
    assert any("V90" in v for v in view.vehicles)
    assert any("FB-1005" in b and "däckbyte" in b for b in view.bookings)
