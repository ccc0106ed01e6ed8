"""One pass of the proactive engine, the loop around it, and the lock that lets only one
scheduler send at a time (PostgreSQL advisory lock; a lock row on SQLite)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time as clock
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bot import booking
from bot.db.models import HumanRequest, OutboxMessage, Preferences, SchedulerLock
from bot.db.session import get_engine, session_scope
from bot.handoff.tickets import next_opening
from bot.i18n import channel_text
from bot.privacy.erase import finish_pending_quietly
from bot.proactive import outbox
from bot.proactive.deliver import trigger
from bot.proactive.detectors import DueEvent, detect_all, proactive_settings
from bot.proactive.plan import ADVISORY, Directory, plan

log = logging.getLogger(__name__)
LOCK_NAME = "proactive"
PG_LOCK_KEY = 720_514_001
SERVICES_FOR = {"service_due": ["service"], "tyre_change": ["tyre_change"]}


class SimulatedCrash(RuntimeError):
    """Raised by a pass told to stop between writing the outbox and sending (tests)."""


@dataclass
class PassReport:
    found: Counter = field(default_factory=Counter)
    created: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    undeliverable: int = 0
    sent: int = 0
    waiting: int = 0
    retrying: int = 0
    failed: int = 0
    wait_notices: int = 0
    locked: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        if self.locked:
            return "another scheduler holds the lock: nothing done"
        found = ", ".join(f"{k} {v}" for k, v in sorted(self.found.items())) or "none"
        created = ", ".join(f"{k} {v}" for k, v in sorted(self.created.items())) or "none"
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (
            f"due events: {found}\nnew messages: {created}\nnot contacted: {skipped}\n"
            f"sent {self.sent}, waiting (quiet hours) {self.waiting}, retrying {self.retrying}, "
            f"failed {self.failed}, undeliverable {self.undeliverable}; "
            f"handoff wait notices {self.wait_notices} ({self.seconds:.2f} s)"
        )


@contextmanager
def scheduler_lock(
    url: str | None, holder: str, now: datetime, ttl: timedelta = timedelta(minutes=10)
) -> Iterator[bool]:
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
        return
    with session_scope(url) as session:
        if session.get(SchedulerLock, LOCK_NAME) is None:
            session.add(SchedulerLock(name=LOCK_NAME, holder=None, expires_at=None))
    with session_scope(url) as session:
        got = session.execute(
            update(SchedulerLock)
            .where(SchedulerLock.name == LOCK_NAME)
            .where((SchedulerLock.expires_at.is_(None)) | (SchedulerLock.expires_at < now)
                   | (SchedulerLock.holder == holder))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount == 1
    try:
        yield got
    finally:
        if got:
            with session_scope(url) as session:
                session.execute(
                    update(SchedulerLock).where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == holder)
                    .values(expires_at=None)
                )


def _proposal(
    session: Session, customer_id: int, services: list[str], due: str | None, now: datetime
) -> datetime | None:
    """The first free time for the jobs from the due day (at least two days ahead)."""
    day = max(now.date() + timedelta(days=2), datetime.fromisoformat(due).date() if due else now.date())
    times = booking.free_times(session, services, now, around=datetime.combine(day, time(8)), count=1, ensure=False)
    return times[0] if times else None


def _advisory_row(
    session: Session, event: DueEvent, merged: list[str], the_plan: Any, now: datetime
) -> dict[str, Any]:
    services = list(dict.fromkeys(SERVICES_FOR[event.event_type] + merged))
    start = _proposal(session, event.customer_id, services, event.payload.get("due"), now)
    payload = {**event.payload, "services": services, "start": start.isoformat() if start else None}
    fields: dict[str, Any] = {"action": "suggest" if the_plan.action == "suggest" else "booked", "payload": payload}
    if the_plan.action == "book" and start is not None:
        prefs = session.get(Preferences, event.customer_id)
        agreement = dict(prefs.agreement or {}) if prefs else {}
        vehicle_id = event.payload.get("vehicle_id")
        record = booking.book(session, event.customer_id, services, start, now,
                              want_loaner=bool(agreement.get("loaner")), vehicle_id=vehicle_id,
                              channel=the_plan.channel)
        payload.update(reference=record.reference, loaner=record.loaner is not None,
                       pickup=bool(agreement.get("pickup")), payment=agreement.get("payment"))
        fields["booking_id"] = record.id
    elif the_plan.action == "book":
        fields["action"] = "suggest"  # no free time within the horizon: ask instead of booking
    return fields


def create_messages(session: Session, events: list[DueEvent], now: datetime, cfg: dict[str, Any],
                    report: PassReport) -> None:
    """Plan every new event and write its outbox row (auto bookings in the same transaction)."""
    existing = {
        (cid, etype, key) for cid, etype, key in session.execute(
            select(OutboxMessage.customer_id, OutboxMessage.event_type, OutboxMessage.period_key)
        )
    }
    advisory_by_customer: dict[int, list[str]] = {}
    for event in events:
        if event.event_type in ADVISORY:
            advisory_by_customer.setdefault(event.customer_id, []).append(event.event_type)
    ordered = sorted(events, key=lambda e: (e.customer_id, e.event_type != "service_due"))
    merged_into: dict[int, int] = {}
    new_events = [e for e in ordered if (e.customer_id, e.event_type, e.period_key) not in existing]
    directory = Directory.load(session, {e.customer_id for e in new_events})
    if any(e.event_type in ADVISORY for e in new_events):
        booking.ensure_calendar(session, now.date())  # once per pass, not once per proposal
    for event in ordered:
        report.found[event.event_type] += 1
        if (event.customer_id, event.event_type, event.period_key) in existing:
            continue
        the_plan = plan(session, event, list(cfg["push_channels"]), directory)
        if the_plan.action == "skip":
            report.skipped[the_plan.reason] += 1
            continue
        fields: dict[str, Any] = {
            "strategy": the_plan.strategy, "channel": the_plan.channel, "recipient": the_plan.recipient,
            "lang": the_plan.lang, "created_at": now, "payload": dict(event.payload), "action": "notify",
            "status": "pending",
        }
        if the_plan.action == "undeliverable":
            fields.update(status="undeliverable", last_error=the_plan.reason)
            report.undeliverable += 1
        elif event.event_type == "tyre_change" and event.customer_id in merged_into:
            fields.update(status="merged", payload={**event.payload, "merged_into": merged_into[event.customer_id]})
        elif event.event_type in ADVISORY:
            also = ["tyre_change"] if (event.event_type == "service_due"
                                       and "tyre_change" in advisory_by_customer[event.customer_id]) else []
            with session.begin_nested():
                fields.update(_advisory_row(session, event, also, the_plan, now))
        row = outbox.enqueue(session, event.customer_id, event.event_type, event.period_key, **fields)
        if row is None:
            continue
        if event.event_type == "service_due" and row.status == "pending" and "tyre_change" in row.payload.get(
                "services", []):
            merged_into[event.customer_id] = row.id
        if row.status == "pending":
            report.created[event.event_type] += 1


async def deliver_due(url: str | None, now: datetime, rasa_url: str, token: str, cfg: dict[str, Any],
                      report: PassReport) -> None:
    with session_scope(url) as session:
        rows = [(r.id, r.recipient, r.channel) for r in outbox.due_rows(session, now)]
    quiet_end = outbox.quiet_until(now, list(cfg["quiet_hours"]))
    async with aiohttp.ClientSession() as http:
        for row_id, recipient, channel in rows:
            if quiet_end is not None:
                with session_scope(url) as session:
                    outbox.wait_for_quiet_end(session, row_id, quiet_end)
                report.waiting += 1
                continue
            with session_scope(url) as session:
                if not outbox.claim(session, row_id, now):
                    continue  # another scheduler took it
            error = await trigger(http, rasa_url, token, recipient, channel, row_id)
            with session_scope(url) as session:
                if error is None:
                    outbox.mark_sent(session, row_id, now)
                    report.sent += 1
                    continue
                row = session.get(OutboxMessage, row_id)
                status = outbox.mark_failed_attempt(session, row, now, error, cfg)
                log.warning("proactive message %s not delivered (%s): %s", row_id, status, error)
                if status == "failed":
                    report.failed += 1
                else:
                    report.retrying += 1


async def remind_unanswered(url: str | None, now: datetime, rasa_url: str, token: str, cfg: dict[str, Any],
                            report: PassReport) -> None:
    """Customers waiting for a person longer than `handoff_no_answer_minutes` (while we are
    open) are told so once, and offered a call back; their answer reaches the desk."""
    with session_scope(url) as session:
        minutes = int(booking.setting(session, "handoff_no_answer_minutes", 10) or 10)  # type: ignore[arg-type]
        if next_opening(session, now) != now:
            return
        waiting = [
            (t.id, t.sender_id, t.channel, t.language)
            for t in session.execute(
                select(HumanRequest).where(HumanRequest.status == "open",
                                           HumanRequest.created_at <= now - timedelta(minutes=minutes))
            ).scalars()
            if not (t.summary or {}).get("wait_notice_sent") and t.sender_id and t.channel in cfg["push_channels"]
        ]
    async with aiohttp.ClientSession() as http:
        for ticket_id, sender_id, channel, lang in waiting:
            event = {"event": "bot", "text": channel_text("handoff_no_answer", lang),
                     "metadata": {"system": "handoff_no_answer"}}
            try:
                async with http.post(
                    f"{rasa_url.rstrip('/')}/conversations/{quote(sender_id, safe='')}/tracker/events",
                    params={"token": token, "output_channel": channel, "execute_side_effects": "true"},
                    json=[event], timeout=aiohttp.ClientTimeout(total=15),
                ) as reply:
                    if reply.status != 200:
                        continue
            except (aiohttp.ClientError, TimeoutError):
                continue
            with session_scope(url) as session:
                ticket = session.get(HumanRequest, ticket_id)
                ticket.summary = {**(ticket.summary or {}), "wait_notice_sent": now.isoformat()}
            report.wait_notices += 1


def run_pass(
    now: datetime | None = None, url: str | None = None, rasa_url: str | None = None, token: str | None = None,
    holder: str | None = None, crash_after_enqueue: bool = False,
) -> PassReport:
    """Detect, decide, write the outbox, then deliver what is due. Safe to run anywhere, any
    number of times: the outbox's unique key and the lock make it send each message once."""
    started = clock.perf_counter()
    now = now or booking.now_local()
    rasa_url = rasa_url or os.environ.get("RASA_URL", "http://127.0.0.1:5005")
    token = token or os.environ.get("RASA_TOKEN", "")
    holder = holder or f"{socket.gethostname()}:{os.getpid()}"
    report = PassReport()
    with scheduler_lock(url, holder, now) as acquired:
        if not acquired:
            report.locked = True
            return report
        # Conversations of erased customers that were still running when they were erased.
        finish_pending_quietly(url)
        with session_scope(url) as session:
            cfg = proactive_settings(session)
            create_messages(session, detect_all(session, now), now, cfg, report)
        if crash_after_enqueue:
            raise SimulatedCrash("stopped between writing the outbox and sending")
        asyncio.run(deliver_due(url, now, rasa_url, token, cfg, report))
        asyncio.run(remind_unanswered(url, now, rasa_url, token, cfg, report))
    report.seconds = clock.perf_counter() - started
    return report


def run_forever(interval_s: float | None = None) -> int:
    """`bot proactive run`: a pass every interval until stopped; a failed pass is logged and retried."""
    while True:
        try:
            report = run_pass()
            log.info("proactive pass: sent %s, waiting %s, retrying %s, failed %s",
                     report.sent, report.waiting, report.retrying, report.failed)
            with session_scope() as session:
                interval = interval_s or float(proactive_settings(session)["interval_seconds"])
        except KeyboardInterrupt:
            return 0
        except Exception:  # noqa: BLE001 - the database or Rasa is down: try again next round
            log.exception("proactive pass failed; retrying next round")
            interval = interval_s or 60.0
        try:
            clock.sleep(interval)
        except KeyboardInterrupt:
            return 0

