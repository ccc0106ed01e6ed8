"""Scripted customer dialogs through a running stack, with the checks every turn must pass.

A dialog (tests/dialogs/*.yml) is what a customer types, turn by turn, and what the replies
must and must not say; after it, what must be true in the database. Each dialog gets a
customer of its own (a fresh profile in the stack's database, respond strategy, in the
dialog's language), so dialogs never see each other's bookings. Every reply of every turn is
also checked for what must never happen: no answer at all, the same message twice, more than
four messages, another language than the customer's, a handoff or a technical apology the
dialog did not ask for.

Placeholders in a user text: {phone} (the dialog customer's phone number), {code} (the
one-time code just sent, read from the action server's log in dev mode), {time1}/{time2}
(the payload of the first/second time button of the previous reply), {yes}/{no} (the
payloads /affirm and /deny).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot import booking as booking_core
from bot.db.models import Booking, ChannelIdentity, Customer, Preferences, Vehicle
from bot.db.session import session_scope
from bot.lang import detect_language

DIALOG_DIR = Path(__file__).parent / "dialogs"
MAX_MESSAGES = 4
NAMES = {"nb": ("Nora", "Dahl"), "sv": ("Sara", "Lind"), "en": ("Jack", "Reed")}
# What a reply says when a person takes over, or when something broke: never unasked for.
HANDOFF_MARKERS = ("menneskelige kolleg", "mänskliga kolleg", "human colleague", "i køen", "i kön", "in the queue",
                   "plass nummer", "plats nummer", "place number", "saken er registrert", "ärendet är registrerat",
                   "case has been registered", "person tar kontakt", "person kontaktar", "person will contact")
TECHNICAL_MARKERS = ("teknisk", "tekniskt", "technical problem", "technical issue")


@dataclass
class Dialog:
    name: str
    lang: str
    pattern: str
    form: str
    turns: list[dict[str, Any]]
    customer: str = "known"
    booking: dict[str, Any] | None = None
    after: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def test_id(self) -> str:
        return f"{self.pattern}-{self.form}-{self.lang}-{self.name}".replace(" ", "_")


def load_dialogs(folder: Path = DIALOG_DIR) -> list[Dialog]:
    dialogs: list[Dialog] = []
    for path in sorted(folder.glob("*.yml")):
        for row in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("dialogs", []):
            dialogs.append(Dialog(source=path.name, **row))
    return dialogs


@dataclass
class Customer_:
    id: int
    sender: str
    phone: str


def make_customer(db_url: str, lang: str, sender: str, number: int, booking: dict[str, Any] | None) -> Customer_:
    """A fresh respond-strategy customer in `lang`; known on REST as `sender` unless a guest."""
    first, last = NAMES[lang]
    phone = f"+47 93{number:06d}"
    with session_scope(db_url) as session:
        customer = Customer(first_name=first, last_name=last, phone=re.sub(r"\s", "", phone),
                            email=f"dialog{number}@example.no")
        customer.preferences = Preferences(language=lang)
        customer.vehicles.append(Vehicle(registration=f"DL{number:05d}", make="Toyota", model="Corolla", year=2019,
                                         mileage_km=60000, last_service_date=date.today() - timedelta(days=200),
                                         last_service_km=50000))
        session.add(customer)
        session.flush()
        if sender:
            session.add(ChannelIdentity(customer_id=customer.id, channel="rest", external_id=sender,
                                        verified_at=datetime.utcnow()))
        if booking:
            now = booking_core.now_local()
            day = now.date() + timedelta(days=int(booking.get("in_days", 3)))
            start = free_start(session, list(booking.get("services", ["wash"])), day, now)
            booking_core.book(session, customer.id, list(booking.get("services", ["wash"])), start, now,
                              vehicle_id=customer.vehicles[0].id, channel="rest")
        return Customer_(customer.id, sender, phone)


def free_start(session: Any, codes: list[str], day: date, now: datetime) -> datetime:
    """The first free time for `codes` on `day` or the days after."""
    for moment in booking_core.free_times(session, codes, now, around=datetime.combine(day, datetime.min.time()),
                                          has_time=False):
        return moment
    raise AssertionError(f"no free time for {codes} around {day}")


def bookings_of(db_url: str, customer_id: int) -> list[Booking]:
    with session_scope(db_url) as session:
        rows = session.execute(select(Booking).filter_by(customer_id=customer_id)).scalars().all()
        for row in rows:
            _ = [i.service_code for i in row.items], row.loaner
        session.expunge_all()
        return rows


def post(rasa_url: str, sender: str, text: str) -> list[dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def reply_texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def latest_code(action_log: Path, since: int) -> str:
    for _ in range(50):
        found = re.findall(r"one-time code: (\d{6})", action_log.read_text(encoding="utf-8", errors="replace")[since:])
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError("no one-time code in the action server's log")


class Failure(AssertionError):
    pass


def check_reply(dialog: Dialog, index: int, turn: dict[str, Any], replies: list[dict[str, Any]]) -> None:
    """What every reply must be, and what this turn expects."""
    where = f"{dialog.source}: {dialog.name!r}, turn {index + 1} ({turn['user']!r})"
    texts = reply_texts(replies)
    joined = "\n".join(texts).lower()
    if not replies:
        raise Failure(f"{where}: no answer")
    if len(replies) > MAX_MESSAGES:
        raise Failure(f"{where}: {len(replies)} messages in one reply: {texts}")
    duplicates = {t for t in texts if t and texts.count(t) > 1}
    if duplicates:
        raise Failure(f"{where}: the same message twice in one reply: {duplicates}")
    for text in texts:
        found = detect_language(text)
        if found not in (dialog.lang, None):
            raise Failure(f"{where}: answered in {found}, the customer writes {dialog.lang}: {text!r}")
    if not turn.get("handoff") and any(m in joined for m in HANDOFF_MARKERS):
        raise Failure(f"{where}: handed to a person unasked: {texts}")
    if any(m in joined for m in TECHNICAL_MARKERS):
        raise Failure(f"{where}: a technical apology: {texts}")
    for wanted in turn.get("expect", []):
        if str(wanted).lower() not in joined:
            raise Failure(f"{where}: expected {wanted!r} in {texts}")
    if turn.get("expect_any") and not any(str(w).lower() in joined for w in turn["expect_any"]):
        raise Failure(f"{where}: expected one of {turn['expect_any']} in {texts}")
    for unwanted in turn.get("forbid", []):
        if str(unwanted).lower() in joined:
            raise Failure(f"{where}: {unwanted!r} must not be said: {texts}")
    if "buttons" in turn:
        has = any(r.get("buttons") for r in replies)
        if has != bool(turn["buttons"]):
            raise Failure(f"{where}: buttons expected {turn['buttons']}, got {has}: {replies}")


def fill(text: str, customer: Customer_, previous: list[dict[str, Any]], action_log: Path, log_mark: int) -> str:
    buttons = [b["payload"] for r in previous for b in r.get("buttons", []) if "slot_choice" in b["payload"]]
    values = {"phone": customer.phone, "yes": "/affirm", "no": "/deny"}
    for number in (1, 2):
        if f"{{time{number}}}" in text:
            if len(buttons) < number:
                raise Failure(f"{text!r}: the previous reply had no time button {number}: {previous}")
            values[f"time{number}"] = buttons[number - 1]
    if "{code}" in text:
        values["code"] = latest_code(action_log, log_mark)
    return text.format(**values)


def run_dialog(dialog: Dialog, rasa_url: str, db_url: str, action_log: Path, number: int) -> list[list[str]]:
    """Talk the dialog through; returns the transcript (the replies' texts per turn)."""
    guest = dialog.customer == "guest"
    sender = f"dialog-{number}-{dialog.lang}"
    customer = make_customer(db_url, dialog.lang, "" if guest else sender, number, dialog.booking)
    customer.sender = sender
    existing = {b.id: (b.start, b.status) for b in bookings_of(db_url, customer.id)}
    previous: list[dict[str, Any]] = []
    transcript = []
    code_mark = 0   # where in the action log the code sent for this dialog's phone number starts
    for index, turn in enumerate(dialog.turns):
        if "{phone}" in str(turn["user"]):
            code_mark = action_log.stat().st_size if action_log.exists() else 0
        text = fill(str(turn["user"]), customer, previous, action_log, code_mark)
        previous = post(rasa_url, sender, text)
        transcript.append(reply_texts(previous))
        check_reply(dialog, index, turn, previous)
    check_after(dialog, db_url, customer, existing)
    return transcript


def check_after(dialog: Dialog, db_url: str, customer: Customer_, existing: dict[int, Any]) -> None:
    after = dialog.after or {}
    rows = bookings_of(db_url, customer.id)
    new = [b for b in rows if b.id not in existing and b.status != "cancelled"]
    where = f"{dialog.source}: {dialog.name!r} afterwards"
    if "bookings" in after and len(new) != int(after["bookings"]):
        raise Failure(f"{where}: {len(new)} new bookings, expected {after['bookings']}")
    booked = after.get("booked")
    if booked:
        if len(new) != 1:
            raise Failure(f"{where}: expected one new booking, found {len(new)}")
        record = new[0]
        services = sorted(i.service_code for i in record.items)
        if "services" in booked and services != sorted(booked["services"]):
            raise Failure(f"{where}: booked {services}, expected {sorted(booked['services'])}")
        if "weekday" in booked and record.start.isoweekday() != int(booked["weekday"]):
            raise Failure(f"{where}: booked on weekday {record.start.isoweekday()}, expected {booked['weekday']}")
        if "loaner" in booked and (record.loaner is not None) != bool(booked["loaner"]):
            raise Failure(f"{where}: loaner {record.loaner is not None}, expected {booked['loaner']}")
    state = after.get("existing")
    if state:
        rows_by_id = {b.id: b for b in rows}
        for booking_id, (start, _status) in existing.items():
            record = rows_by_id[booking_id]
            if state == "kept" and (record.status == "cancelled" or record.start != start):
                raise Failure(f"{where}: the existing booking changed ({record.status}, {record.start})")
            if state == "cancelled" and record.status != "cancelled":
                raise Failure(f"{where}: the existing booking is {record.status}, expected cancelled")
            if isinstance(state, dict) and "moved_to_weekday" in state and (
                    record.start == start or record.start.isoweekday() != int(state["moved_to_weekday"])):
                raise Failure(f"{where}: the booking is at {record.start}, expected moved to weekday "
                              f"{state['moved_to_weekday']}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
