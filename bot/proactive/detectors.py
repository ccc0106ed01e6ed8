"""Due events, each found by one indexed query; thresholds come from the `proactive` setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.advice import tyre_season
from bot.booking import setting
from bot.db.models import Booking, Invoice, LoanerReservation, Preferences, Vehicle, VehicleReading

DEFAULTS: dict[str, Any] = {
    "service_lead_days": 21, "service_lead_km": 1500, "invoice_new_days": 3,
    "quiet_hours": ["21:00", "08:00"], "max_attempts": 5, "retry_base_seconds": 30,
    "push_channels": ["telegram", "webchat"], "interval_seconds": 60,
}


def proactive_settings(session: Session) -> dict[str, Any]:
    return {**DEFAULTS, **(setting(session, "proactive", {}) or {})}  # type: ignore[dict-item]


@dataclass(frozen=True)
class DueEvent:
    customer_id: int
    event_type: str
    period_key: str
    payload: dict[str, Any] = field(default_factory=dict)


def service_due(session: Session, now: datetime, cfg: dict[str, Any]) -> list[DueEvent]:
    """By date for everyone; by distance only for cars whose owners share telemetry."""
    today = now.date()
    lead = timedelta(days=int(cfg["service_lead_days"]))
    shortest = session.execute(select(func.min(Vehicle.service_interval_months))).scalar() or 12
    # Index range on last_service_date first; the per-car interval is checked on the few left.
    candidates = session.execute(
        select(Vehicle.id, Vehicle.customer_id, Vehicle.last_service_date, Vehicle.service_interval_months)
        .where(Vehicle.last_service_date <= today + lead - timedelta(days=int(shortest * 30.4)))
    ).all()
    events: dict[int, DueEvent] = {}
    for vid, cid, last, months in candidates:
        due = last + timedelta(days=int((months or 12) * 30.4))
        if due <= today + lead:
            events[vid] = DueEvent(cid, "service_due", f"{vid}:{last.isoformat()}",
                                   {"vehicle_id": vid, "due": max(due, today).isoformat(), "by": "date"})
    latest = (
        select(VehicleReading.vehicle_id, func.max(VehicleReading.mileage_km).label("km"))
        .group_by(VehicleReading.vehicle_id)
        .subquery()
    )
    by_distance = session.execute(
        select(Vehicle.id, Vehicle.customer_id, Vehicle.last_service_date, latest.c.km)
        .join(latest, latest.c.vehicle_id == Vehicle.id)
        .join(Preferences, Preferences.customer_id == Vehicle.customer_id)
        .where(Preferences.data_sharing == "usage", Vehicle.last_service_km.is_not(None))
        .where(latest.c.km >= Vehicle.last_service_km + Vehicle.service_interval_km - int(cfg["service_lead_km"]))
    ).all()
    for vid, cid, last, km in by_distance:
        if vid not in events:
            events[vid] = DueEvent(cid, "service_due", f"{vid}:{last.isoformat() if last else 'none'}",
                                   {"vehicle_id": vid, "due": today.isoformat(), "by": "distance", "km": km})
    return list(events.values())


def tyre_change_due(session: Session, now: datetime, cfg: dict[str, Any]) -> list[DueEvent]:
    """Cars still on summer tyres when their region's winter season starts soon or has started."""
    today = now.date()
    rules = setting(session, "tyre_rules", []) or []
    explicit = [region for rule in rules for region in rule["regions"] if region != "*"]  # type: ignore[index]
    events = []
    for rule in rules:  # type: ignore[union-attr]
        sample_region = next((r for r in rule["regions"] if r != "*"), "")
        season = tyre_season(session, sample_region, "summer", today)
        if season.status not in ("change_now", "change_soon"):
            continue
        query = select(Vehicle.id, Vehicle.customer_id, Vehicle.home_region).where(Vehicle.tyre_season == "summer")
        if "*" in rule["regions"]:
            query = query.where(Vehicle.home_region.not_in(explicit))
        else:
            query = query.where(Vehicle.home_region.in_(rule["regions"]))
        for vid, cid, region in session.execute(query):
            payload = {"vehicle_id": vid, "region": region, "season_start": season.winter_from.isoformat()}
            events.append(DueEvent(cid, "tyre_change", f"{vid}:winter:{season.winter_from.year}", payload))
    return events


def car_ready(session: Session, now: datetime, cfg: dict[str, Any]) -> list[DueEvent]:
    rows = session.execute(
        select(Booking.id, Booking.customer_id, Booking.reference).where(Booking.status == "ready")
    ).all()
    return [DueEvent(cid, "car_ready", ref, {"booking_id": bid, "reference": ref}) for bid, cid, ref in rows]


def invoices(session: Session, now: datetime, cfg: dict[str, Any]) -> list[DueEvent]:
    today = now.date()
    rows = session.execute(
        select(Invoice.customer_id, Invoice.number, Invoice.issued_on, Invoice.due_on, Invoice.amount_nok)
        .where(Invoice.status == "open")
    ).all()
    events = []
    for cid, number, issued, due, amount in rows:
        if due is not None and due < today:
            events.append(DueEvent(cid, "invoice_overdue", number, {"number": number, "amount": amount,
                                                                    "due": due.isoformat()}))
        elif issued is not None and issued >= today - timedelta(days=int(cfg["invoice_new_days"])):
            events.append(DueEvent(cid, "invoice_ready", number, {"number": number, "amount": amount,
                                                                  "due": due.isoformat() if due else None}))
    return events


def booking_tomorrow(session: Session, now: datetime, cfg: dict[str, Any]) -> list[DueEvent]:
    tomorrow = now.date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time())
    rows = session.execute(
        select(Booking.id, Booking.customer_id, Booking.reference, Booking.start)
        .where(Booking.status == "booked", Booking.start >= start, Booking.start < start + timedelta(days=1))
    ).all()
    return [DueEvent(cid, "booking_tomorrow", ref, {"booking_id": bid, "reference": ref,
                                                     "start": when.isoformat()}) for bid, cid, ref, when in rows]


def loaner_return(session: Session, now: datetime, cfg: dict[str, Any]) -> list[DueEvent]:
    """The customer's own car is ready: the loaner car goes back when they collect it."""
    rows = session.execute(
        select(Booking.id, Booking.customer_id, Booking.reference)
        .join(LoanerReservation, LoanerReservation.booking_id == Booking.id)
        .where(Booking.status == "ready", LoanerReservation.day <= now.date())
    ).all()
    return [DueEvent(cid, "loaner_return", ref, {"booking_id": bid, "reference": ref}) for bid, cid, ref in rows]


Detector = Callable[[Session, datetime, dict[str, Any]], list[DueEvent]]
DETECTORS: dict[str, Detector] = {
    "service_due": service_due,
    "tyre_change": tyre_change_due,
    "car_ready": car_ready,
    "invoices": invoices,
    "booking_tomorrow": booking_tomorrow,
    "loaner_return": loaner_return,
}


def detect_all(session: Session, now: datetime) -> list[DueEvent]:
    cfg = proactive_settings(session)
    return [event for detector in DETECTORS.values() for event in detector(session, now, cfg)]

