"""Everything we store about one customer (GDPR art. 15), and every conversation linked to them.

`collect` is the single source for the readable summary, the JSON export and, through
`linked_senders`, for the erasure: what is shown is what is deleted.

Export format (`FORMAT`), stable; dates and times are ISO 8601 strings, local time:
  format, generated_at, customer {id, first_name, last_name, phone, email, created_at},
  preferences {language, preferred_channel, contact_channels, reminders, data_sharing,
  auto_service, agreement, updated_at} (the consents), channel_identities [{channel,
  external_id, verified_at}], vehicles [{registration, make, model, year, ..., readings}],
  service_history [...], bookings [{reference, start, status, channel, location, items,
  loaner}], invoices [...], offers [{offer_code, reason, data_used, status, ...}],
  proactive_messages [...], handoff_tickets [{reason, status, ..., events}],
  verification_codes [{contact, expires_at, verified_at}] (the codes themselves are never
  stored), conversations [{sender_id, events [{at, type, text | name+value, intent}]}].
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import tracker_events
from bot.conversation_ids import conversation_ids
from bot.db.models import (
    Booking,
    Customer,
    HumanRequest,
    Invoice,
    OtpChallenge,
    OutboxMessage,
    Preferences,
    ServiceJob,
    Suggestion,
    TicketEvent,
    Vehicle,
    VehicleReading,
)

FORMAT = "fjordbil-privacy-export/1"
CONVERSATION_TYPES = ("user", "bot", "slot")


def _row(obj: Any, columns: Iterable[str]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in columns}


def split_key(key: str | None) -> str | None:
    """The sender id of a "channel:sender" key."""
    if not key or ":" not in key:
        return None
    return key.split(":", 1)[1] or None


def customer_tickets(session: Session, customer_id: int, senders: Iterable[str] = ()) -> list[HumanRequest]:
    senders = list(senders)
    condition = HumanRequest.customer_id == customer_id
    if senders:
        condition = or_(
            condition, HumanRequest.sender_id.in_(senders), HumanRequest.sender_key.in_(senders),
            *[HumanRequest.sender_key.endswith(f":{s}") for s in senders],
        )
    return list(session.execute(select(HumanRequest).where(condition).order_by(HumanRequest.id)).scalars())


def customer_otps(session: Session, customer: Customer, senders: Iterable[str] = ()) -> list[OtpChallenge]:
    contacts = [c for c in (customer.phone, customer.email) if c]
    conditions = [OtpChallenge.contact.in_(contacts)] if contacts else []
    senders = list(senders)
    if senders:
        conditions.append(OtpChallenge.sender_key.in_(senders))
    conditions += [OtpChallenge.sender_key.endswith(f":{s}") for s in senders]
    if not conditions:
        return []
    return list(session.execute(select(OtpChallenge).where(or_(*conditions))).scalars())


def verified_senders(engine: Engine | None, customer_id: int) -> set[str]:
    """Conversations in which a slot event set `customer_id` to this customer (guests who
    identified themselves, on any channel)."""
    if engine is None or not tracker_events.has_events_table(engine):
        return set()
    t = tracker_events.events_table
    query = (
        sa.select(t.c.sender_id, t.c.data)
        .where(t.c.type_name == "slot", t.c.data.like('%"customer_id"%'))
    )
    found: set[str] = set()
    with engine.connect() as conn:
        for sender_id, data in conn.execute(query):
            try:
                event = json.loads(data or "{}")
            except ValueError:
                continue
            if event.get("name") == "customer_id" and str(event.get("value")) == str(customer_id):
                found.add(sender_id)
    return found


def linked_senders(session: Session, customer_id: int, engine: Engine | None) -> set[str]:
    """Every conversation id that belongs to this customer: `channel:id` ones, and the legacy ids
    from before conversation ids carried their channel (bot/conversation_ids.py)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return set()
    senders: set[str] = set()
    for identity in customer.identities:
        if identity.external_id:
            senders |= conversation_ids(identity.channel, identity.external_id)
    senders |= verified_senders(engine, customer_id)
    for ticket in customer_tickets(session, customer_id):
        senders |= {s for s in (ticket.sender_id, ticket.sender_key, split_key(ticket.sender_key)) if s}
    for channel, recipient in session.execute(
        select(OutboxMessage.channel, OutboxMessage.recipient).where(OutboxMessage.customer_id == customer_id)
    ):
        if recipient:
            senders |= conversation_ids(channel or "", recipient)
    for otp in customer_otps(session, customer):
        senders |= {s for s in (otp.sender_key, split_key(otp.sender_key)) if s}
    # Of the ids a channel identity may have had, those with a conversation.
    return tracker_events.existing_senders(engine, senders) if engine is not None else senders


def _conversation(engine: Engine | None, sender_id: str) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    if engine is not None:
        for e in tracker_events.events(engine, sender_ids=[sender_id], types=CONVERSATION_TYPES):
            item: dict[str, Any] = {"at": datetime.fromtimestamp(e.timestamp), "type": e.type_name}
            if e.type_name == "slot":
                item.update(name=e.data.get("name"), value=e.data.get("value"))
            else:
                item["text"] = e.text
                if e.intent_name:
                    item["intent"] = e.intent_name
            events.append(item)
    return {"sender_id": sender_id, "events": events}


def collect(session: Session, customer_id: int, tracker_engine: Engine | None) -> dict[str, Any]:
    """Everything stored about the customer, as plain data (see the module docstring)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError("unknown customer")
    senders = linked_senders(session, customer_id, tracker_engine)
    prefs = session.get(Preferences, customer_id)
    vehicles = session.execute(select(Vehicle).filter_by(customer_id=customer_id).order_by(Vehicle.id)).scalars()
    bookings = session.execute(
        select(Booking).filter_by(customer_id=customer_id).order_by(Booking.start)
    ).scalars().all()
    references = {b.id: b.reference for b in bookings}
    tickets = customer_tickets(session, customer_id, senders)
    return {
        "format": FORMAT,
        "generated_at": datetime.now().replace(microsecond=0),
        "customer": _row(customer, ("id", "first_name", "last_name", "phone", "email", "created_at")),
        "preferences": _row(prefs, (
            "language", "preferred_channel", "contact_channels", "reminders", "data_sharing",
            "auto_service", "agreement", "updated_at",
        )) if prefs else None,
        "channel_identities": [_row(i, ("channel", "external_id", "verified_at")) for i in customer.identities],
        "vehicles": [
            {
                **_row(v, (
                    "registration", "make", "model", "year", "body_type", "mileage_km", "last_service_date",
                    "last_service_km", "service_interval_km", "service_interval_months", "tyre_season",
                    "home_region", "habits",
                )),
                "readings": [
                    _row(r, ("read_at", "mileage_km"))
                    for r in session.execute(
                        select(VehicleReading).filter_by(vehicle_id=v.id).order_by(VehicleReading.read_at)
                    ).scalars()
                ],
            }
            for v in vehicles
        ],
        "service_history": [
            _row(j, ("done_on", "items", "price_nok", "mileage_km", "loaner_taken"))
            for j in session.execute(select(ServiceJob).filter_by(customer_id=customer_id).order_by(ServiceJob.done_on))
            .scalars()
        ],
        "bookings": [
            {
                **_row(b, ("reference", "start", "status", "ready_at", "channel", "created_at")),
                "location": b.location.name if b.location else None,
                "items": [_row(i, ("service_code", "price_nok", "offer_code")) for i in b.items],
                "loaner": {"day": b.loaner.day, "car": b.loaner.car.model if b.loaner.car else None}
                if b.loaner else None,
            }
            for b in bookings
        ],
        "invoices": [
            _row(i, ("number", "amount_nok", "issued_on", "due_on", "status", "paid_on", "payment_method"))
            for i in session.execute(select(Invoice).filter_by(customer_id=customer_id).order_by(Invoice.id)).scalars()
        ],
        "offers": [
            {
                **_row(s, (
                    "offer_code", "context", "strategy", "channel", "lang", "reason", "data_used", "price_nok",
                    "status", "offered_at", "decided_at",
                )),
                "booking_reference": references.get(s.booking_id),
            }
            for s in session.execute(select(Suggestion).filter_by(customer_id=customer_id).order_by(Suggestion.id))
            .scalars()
        ],
        "proactive_messages": [
            _row(o, (
                "event_type", "period_key", "strategy", "action", "channel", "lang", "payload", "status",
                "created_at", "sent_at", "answered_at",
            ))
            for o in session.execute(
                select(OutboxMessage).filter_by(customer_id=customer_id).order_by(OutboxMessage.id)
            ).scalars()
        ],
        "handoff_tickets": [
            {
                **_row(t, (
                    "reason", "language", "status", "channel", "created_at", "claimed_at", "closed_at", "summary",
                )),
                "events": [
                    _row(e, ("action", "at", "detail"))
                    for e in session.execute(
                        select(TicketEvent).filter_by(ticket_id=t.id).order_by(TicketEvent.id)
                    ).scalars()
                ],
            }
            for t in tickets
        ],
        "verification_codes": [
            _row(o, ("contact", "expires_at", "verified_at")) for o in customer_otps(session, customer, senders)
        ],
        "conversations": [_conversation(tracker_engine, s) for s in sorted(senders)],
    }


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def export_json(data: dict[str, Any]) -> str:
    """The export as stable JSON: sorted keys, ISO dates, UTF-8 text."""
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2, sort_keys=True)
