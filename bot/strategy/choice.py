"""Which connected strategy serves a customer, as a pure function of consent and agreements.

The rules are data (rules.yaml); this module only matches them, so every decision can be
explained with the rule that made it and the facts it looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.db.models import Preferences

STRATEGIES = ("respond", "curated", "coach", "auto")
SHARING_LEVELS = ("contact", "history", "usage")
RULES_FILE = Path(__file__).with_name("rules.yaml")


@dataclass(frozen=True)
class ConsentFacts:
    """The stored facts a strategy may depend on, nothing more."""

    data_sharing: str = "contact"
    auto_service: bool = False
    has_agreement: bool = False
    reminders: bool = False

    @classmethod
    def from_preferences(cls, prefs: Preferences | None) -> ConsentFacts:
        if prefs is None:
            return cls()
        sharing = prefs.data_sharing if prefs.data_sharing in SHARING_LEVELS else "contact"
        return cls(
            data_sharing=sharing,
            auto_service=bool(prefs.auto_service),
            has_agreement=bool(prefs.agreement),
            reminders=bool(prefs.reminders),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_sharing": self.data_sharing,
            "auto_service": self.auto_service,
            "has_agreement": self.has_agreement,
            "reminders": self.reminders,
        }


@dataclass(frozen=True)
class StrategyChoice:
    strategy: str
    rule: str
    facts: dict[str, Any]
    data_allowed: frozenset[str] = field(default_factory=frozenset)

    @property
    def unprompted(self) -> bool:
        """Whether this customer gets suggestions without asking for them."""
        return self.strategy in load_rules()["unprompted_suggestions"]

    @property
    def business_initiates(self) -> bool:
        return self.strategy in load_rules()["business_initiates"]


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for rule in data["strategy_rules"]:
        if rule["strategy"] not in STRATEGIES:
            raise ValueError(f"rule {rule['name']} names an unknown strategy {rule['strategy']!r}")
    return data


def choose_strategy(facts: ConsentFacts, rules: dict[str, Any] | None = None) -> StrategyChoice:
    """The first rule whose conditions all hold decides; the last rule must match anything."""
    rules = rules or load_rules()
    values = facts.as_dict()
    allowed = frozenset(rules["data_allowed"].get(facts.data_sharing, []))
    for rule in rules["strategy_rules"]:
        when = rule.get("when") or {}
        if all(values.get(key) == expected for key, expected in when.items()):
            used = {key: values[key] for key in when} or {"data_sharing": facts.data_sharing}
            return StrategyChoice(rule["strategy"], rule["name"], used, allowed)
    raise ValueError("no strategy rule matched; the last rule must have an empty `when`")


def derive_strategy(prefs: Preferences | None) -> str:
    """The strategy name for stored preferences (None: a guest, served by `respond`)."""
    return choose_strategy(ConsentFacts.from_preferences(prefs)).strategy
