"""Strategy choice: one test per rule in bot/strategy/rules.yaml, named after it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.db.models import Customer
from bot.strategy import ConsentFacts, choose_strategy, derive_strategy
from bot.strategy.choice import RULES_FILE, load_rules
from tests.conftest import NOW  # noqa: F401 - same fixed clock as the other tests


def test_rule_auto_needs_usage_data_and_agreement():
    choice = choose_strategy(ConsentFacts("usage", auto_service=True, has_agreement=True))
    assert (choice.strategy, choice.rule) == ("auto", "auto_needs_usage_data_and_agreement")
    assert choice.facts == {"data_sharing": "usage", "auto_service": True, "has_agreement": True}
    # Without usage data or without a stored agreement the business may not act for the customer.
    assert choose_strategy(ConsentFacts("history", auto_service=True, has_agreement=True)).strategy == "curated"
    assert choose_strategy(ConsentFacts("usage", auto_service=True, has_agreement=False)).strategy == "coach"


def test_rule_coach_on_usage_data():
    choice = choose_strategy(ConsentFacts("usage"))
    assert (choice.strategy, choice.rule) == ("coach", "coach_on_usage_data")
    assert choice.data_allowed == {"vehicle", "history", "usage"}
    assert choice.business_initiates and choice.unprompted


def test_rule_curated_on_history():
    choice = choose_strategy(ConsentFacts("history"))
    assert (choice.strategy, choice.rule) == ("curated", "curated_on_history")
    assert choice.data_allowed == {"vehicle", "history"}
    assert choice.unprompted and not choice.business_initiates


def test_rule_respond_by_default():
    choice = choose_strategy(ConsentFacts("contact", reminders=True))
    assert (choice.strategy, choice.rule) == ("respond", "respond_by_default")
    assert choice.data_allowed == {"vehicle"}
    assert not choice.unprompted and not choice.business_initiates
    assert derive_strategy(None) == "respond"  # a guest


def test_every_rule_in_the_file_has_a_test_named_after_it():
    names = {rule["name"] for rule in load_rules()["strategy_rules"]}
    tests = {name.removeprefix("test_rule_") for name in globals() if name.startswith("test_rule_")}
    assert names == tests


def test_an_unknown_level_of_sharing_is_treated_as_contact_only():
    class Prefs:
        data_sharing, auto_service, agreement, reminders = "everything", True, {"pickup": True}, True

    assert ConsentFacts.from_preferences(Prefs()).data_sharing == "contact"  # type: ignore[arg-type]


def test_a_rules_file_naming_an_unknown_strategy_is_refused(tmp_path: Path):
    data = yaml.safe_load(RULES_FILE.read_text())
    data["strategy_rules"][0]["strategy"] = "spam"
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="unknown strategy"):
        load_rules(bad)


def test_rules_without_a_catch_all_are_an_error():
    rules = dict(load_rules())
    rules["strategy_rules"] = [r for r in rules["strategy_rules"] if r["when"]]
    with pytest.raises(ValueError, match="no strategy rule matched"):
        choose_strategy(ConsentFacts("contact"), rules)


def test_demo_customers_get_the_strategy_of_the_contract(session):
    expected = {"demo-respond": "respond", "demo-curated": "curated", "demo-coach": "coach",
                "demo-auto": "auto", "demo-sv": "curated", "demo-en": "respond"}
    for key, strategy in expected.items():
        customer = session.query(Customer).filter_by(demo_key=key).one()
        assert derive_strategy(customer.preferences) == strategy, key
