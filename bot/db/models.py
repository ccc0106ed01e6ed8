"""The profile database: customers, their cars and history, the workshop and its catalog.

Everything domain-specific (services, prices, opening hours, locations) is data in these
tables, filled from the seed files, so another business can reuse the assistant by
changing data rather than code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    first_name = Column(String(80))
    last_name = Column(String(80), default="")
    phone = Column(String(32), unique=True)
    email = Column(String(254), unique=True)
    demo_key = Column(String(40), unique=True)
    created_at = Column(DateTime, default=datetime.utcnow)

    identities = relationship(
        "ChannelIdentity", back_populates="customer", cascade="all, delete-orphan"
    )
    preferences = relationship(
        "Preferences", back_populates="customer", cascade="all, delete-orphan", uselist=False
    )
    vehicles = relationship(
        "Vehicle", back_populates="customer", cascade="all, delete-orphan"
    )


class ChannelIdentity(Base):
    """A sender id on one channel (Telegram chat id, web chat session, REST sender)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel = Column(String(32))
    external_id = Column(String(128))
    verified_at = Column(DateTime)

    customer = relationship("Customer", back_populates="identities")


class Preferences(Base):
    """Consent and preferences; the connected strategy is derived from these."""

    __tablename__ = "preferences"

    customer_id = Column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    language = Column(String(2), default="nb")
    preferred_channel = Column(String(32))
    # Channels the customer consented to be contacted on (proactive messages).
    contact_channels = Column(JSON, default=list)
    reminders = Column(Boolean, default=False)
    # "contact" (nothing beyond contact data), "history" or "usage" (telemetry, habits).
    data_sharing = Column(String(16), default="contact")
    auto_service = Column(Boolean, default=False)
    # What the standing agreement covers: {"pickup": true, "loaner": true, "payment": "invoice"}.
    agreement = Column(JSON, default=dict)
    updated_at = Column(DateTime, default=datetime.utcnow)

    customer = relationship("Customer", back_populates="preferences")


class Vehicle(Base):
    __tablename__ = "vehicles"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    registration = Column(String(16), unique=True)
    make = Column(String(40))
    model = Column(String(60))
    year = Column(Integer)
    body_type = Column(String(20), default="car")
    mileage_km = Column(Integer, default=0)
    last_service_date = Column(Date, index=True)
    last_service_km = Column(Integer)
    service_interval_km = Column(Integer, default=15000)
    service_interval_months = Column(Integer, default=12)
    tyre_season = Column(String(10), default="summer")
    home_region = Column(String(40), default="")
    # Known habits shared by the customer, e.g. {"mountain_trips": "biweekly_winter"}.
    habits = Column(JSON, default=dict)

    customer = relationship("Customer", back_populates="vehicles")
    readings = relationship(
        "VehicleReading", back_populates="vehicle", cascade="all, delete-orphan"
    )


class VehicleReading(Base):
    """Telemetry: a mileage reading sent by a connected car."""

    __tablename__ = "vehicle_readings"

    id = Column(Integer, primary_key=True)
    vehicle_id = Column(ForeignKey("vehicles.id", ondelete="CASCADE"), index=True)
    read_at = Column(DateTime)
    mileage_km = Column(Integer)

    vehicle = relationship("Vehicle", back_populates="readings")


class ServiceJob(Base):
    """A finished workshop job: the service history."""

    __tablename__ = "service_jobs"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    vehicle_id = Column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    done_on = Column(Date)
    items = Column(JSON, default=list)
    price_nok = Column(Integer, default=0)
    mileage_km = Column(Integer)
    loaner_taken = Column(Boolean, default=False)


class Location(Base):
    __tablename__ = "locations"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True)
    name = Column(String(120))
    address = Column(String(200))
    directions = Column(JSON, default=dict)  # {"nb": ..., "sv": ..., "en": ...}
    # {"mon": ["07:30", "17:00"], ..., "sun": null}
    opening_hours = Column(JSON, default=dict)


class Service(Base):
    """A catalog entry: something the workshop does, with price and duration."""

    __tablename__ = "services"

    code = Column(String(32), primary_key=True)
    names = Column(JSON)  # {"nb": ..., "sv": ..., "en": ...}
    aliases = Column(JSON, default=dict)  # {"nb": [...], ...}
    price_nok = Column(Integer)
    duration_min = Column(Integer)
    # Calendar resource the job occupies: "workshop", "tyres", "wash"; None needs no slot.
    resource = Column(String(20))
    sort_order = Column(Integer, default=0)


class Offer(Base):
    """A catalog offer for the strategy engine; what it sells, when and why are all data.

    `kind` is "service" (adds `items` to the booking) or "loaner" (a loaner car);
    `conditions` are matched by bot/strategy/conditions.py; `reasons` are the one-line
    explanation per language, with placeholders filled from the facts the offer used.
    """

    __tablename__ = "offers"

    code = Column(String(40), primary_key=True)
    service_code = Column(ForeignKey("services.code"))
    kind = Column(String(16), default="service")
    # [{"service": "polish", "price_nok": 1245}, ...]: what a booking gets when accepted.
    items = Column(JSON, default=list)
    names = Column(JSON)
    reasons = Column(JSON, default=dict)
    price_nok = Column(Integer)
    conditions = Column(JSON, default=dict)
    weight = Column(Float, default=1.0)
    active = Column(Boolean, default=True)


class Suggestion(Base):
    """One offer made to one customer, with its reason, the data it used and its outcome."""

    __tablename__ = "suggestions"
    __table_args__ = (UniqueConstraint("customer_id", "context", "offer_code"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    offer_code = Column(ForeignKey("offers.code"), index=True)
    # What the offer was made for: a booking in progress ("draft:<id>"), advice, a proactive event.
    context = Column(String(64))
    booking_id = Column(ForeignKey("bookings.id", ondelete="SET NULL"))
    strategy = Column(String(16))
    channel = Column(String(32))
    lang = Column(String(2))
    reason = Column(Text)
    data_used = Column(JSON, default=list)
    price_nok = Column(Integer)
    # offered -> accepted | declined
    status = Column(String(10), default="offered")
    offered_at = Column(DateTime)
    decided_at = Column(DateTime)


class CalendarTemplate(Base):
    """How many jobs of one resource the workshop takes per hour, per weekday."""

    __tablename__ = "calendar_templates"
    __table_args__ = (UniqueConstraint("location_id", "resource"),)

    id = Column(Integer, primary_key=True)
    location_id = Column(ForeignKey("locations.id"))
    resource = Column(String(20))
    slot_minutes = Column(Integer, default=60)
    capacity = Column(Integer, default=1)
    # {"mon": ["08:00", "15:00"], ...}: first and last slot start times; missing day = closed.
    hours = Column(JSON, default=dict)


class WorkshopSlot(Base):
    """One bookable time of one resource. `booked` never exceeds `capacity`."""

    __tablename__ = "workshop_slots"
    __table_args__ = (
        UniqueConstraint("location_id", "resource", "start"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="slot_capacity"),
    )

    id = Column(Integer, primary_key=True)
    location_id = Column(ForeignKey("locations.id"))
    resource = Column(String(20))
    start = Column(DateTime, index=True)
    capacity = Column(Integer)
    booked = Column(Integer, default=0)


class LoanerCar(Base):
    __tablename__ = "loaner_cars"

    id = Column(Integer, primary_key=True)
    registration = Column(String(16), unique=True)
    model = Column(String(60))
    location_id = Column(ForeignKey("locations.id"))
    active = Column(Boolean, default=True)


class Booking(Base):
    __tablename__ = "bookings"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), unique=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    vehicle_id = Column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    location_id = Column(ForeignKey("locations.id"))
    slot_id = Column(ForeignKey("workshop_slots.id"))
    start = Column(DateTime)
    # booked -> in_progress -> ready -> completed; or cancelled
    status = Column(String(16), default="booked", index=True)
    ready_at = Column(DateTime)
    channel = Column(String(32))
    created_at = Column(DateTime, default=datetime.utcnow)

    items = relationship(
        "BookingItem", back_populates="booking", cascade="all, delete-orphan", order_by="BookingItem.id"
    )
    loaner = relationship(
        "LoanerReservation", back_populates="booking", cascade="all, delete-orphan", uselist=False
    )
    location = relationship("Location")


class BookingItem(Base):
    __tablename__ = "booking_items"

    id = Column(Integer, primary_key=True)
    booking_id = Column(ForeignKey("bookings.id", ondelete="CASCADE"))
    service_code = Column(ForeignKey("services.code"))
    price_nok = Column(Integer)
    offer_code = Column(ForeignKey("offers.code"))

    booking = relationship("Booking", back_populates="items")


class LoanerReservation(Base):
    """A loaner car for one day; the unique key makes double reservations impossible."""

    __tablename__ = "loaner_reservations"
    __table_args__ = (UniqueConstraint("loaner_id", "day"),)

    id = Column(Integer, primary_key=True)
    loaner_id = Column(ForeignKey("loaner_cars.id"))
    booking_id = Column(
        ForeignKey("bookings.id", ondelete="CASCADE"), unique=True
    )
    day = Column(Date)

    booking = relationship("Booking", back_populates="loaner")
    car = relationship("LoanerCar")


class Invoice(Base):
    __tablename__ = "invoices"

    id = Column(Integer, primary_key=True)
    number = Column(String(20), unique=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"))
    booking_id = Column(ForeignKey("bookings.id", ondelete="SET NULL"))
    amount_nok = Column(Integer)
    issued_on = Column(Date)
    due_on = Column(Date)
    status = Column(String(10), default="open", index=True)  # open | paid
    paid_on = Column(Date)
    payment_method = Column(String(16))


class Setting(Base):
    """Business-wide settings from the seed data: name, payment methods, booking horizon."""

    __tablename__ = "settings"

    key = Column(String(64), primary_key=True)
    value = Column(JSON)


class OtpChallenge(Base):
    """A one-time code sent to a phone or e-mail to identify a guest; only its hash is kept."""

    __tablename__ = "otp_challenges"

    id = Column(Integer, primary_key=True)
    sender_key = Column(String(200), index=True)
    contact = Column(String(254))
    code_hash = Column(String(128))
    expires_at = Column(DateTime)
    attempts = Column(Integer, default=0)
    verified_at = Column(DateTime)


class HumanRequest(Base):
    """A handoff ticket: a conversation a person must take over.

    open -> claimed (an agent has it) -> closed, or handed_back (the bot resumes); a ticket
    can be transferred between agents while claimed. Every step is audited in ticket_events.
    """

    __tablename__ = "human_requests"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"))
    sender_key = Column(String(200))
    reason = Column(String(32))  # request_human | fallback | complain | error | ...
    language = Column(String(2), default="nb")
    status = Column(String(16), default="open", index=True)
    created_at = Column(DateTime, default=datetime.utcnow)
    # The conversation as Rasa knows it: sender id and channel, to answer on it.
    sender_id = Column(String(128))
    channel = Column(String(32))
    # Lower is more urgent: complaints and cars in the workshop first.
    priority = Column(Integer, default=2)
    summary = Column(JSON, default=dict)
    agent_id = Column(ForeignKey("agents.id", ondelete="SET NULL"))
    claimed_at = Column(DateTime)
    closed_at = Column(DateTime)


class Agent(Base):
    """A person at the desk; the password is an argon2 hash."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True)
    display_name = Column(String(80))
    password_hash = Column(String(200))
    role = Column(String(16), default="agent")  # agent | trainer
    failed_logins = Column(Integer, default=0)
    locked_until = Column(DateTime)
    last_seen_at = Column(DateTime)
    created_at = Column(DateTime, default=datetime.utcnow)


class TicketEvent(Base):
    """Audit: who claimed, answered, transferred, handed back and closed what, when."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("human_requests.id", ondelete="CASCADE"), index=True)
    agent_id = Column(ForeignKey("agents.id", ondelete="SET NULL"))
    action = Column(String(20))  # opened | claimed | replied | transferred | handed_back | closed
    detail = Column(JSON, default=dict)
    at = Column(DateTime)


class OutboxMessage(Base):
    """One proactive message per (customer, event, period), written before it is sent.

    The unique key makes a second scheduler pass, a restart or a second scheduler unable to
    create it twice; `status` says where it is: pending -> sending -> sent, or waiting
    (quiet hours), failed (after the last retry), undeliverable (no channel we may use).
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("customer_id", "event_type", "period_key"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    event_type = Column(String(32))
    period_key = Column(String(80))
    strategy = Column(String(16))
    # "suggest" (coach: a proposal), "booked" (auto: done within the agreement), "notify"
    action = Column(String(16))
    channel = Column(String(32))
    recipient = Column(String(128))
    lang = Column(String(2))
    payload = Column(JSON, default=dict)
    booking_id = Column(ForeignKey("bookings.id", ondelete="SET NULL"))
    status = Column(String(16), default="pending", index=True)
    attempts = Column(Integer, default=0)
    next_attempt_at = Column(DateTime, index=True)
    lease_until = Column(DateTime)
    last_error = Column(String(200))
    created_at = Column(DateTime)
    sent_at = Column(DateTime)
    answered_at = Column(DateTime)


class SchedulerLock(Base):
    """A named lock row with an expiry: only one scheduler sends at a time (SQLite; PostgreSQL
    uses an advisory lock instead)."""

    __tablename__ = "scheduler_locks"

    name = Column(String(40), primary_key=True)
    holder = Column(String(80))
    expires_at = Column(DateTime)


class ReviewItem(Base):
    """A user message a trainer should look at (the review inbox), mined from the tracker.

    `text` is always masked (bot.masking); `dedupe_key` is the normalised masked text plus the
    language, so near-identical messages raise `occurrences` instead of adding rows. `reasons` is
    a list out of "fallback", "low_confidence", "handoff", "corrected". Labelling fills the
    label_* columns and `data_file` (the NLU file the example was written to).
    """

    __tablename__ = "review_items"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), index=True)
    event_id = Column(Integer)
    text = Column(Text)
    dedupe_key = Column(String(255), unique=True)
    lang = Column(String(5))
    predicted_intent = Column(String(100), nullable=True)
    confidence = Column(Float, nullable=True)
    reasons = Column(JSON, default=list)
    occurrences = Column(Integer, default=1)
    first_seen = Column(DateTime)
    last_seen = Column(DateTime)
    status = Column(String(20), default="new", index=True)  # new | labelled | not_useful
    label_intent = Column(String(100), nullable=True)
    label_entities = Column(JSON, nullable=True)  # [{"start", "end", "entity", "value"}]
    labelled_by = Column(String(100), nullable=True)
    labelled_at = Column(DateTime, nullable=True)
    data_file = Column(String(255), nullable=True)


class ReviewState(Base):
    """Key/value state of the review miner; "cursor" = last tracker event id processed."""

    __tablename__ = "review_state"

    key = Column(String(50), primary_key=True)
    value = Column(String(255))


class OfferStat(Base):
    """Anonymous offer outcomes folded in from erased customers' suggestions, so acceptance
    rates survive an erasure (GDPR art. 17) without keeping anything about the person."""

    __tablename__ = "offer_stats"
    __table_args__ = (UniqueConstraint("offer_code", "strategy", "channel", "lang", "status"),)

    id = Column(Integer, primary_key=True)
    offer_code = Column(String(40))
    strategy = Column(String(16))
    channel = Column(String(32))
    lang = Column(String(2))
    status = Column(String(10))
    count = Column(Integer, default=0)


class PendingErasure(Base):
    """A conversation whose tracker events must still be deleted: the customer erased their
    data from inside it, and Rasa writes the turn's events after the action ran. Completed a
    few seconds later by the action server and, durably, by the scheduler or `bot erase`."""

    __tablename__ = "pending_erasures"

    sender_id = Column(String(255), primary_key=True)
    due_at = Column(DateTime)
