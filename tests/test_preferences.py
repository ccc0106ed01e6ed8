"""Customer control: understanding a change in nb, sv and en, and storing it."""

from __future__ import annotations

import pytest

from bot.db.models import Preferences
from bot.preferences import Change, apply_change, parse_changes
from bot.strategy import derive_strategy
from tests.conftest import NOW


@pytest.mark.parametrize(
    ("text", "lang", "current", "expected"),
    [
        ("slutt å bruke kjøredataene mine", "nb", "usage", [("sharing", "history")]),
        ("sluta använda mina kördata", "sv", "usage", [("sharing", "history")]),
        ("stop using my driving data", "en", "usage", [("sharing", "history")]),
        ("dere kan bruke kjøredataene fra bilen min", "nb", "history", [("sharing", "usage")]),
        ("ni får använda min servicehistorik", "sv", "contact", [("sharing", "history")]),
        ("you may use my service history for suggestions", "en", "contact", [("sharing", "history")]),
        ("trekk tilbake samtykket til deling av data", "nb", "usage", [("sharing", "contact")]),
        ("jeg samtykker til deling av data", "nb", "contact", [("sharing", "history")]),
        ("skru av påminnelser", "nb", "contact", [("reminders", False)]),
        ("slå på påminnelser", "nb", "contact", [("reminders", True)]),
        ("stäng av påminnelserna", "sv", "contact", [("reminders", False)]),
        ("turn reminders back on", "en", "contact", [("reminders", True)]),
        ("jeg vil ha automatisk serviceavtale", "nb", "usage", [("auto_service", True)]),
        ("end my automatic service agreement", "en", "usage", [("auto_service", False)]),
        ("endre språk til engelsk", "nb", "contact", [("language", "en")]),
        ("endre innstillingene mine", "nb", "contact", []),
    ],
)
def test_changes_are_understood_in_every_language(text, lang, current, expected):
    assert [(c.kind, c.value) for c in parse_changes(text, lang, [], current)] == expected


def test_channels_come_from_the_nlu_entities_and_can_be_switched_off():
    on = parse_changes("jeg vil ha påminnelser på sms", "nb", ["sms"])
    assert [(c.kind, c.value) for c in on] == [("reminders", True), ("channel", "sms")]
    off = parse_changes("ikke send meg flere sms", "nb", ["sms"])
    assert [(c.kind, c.value) for c in off] == [("channel_off", "sms")]


def test_only_the_agreement_needs_confirmation_and_survives_a_slot_round_trip():
    change = parse_changes("I'd like an automatic service agreement", "en", [], "contact")[0]
    assert change.needs_confirmation
    assert Change.decode(change.encode()) == change
    assert Change.decode("not json") is None and Change.decode(None) is None


def test_turning_on_automatic_service_shares_usage_and_stores_the_default_agreement(session):
    prefs = apply_change(session, 1, Change("auto_service", True), NOW, default_agreement={"pickup": True})
    assert (prefs.auto_service, prefs.data_sharing, prefs.agreement) == (True, "usage", {"pickup": True})
    assert derive_strategy(prefs) == "auto"
    prefs = apply_change(session, 1, Change("auto_service", False), NOW)
    assert derive_strategy(prefs) == "coach"


def test_withdrawing_usage_data_makes_a_coach_customer_curated(session):
    prefs = apply_change(session, 3, Change("sharing", "history"), NOW)
    assert derive_strategy(prefs) == "curated" and prefs.updated_at == NOW


def test_contact_channel_consent_is_removed_and_the_preferred_channel_moves(session):
    prefs = apply_change(session, 2, Change("channel_off", "telegram"), NOW)
    assert prefs.contact_channels == ["sms"] and prefs.preferred_channel == "sms"


def test_language_and_reminders_are_stored(session):
    apply_change(session, 6, Change("language", "sv"), NOW)
    apply_change(session, 6, Change("reminders", True), NOW)
    prefs = session.get(Preferences, 6)
    assert (prefs.language, prefs.reminders) == ("sv", True)


@pytest.mark.parametrize("change", [Change("sharing", "everything"), Change("language", "de"), Change("x", 1)])
def test_unknown_changes_are_refused(session, change):
    with pytest.raises(ValueError):
        apply_change(session, 1, change, NOW)


def test_unknown_customer_is_an_error(session):
    with pytest.raises(LookupError):
        apply_change(session, 999, Change("reminders", True), NOW)
