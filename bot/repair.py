"""Conversation repair, the parts that need no Rasa: what a turn inside a form is (stop, skip,
digression, off-topic), and what a correction of the jobs says.

The patterns follow the conversation repair Rasa Pro's CALM ships (cancel, digression,
correction, chitchat/off-topic, cannot handle, skip, completion); `actions/repair.py` applies
them to every form. Names of the patterns are the names used in rules, tests and responses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Pattern names (the `repair_pattern` a turn is classified as).
CANCEL, SKIP, DIGRESSION, OFF_TOPIC, NOT_UNDERSTOOD, LATER, HANDOFF = (
    "cancel", "skip", "digression", "off_topic", "not_understood", "later", "handoff")

# Questions the bot answers inside any form (then asks its own question again).
DIGRESSIONS = frozenset({
    "ask_price", "ask_opening_hours", "ask_location", "ask_invoice", "booking_status",
    "ask_recommendation", "show_my_data", "ask_suggestion_reason", "bot_challenge", "thank", "greet",
})
# Requests that need a conversation of their own: done after the form ("first this, then that").
LATER_REQUESTS = frozenset({"delete_my_data", "set_preferences", "request_loaner_car"})
# Leave the form for a person (the handoff rules take the turn).
HANDOFF_INTENTS = frozenset({"request_human", "complain"})
# Inside a form, "cancel that" means stop what we are doing, not cancel an existing booking.
STOP_INTENTS = frozenset({"stop", "cancel_booking"})

# Optional questions and what skipping them means (see actions/repair.py).
OPTIONAL_SLOTS = frozenset({"loaner_car", "booking_time", "suggestion_answer"})


def classify(intent: str | None, form: str) -> str | None:
    """The repair pattern of a message inside `form`, or None (an answer to the question)."""
    if intent in STOP_INTENTS and not (form == "cancel_form" and intent == "cancel_booking"):
        return CANCEL
    if intent == "skip":
        return SKIP
    if intent in HANDOFF_INTENTS:
        return HANDOFF
    if intent in DIGRESSIONS:
        return DIGRESSION
    if intent in LATER_REQUESTS and not (form == "booking_form" and intent == "request_loaner_car"):
        return LATER
    if intent == "out_of_scope":
        return OFF_TOPIC
    if intent == "nlu_fallback":
        return NOT_UNDERSTOOD
    return None


# --- corrections of the jobs being booked ---------------------------------------------------

_NEGATION = re.compile(
    r"\b(?:ikke|ikkje|inte|ej|not|no|nei|nej|uten|utan|without|drop|dropp|skip|fjern|ta bort|remove)\b"
    r"(?:\s+\w+){0,2}\s*$"
)
_REPLACE = re.compile(
    r"\b(?:mente|meant|menade|i stedet|istedet|istället|instead|heller|hellre|rather|egentlig|egentligen|"
    r"actually|bytt|byt|bytte|change it to|endre til|ändra till|ikke .{0,30} men|inte .{0,30} utan|"
    r"not .{0,30} but)\b"
)


def negated(text: str, alias_start: int) -> bool:
    """True when the words just before a job's name negate it ("ikke vask", "not a wash")."""
    return bool(_NEGATION.search(text[max(0, alias_start - 40):alias_start].lower()))


def replaces(text: str) -> bool:
    """True when the message corrects the jobs rather than adding one ("jeg mente dekkskift")."""
    return bool(_REPLACE.search(text.lower()))


def corrected_services(known: Iterable[str], mentioned: Iterable[str], negative: Iterable[str],
                       replace: bool) -> list[str]:
    """The jobs after a correction: negated ones removed; the mentioned ones instead of the known
    ones when the message replaces, else added to them."""
    drop = set(negative)
    wanted = [c for c in mentioned if c not in drop]
    base = [] if replace and wanted else [c for c in known if c not in drop]
    return list(dict.fromkeys(base + wanted))
