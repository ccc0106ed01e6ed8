"""Who is writing: channel identities, guest identification by one-time code, profile views."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import i18n
from bot.booking import active_bookings, setting
from bot.catalog import service_names
from bot.config import dev_mode
from bot.db.models import ChannelIdentity, Customer, OtpChallenge, Preferences, Vehicle
from bot.strategy import derive_strategy

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<!\d)(\+?\d[\d \-]{6,16}\d)(?!\d)")
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class Contact:
    kind: str  # "phone" | "email"
    value: str  # normalised: "+4791234567" or lower-case e-mail


@dataclass(frozen=True)
class Verification:
    status: str  # "ok" | "wrong" | "locked" | "expired" | "missing"
    customer_id: int | None = None
    first_name: str | None = None
    new_customer: bool = False
    attempts_left: int = 0


@dataclass(frozen=True)
class ProfileView:
    customer_id: int
    first_name: str
    full_name: str
    language: str
    strategy: str
    contact: str
    vehicles: list[str]
    bookings: list[str]


def sender_key(channel: str, sender_id: str) -> str:
    return f"{channel}:{sender_id}"


def identity_customer(session: Session, channel: str, sender_id: str) -> int | None:
    """The id of the customer a sender id on a channel belongs to, if any."""
    return session.execute(
        select(ChannelIdentity.customer_id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == sender_id)
    ).scalar_one_or_none()


def find_customer(session: Session, channel: str, sender_id: str) -> Customer | None:
    """The customer behind a sender id on a channel, if that identity is known."""
    return session.execute(
        select(Customer)
        .join(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == sender_id)
    ).scalar_one_or_none()


def customer_language(customer: Customer | None) -> str | None:
    return customer.preferences.language if customer and customer.preferences else None


def customer_strategy(customer: Customer | None) -> str:
    return derive_strategy(customer.preferences if customer else None)


def parse_contact(text: str) -> Contact | None:
    """A phone number or e-mail address in the message, normalised."""
    text = (text or "")[:500]
    email = _EMAIL.search(text)
    if email:
        return Contact("email", email.group(0).lower())
    phone = _PHONE.search(text)
    if phone:
        digits = re.sub(r"[ \-]", "", phone.group(1))
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        if not digits.startswith("+"):
            digits = "+47" + digits if len(digits) == 8 else digits
        if 8 <= len(digits.lstrip("+")) <= 15:
            return Contact("phone", digits)
    return None


def parse_code(text: str) -> str | None:
    match = _CODE.search((text or "")[:200])
    return match.group(1) if match else None


def mask_contact(contact: Contact) -> str:
    """"+47 *** ** 567" / "k***@example.no": enough to recognise, not to read out."""
    if contact.kind == "email":
        user, _, domain = contact.value.partition("@")
        return f"{user[:1]}***@{domain}"
    return f"{contact.value[:3]} *** ** {contact.value[-3:]}"


def _hash(challenge_salt: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_salt}:{code}".encode()).hexdigest()


def start_verification(session: Session, key: str, contact: Contact, now: datetime) -> str:
    """Create a one-time code for this sender and contact; returns it for delivery.

    Delivery by SMS or e-mail needs a gateway this project does not have yet; in dev mode
    the code is written to the action server's log (never to the chat).
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    salt = secrets.token_hex(8)
    ttl = int(setting(session, "otp_ttl_minutes", 10))  # type: ignore[arg-type]
    session.add(
        OtpChallenge(
            sender_key=key,
            contact=contact.value,
            code_hash=f"{salt}${_hash(salt, code)}",
            expires_at=now + timedelta(minutes=ttl),
            attempts=0,
        )
    )
    session.flush()
    if dev_mode():
        log.warning("DEV MODE one-time code: %s", code)
    else:
        log.warning("no SMS/e-mail gateway configured: one-time code not delivered")
    return code


def verify_code(
    session: Session, key: str, code: str, now: datetime, channel: str, sender_id: str
) -> Verification:
    """Check the code; on success link this sender to the customer (created if new)."""
    challenge = (
        session.execute(
            select(OtpChallenge)
            .where(OtpChallenge.sender_key == key, OtpChallenge.verified_at.is_(None))
            .order_by(OtpChallenge.id.desc())
        )
        .scalars()
        .first()
    )
    if challenge is None:
        return Verification("missing")
    max_attempts = int(setting(session, "otp_max_attempts", 3))  # type: ignore[arg-type]
    if challenge.expires_at < now:
        return Verification("expired")
    if challenge.attempts >= max_attempts:
        return Verification("locked")
    salt, _, digest = challenge.code_hash.partition("$")
    if not secrets.compare_digest(_hash(salt, code), digest):
        challenge.attempts += 1
        left = max_attempts - challenge.attempts
        return Verification("wrong" if left > 0 else "locked", attempts_left=left)
    challenge.verified_at = now
    customer = session.execute(
        select(Customer).where(or_(Customer.phone == challenge.contact, Customer.email == challenge.contact))
    ).scalar_one_or_none()
    new_customer = customer is None
    if customer is None:
        is_email = "@" in challenge.contact
        customer = Customer(
            first_name="",
            phone=None if is_email else challenge.contact,
            email=challenge.contact if is_email else None,
        )
        customer.preferences = Preferences(language="nb", contact_channels=[], data_sharing="contact")
        session.add(customer)
        session.flush()
    identity = session.execute(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == sender_id)
    ).scalar_one_or_none()
    if identity is None:
        session.add(
            ChannelIdentity(customer_id=customer.id, channel=channel, external_id=sender_id, verified_at=now)
        )
    else:   # whoever proves a contact now holds this sender id: the conversation is theirs
        identity.customer_id, identity.verified_at = customer.id, now
    session.flush()
    return Verification("ok", customer.id, customer.first_name or None, new_customer)


def profile_view(session: Session, customer_id: int, lang: str | None, now: datetime) -> ProfileView:
    """What we store about a customer, in words the customer reads."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError("unknown customer")
    vehicles = session.execute(select(Vehicle).filter_by(customer_id=customer_id)).scalars().all()
    bookings = [
        f"{i18n.join_list(service_names(session, [i.service_code for i in b.items], lang), lang)} "
        f"{i18n.format_datetime(b.start, lang)} ({b.reference})"
        for b in active_bookings(session, customer_id, now)
    ]
    contact = i18n.join_list([c for c in (customer.phone, customer.email) if c], lang)
    return ProfileView(
        customer_id=customer.id,
        first_name=customer.first_name,
        full_name=f"{customer.first_name} {customer.last_name}".strip(),
        language=customer_language(customer) or "nb",
        strategy=customer_strategy(customer),
        contact=contact,
        vehicles=[f"{v.make} {v.model} {v.year} ({v.registration})" for v in vehicles],
        bookings=bookings,
    )
