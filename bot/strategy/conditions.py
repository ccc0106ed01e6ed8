"""The conditions an offer in the catalog can state, each a small tested function.

A condition looks only at the customer's allowed facts and the conversation's context and
says whether it holds, which facts it used and what it adds to the reason's placeholders.
An offer naming a condition that is not here is never made (better silent than wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.strategy.facts import CustomerFacts, Fact


@dataclass(frozen=True)
class OfferContext:
    """What the offer is for: a booking in progress (its services) or advice (services None)."""

    services: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Check:
    ok: bool
    used: tuple[Fact, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


NO = Check(False)
Condition = Callable[[Any, CustomerFacts, OfferContext], Check]


def booked_with(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    """In a booking, one of the named services is in it; as advice it is offered "together with"."""
    if ctx.services is None:
        return Check(True)
    return Check(any(code in ctx.services for code in value or []))


def min_mileage_km(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    mileage = facts.mileage()
    if mileage is None or int(mileage.value) < int(value):
        return NO
    return Check(True, (mileage,), {"mileage": int(value)})


def min_age_years(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    age = facts.get("age_years")
    if age is None or int(age.value) < int(value):
        return NO
    return Check(True, (age,), {"age": int(age.value)})


def habit(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    habits = facts.get("habits")
    if habits is None or not habits.value.get(str(value)):
        return NO
    return Check(True, (habits,), {"habit": habits.value[str(value)]})


def months(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    return Check(facts.today.month in [int(m) for m in value or []])


def loaner_last_time(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    """A loaner car was taken at the last visit for one of the listed jobs (true: any visit)."""
    visits = facts.get("recent_visits")
    if visits is None:
        return NO
    jobs = None if value is True else set(value or [])
    for done_on, items, loaner_taken in visits.value:
        if jobs is None or jobs & set(items):
            if not loaner_taken:
                return NO
            return Check(True, (Fact("loaner_last_time", done_on, visits.category),))
    return NO


def body_types(value: Any, facts: CustomerFacts, ctx: OfferContext) -> Check:
    fact = facts.get("body_type")
    if fact is None or fact.value not in (value or []):
        return NO
    return Check(True, (fact,))


CONDITIONS: dict[str, Condition] = {
    "booked_with": booked_with,
    "min_mileage_km": min_mileage_km,
    "min_age_years": min_age_years,
    "habit": habit,
    "months": months,
    "loaner_last_time": loaner_last_time,
    "body_types": body_types,
}


def check_all(conditions: dict[str, Any], facts: CustomerFacts, ctx: OfferContext) -> Check:
    """All conditions must hold; the facts used and reason parameters are merged."""
    used: list[Fact] = []
    params: dict[str, Any] = {}
    for name, value in (conditions or {}).items():
        condition = CONDITIONS.get(name)
        if condition is None:
            return NO
        result = condition(value, facts, ctx)
        if not result.ok:
            return NO
        used.extend(fact for fact in result.used if fact not in used)
        params.update(result.params)
    return Check(True, tuple(used), params)
