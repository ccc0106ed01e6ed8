"""Load the seed files (business, catalog, demo customers) into the database.

Idempotent: running it twice changes nothing; `reset_demo=True` recreates the demo
customers (and only them) so their stories start fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import booking
from bot.db.models import (
    Booking,
    BookingItem,
    CalendarTemplate,
    ChannelIdentity,
    Customer,
    Invoice,
    LoanerCar,
    LoanerReservation,
    Location,
    Offer,
    Preferences,
    Service,
    ServiceJob,
    Setting,
    Vehicle,
    VehicleReading,
)

SEED_DIR = Path(__file__).resolve().parent / "seed"
# Channels on which the demo sender ids identify the demo customers.
DEMO_CHANNELS = ("rest", "cmdline", "socketio", "webchat")


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + count


def load_yaml(name: str, seed_dir: Path = SEED_DIR) -> dict[str, Any]:
    with open(seed_dir / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def seed_business(session: Session, seed_dir: Path = SEED_DIR) -> SeedReport:
    """Settings, locations, calendar templates, loaner cars and the catalog."""
    report = SeedReport()
    business = load_yaml("business.yaml", seed_dir)
    for key, value in business.get("settings", {}).items():
        session.merge(Setting(key=key, value=value))
    locations: dict[str, Location] = {}
    for row in business.get("locations", []):
        loc = session.execute(select(Location).filter_by(code=row["code"])).scalar_one_or_none()
        if loc is None:
            loc = Location(code=row["code"])
            session.add(loc)
            report.add("locations")
        loc.name, loc.address = row["name"], row["address"]
        loc.directions, loc.opening_hours = row.get("directions", {}), row["opening_hours"]
        locations[loc.code] = loc
    session.flush()
    for row in business.get("calendar", []):
        loc = locations[row["location"]]
        tpl = session.execute(
            select(CalendarTemplate).filter_by(location_id=loc.id, resource=row["resource"])
        ).scalar_one_or_none()
        if tpl is None:
            tpl = CalendarTemplate(location_id=loc.id, resource=row["resource"])
            session.add(tpl)
            report.add("calendar_templates")
        tpl.slot_minutes, tpl.capacity, tpl.hours = row["slot_minutes"], row["capacity"], row["hours"]
    for row in business.get("loaner_cars", []):
        car = session.execute(
            select(LoanerCar).filter_by(registration=row["registration"])
        ).scalar_one_or_none()
        if car is None:
            car = LoanerCar(registration=row["registration"])
            session.add(car)
            report.add("loaner_cars")
        car.model, car.location_id = row["model"], locations[row["location"]].id

    catalog = load_yaml("catalog.yaml", seed_dir)
    for order, row in enumerate(catalog.get("services", [])):
        session.merge(
            Service(
                code=row["code"],
                names=row["names"],
                aliases=row.get("aliases", {}),
                price_nok=row["price_nok"],
                duration_min=row["duration_min"],
                resource=row.get("resource"),
                sort_order=order,
            )
        )
    session.flush()
    for row in catalog.get("offers", []):
        items = row.get("items", [])
        session.merge(
            Offer(
                code=row["code"],
                kind=row.get("kind", "service"),
                service_code=items[0]["service"] if items else None,
                items=items,
                names=row["names"],
                reasons=row.get("reasons", {}),
                price_nok=row.get("price_nok", sum(int(i["price_nok"]) for i in items)),
                conditions=row.get("conditions", {}),
                weight=float(row.get("weight", 1.0)),
                active=row.get("active", True),
            )
        )
    session.flush()
    return report


def _day(today: date, row: dict[str, Any], ago: str, ahead: str) -> date:
    if ago in row:
        return today - timedelta(days=int(row[ago]))
    return today + timedelta(days=int(row.get(ahead, 0)))


def _clock(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def seed_demo_customers(
    session: Session, today: date | None = None, reset: bool = False, seed_dir: Path = SEED_DIR
) -> SeedReport:
    """Create the demo customers with their cars, history, bookings and invoices."""
    today = today or date.today()
    report = SeedReport()
    data = load_yaml("customers.yaml", seed_dir)
    default_location = session.execute(
        select(Location).filter_by(code=_setting(session, "default_location"))
    ).scalar_one()
    for row in data.get("customers", []):
        existing = session.execute(
            select(Customer).filter_by(demo_key=row["demo_key"])
        ).scalar_one_or_none()
        if existing is not None and not reset:
            continue
        if existing is not None:
            _delete_customer(session, existing)
        customer = Customer(
            demo_key=row["demo_key"],
            first_name=row["first_name"],
            last_name=row.get("last_name", ""),
            phone=row.get("phone"),
            email=row.get("email"),
        )
        session.add(customer)
        customer.preferences = Preferences(**row.get("preferences", {}))
        for sender in row.get("identities", []):
            for channel in DEMO_CHANNELS:
                customer.identities.append(
                    ChannelIdentity(channel=channel, external_id=sender, verified_at=datetime.utcnow())
                )
        vehicles: dict[str, Vehicle] = {}
        for vrow in row.get("vehicles", []):
            vehicle = Vehicle(
                registration=vrow["registration"],
                make=vrow["make"],
                model=vrow["model"],
                year=vrow["year"],
                body_type=vrow.get("body_type", "car"),
                mileage_km=vrow["mileage_km"],
                last_service_date=_day(today, vrow, "last_service_days_ago", "last_service_in_days"),
                last_service_km=vrow.get("last_service_km"),
                tyre_season=vrow.get("tyre_season", "summer"),
                home_region=vrow.get("home_region", ""),
                habits=vrow.get("habits", {}),
            )
            for reading in vrow.get("readings", []):
                vehicle.readings.append(
                    VehicleReading(
                        read_at=datetime.combine(_day(today, reading, "days_ago", "in_days"), time(7)),
                        mileage_km=reading["mileage_km"],
                    )
                )
            customer.vehicles.append(vehicle)
            vehicles[vehicle.registration] = vehicle
        session.flush()
        for hrow in row.get("history", []):
            session.add(
                ServiceJob(
                    customer_id=customer.id,
                    vehicle_id=vehicles[hrow["vehicle"]].id,
                    done_on=_day(today, hrow, "days_ago", "in_days"),
                    items=hrow["items"],
                    price_nok=hrow["price_nok"],
                    mileage_km=hrow.get("mileage_km"),
                    loaner_taken=hrow.get("loaner_taken", False),
                )
            )
        bookings: dict[str, Booking] = {}
        for brow in row.get("bookings", []):
            bookings[brow["reference"]] = _seed_booking(
                session, customer, vehicles.get(brow.get("vehicle", "")), default_location, today, brow
            )
        for irow in row.get("invoices", []):
            issued = _day(today, irow, "issued_days_ago", "issued_in_days")
            session.add(
                Invoice(
                    number=irow["number"],
                    customer_id=customer.id,
                    booking_id=bookings[irow["booking"]].id if irow.get("booking") else None,
                    amount_nok=irow["amount_nok"],
                    issued_on=issued,
                    due_on=today + timedelta(days=int(irow["due_in_days"])),
                    status=irow.get("status", "open"),
                    paid_on=_day(today, irow, "paid_days_ago", "paid_in_days")
                    if irow.get("status") == "paid"
                    else None,
                    payment_method=irow.get("payment_method"),
                )
            )
        report.add("customers")
        session.flush()
    return report


def _seed_booking(
    session: Session,
    customer: Customer,
    vehicle: Vehicle | None,
    location: Location,
    today: date,
    row: dict[str, Any],
) -> Booking:
    day = _day(today, row, "days_ago", "in_days")
    start = datetime.combine(day, _clock(row["at"]))
    services = booking.services_by_code(session, row["items"])
    resource = booking.primary_resource(services)
    slot = booking.get_or_create_slot(session, location, resource, start) if resource else None
    if slot is not None:
        slot.booked += 1
    record = Booking(
        reference=row["reference"],
        customer_id=customer.id,
        vehicle_id=vehicle.id if vehicle else None,
        location_id=location.id,
        slot_id=slot.id if slot else None,
        start=start,
        status=row.get("status", "booked"),
        ready_at=datetime.combine(day, _clock(row["ready_at"])) if row.get("ready_at") else None,
        items=[BookingItem(service_code=s.code, price_nok=s.price_nok) for s in services],
    )
    session.add(record)
    session.flush()
    if row.get("loaner"):
        car = booking.free_loaner(session, location, day)
        if car is not None:
            session.add(LoanerReservation(loaner_id=car.id, booking_id=record.id, day=day))
    return record


def _delete_customer(session: Session, customer: Customer) -> None:
    """Remove a demo customer and everything that hangs on them, freeing calendar capacity."""
    for record in session.execute(select(Booking).filter_by(customer_id=customer.id)).scalars():
        booking.release_slot(session, record)
    session.execute(delete(Invoice).where(Invoice.customer_id == customer.id))
    session.execute(delete(ServiceJob).where(ServiceJob.customer_id == customer.id))
    session.execute(delete(Booking).where(Booking.customer_id == customer.id))
    session.delete(customer)
    session.flush()


def _setting(session: Session, key: str) -> Any:
    row = session.get(Setting, key)
    if row is None:
        raise LookupError(f"setting {key!r} missing: run `bot seed-demo` (business data) first")
    return row.value


def seed_all(session: Session, today: date | None = None, reset: bool = False) -> SeedReport:
    report = seed_business(session)
    demo = seed_demo_customers(session, today=today, reset=reset)
    for kind, count in demo.created.items():
        report.add(kind, count)
    created = booking.ensure_calendar(session, today or date.today())
    report.add("workshop_slots", created)
    return report
