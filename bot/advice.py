"""Advice a customer asks for: when the next service is due, tyre season in their region,
and what a driver can check before winter. The rules and texts are business data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.booking import setting
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


def service_due(session: Session, vehicle: Vehicle, today: date, use_telemetry: bool = True) -> ServiceDue:
    """The earlier of the time interval and (with telemetry, if the customer shares it) distance."""
    last = vehicle.last_service_date or today
    by_time = last + timedelta(days=int(vehicle.service_interval_months * 30.4))
    due = by_time
    per_day = _km_per_day(session, vehicle) if use_telemetry else None
    if per_day and vehicle.last_service_km is not None:
        remaining = vehicle.last_service_km + vehicle.service_interval_km - vehicle.mileage_km
        by_distance = today + timedelta(days=max(0, int(remaining / per_day)) if per_day else 0)
        due = min(due, by_distance)
    return ServiceDue(f"{vehicle.make} {vehicle.model}", vehicle.last_service_date, max(due, today))


def winter_is_coming(today: date) -> bool:
    return today.month in WINTER_PREP_MONTHS


@dataclass(frozen=True)
class TyreSeason:
    """Where the car's region is in the studded-tyre season, and what to do about it."""

    region: str
    winter_from: date
    winter_until: date
    # "change_now" (winter season, car on summer tyres), "change_soon" (season starts within
    # the advice window), "summer_soon" (winter tyres, summer season near), "fine"
    status: str


def _month_day(value: str, year: int) -> date:
    month, day = (int(part) for part in value.split("-"))
    return date(year, month, day)


def tyre_season(session: Session, region: str | None, car_season: str | None, today: date) -> TyreSeason:
    rules = setting(session, "tyre_rules", []) or []
    window = timedelta(days=int(setting(session, "tyre_advice_days", 21) or 21))  # type: ignore[arg-type]
    region = region or ""
    rule = next(
        (r for r in rules if region in r["regions"] or "*" in r["regions"]),  # type: ignore[index]
        {"winter_from": "11-01", "winter_until": "04-20"},
    )
    winter_from = _month_day(rule["winter_from"], today.year)  # type: ignore[index]
    winter_until = _month_day(rule["winter_until"], today.year)  # type: ignore[index]
    in_winter = today >= winter_from or today < winter_until
    if today >= winter_from:
        winter_until = _month_day(rule["winter_until"], today.year + 1)  # type: ignore[index]
    elif today < winter_until:
        winter_from = _month_day(rule["winter_from"], today.year - 1)  # type: ignore[index]
    else:
        winter_until = _month_day(rule["winter_until"], today.year + 1)  # type: ignore[index]
    early_winter = in_winter and (today.year == winter_from.year or today.month <= 2)
    if early_winter and car_season != "winter":
        status = "change_now"
    elif not in_winter and car_season != "winter" and winter_from - today <= window:
        status = "change_soon"
    elif in_winter and car_season == "winter" and winter_until - today <= window:
        status = "summer_soon"
    else:
        status = "fine"
    return TyreSeason(region, winter_from, winter_until, status)


def winter_checklist(session: Session, lang: str) -> list[str]:
    lists = setting(session, "winter_checklist", {}) or {}
    return list(lists.get(lang) or lists.get("nb") or [])  # type: ignore[union-attr]
