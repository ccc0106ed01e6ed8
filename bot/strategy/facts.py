"""What the engine knows about a customer: only the facts their consent lets it read.

Each fact carries the category it comes from (vehicle, history, usage), so a suggestion
can say which data it used, and withdrawing consent removes the facts on the next read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Preferences, ServiceJob, Vehicle, VehicleReading
from bot.strategy.choice import ConsentFacts, StrategyChoice, choose_strategy

RECENT_VISITS = 5


@dataclass(frozen=True)
class Fact:
    name: str
    value: Any
    category: str

    def as_used(self) -> dict[str, Any]:
        return {"fact": self.name, "source": self.category, "value": self.value}


@dataclass(frozen=True)
class CustomerFacts:
    customer_id: int | None
    choice: StrategyChoice
    today: date
    facts: dict[str, Fact] = field(default_factory=dict)
    agreement: dict[str, Any] = field(default_factory=dict)
    vehicle_id: int | None = None

    def get(self, name: str) -> Fact | None:
        return self.facts.get(name)

    def mileage(self) -> Fact | None:
        """The freshest mileage we may use: telemetry first, then the workshop's record."""
        return self.facts.get("usage_mileage_km") or self.facts.get("mileage_km")


def _allowed(choice: StrategyChoice, category: str) -> bool:
    return category in choice.data_allowed


def load_facts(session: Session, customer_id: int | None, today: date) -> CustomerFacts:
    """Read the customer's consent, then only the data that consent covers (3-5 small queries)."""
    if customer_id is None:
        return CustomerFacts(None, choose_strategy(ConsentFacts()), today)
    # Consent and the car in one round trip (this runs on every suggestion).
    first = session.execute(
        select(Preferences, Vehicle)
        .outerjoin(Vehicle, Vehicle.customer_id == Preferences.customer_id)
        .where(Preferences.customer_id == customer_id)
        .order_by(Vehicle.id)
        .limit(1)
    ).first()
    if first is not None:
        prefs, vehicle = first
    else:
        prefs, vehicle = None, session.execute(
            select(Vehicle).filter_by(customer_id=customer_id).order_by(Vehicle.id).limit(1)
        ).scalar_one_or_none()
    choice = choose_strategy(ConsentFacts.from_preferences(prefs))
    facts: dict[str, Fact] = {}

    def add(name: str, value: Any, category: str) -> None:
        if value is not None and _allowed(choice, category):
            facts[name] = Fact(name, value, category)

    if vehicle is not None:
        add("model", f"{vehicle.make} {vehicle.model}", "vehicle")
        add("age_years", today.year - vehicle.year if vehicle.year else None, "vehicle")
        add("body_type", vehicle.body_type, "vehicle")
        add("home_region", vehicle.home_region or None, "vehicle")
        add("tyre_season", vehicle.tyre_season, "vehicle")
        add("last_service_date", vehicle.last_service_date, "vehicle")
        add("mileage_km", vehicle.mileage_km, "history")
        if _allowed(choice, "usage"):
            add("habits", dict(vehicle.habits or {}) or None, "usage")
            reading = session.execute(
                select(VehicleReading.mileage_km)
                .filter_by(vehicle_id=vehicle.id)
                .order_by(VehicleReading.read_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            add("usage_mileage_km", reading, "usage")
    if _allowed(choice, "history"):
        jobs = session.execute(
            select(ServiceJob.done_on, ServiceJob.items, ServiceJob.loaner_taken)
            .filter_by(customer_id=customer_id)
            .order_by(ServiceJob.done_on.desc())
            .limit(RECENT_VISITS)
        ).all()
        if jobs:
            add("last_visit", jobs[0].done_on, "history")
            visits = [(job.done_on, tuple(job.items or ()), bool(job.loaner_taken)) for job in jobs]
            add("recent_visits", visits, "history")
    agreement = dict(prefs.agreement or {}) if prefs is not None and choice.strategy == "auto" else {}
    return CustomerFacts(
        customer_id, choice, today, facts, agreement, vehicle.id if vehicle is not None else None
    )
