"""The connected strategy that serves a customer, derived from consent and preferences.

| strategy | who initiates | data shared |
| respond  | customer      | contact data only |
| curated  | customer      | history |
| coach    | business      | usage data |
| auto     | business      | usage data + a standing agreement |
"""

from __future__ import annotations

from bot.db.models import Preferences

STRATEGIES = ("respond", "curated", "coach", "auto")


def derive_strategy(prefs: Preferences | None) -> str:
    """The strategy follows from what the customer shares and has agreed to, nothing else."""
    if prefs is None:
        return "respond"
    if prefs.data_sharing == "usage" and prefs.auto_service:
        return "auto"
    if prefs.data_sharing == "usage":
        return "coach"
    if prefs.data_sharing == "history":
        return "curated"
    return "respond"
