"""Advice a customer asks for: when the next service is due, and seasonal preparation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Vehicle, VehicleReading

WINTER_PREP_MONTHS = (9, 10, 11, 12, 1, 2)


@dataclass(frozen=True)
class ServiceDue:
    vehicle: str
    last_service: date | None
    due_on: date


def _km_per_day(session: Session, vehicle: Vehicle) -> float | None:
    """Daily driving from telemetry readings, when the customer shares them."""
    readings = (
        session.execute(
            select(VehicleReading).filter_by(vehicle_id=vehicle.id).order_by(VehicleReading.read_at)
        )
        .scalars()
        .all()
    )
    if len(readings) < 2:
        return None
    days = (readings[-1].read_at - readings[0].read_at).days
    if days <= 0:
        return None
    return max(0.0, (readings[-1].mileage_km - readings[0].mileage_km) / days)


def service_due(session: Session, vehicle: Vehicle, today: date) -> ServiceDue:
    """The earlier of the time interval and (with telemetry) the distance interval."""
    last = vehicle.last_service_date or today
    by_time = last + timedelta(days=int(vehicle.service_interval_months * 30.4))
    due = by_time
    per_day = _km_per_day(session, vehicle)
    if per_day and vehicle.last_service_km is not None:
        remaining = vehicle.last_service_km + vehicle.service_interval_km - vehicle.mileage_km
        by_distance = today + timedelta(days=max(0, int(remaining / per_day)) if per_day else 0)
        due = min(due, by_distance)
    return ServiceDue(f"{vehicle.make} {vehicle.model}", vehicle.last_service_date, max(due, today))


def winter_is_coming(today: date) -> bool:
    return today.month in WINTER_PREP_MONTHS
