"""Every offer made and what the customer did with it; outcomes feed the ranking.

`acceptance_rates` is the function the insights view reads (per offer and segment).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Booking, BookingItem, Offer, OfferStat, Suggestion

DECIDED = ("accepted", "declined")


@dataclass(frozen=True)
class OfferRate:
    offer_code: str
    segment: str
    offered: int
    accepted: int
    declined: int

    @property
    def rate(self) -> float:
        """Share of decided offers that were accepted (0 when none was decided)."""
        decided = self.accepted + self.declined
        return self.accepted / decided if decided else 0.0


def record_offered(
    session: Session,
    customer_id: int,
    offer_code: str,
    context: str,
    *,
    strategy: str,
    channel: str | None,
    lang: str,
    reason: str,
    data_used: list[dict[str, Any]],
    price_nok: int,
    now: datetime,
) -> Suggestion:
    """Store the offer once per (customer, context, offer); asking again returns the same row."""
    existing = find_in_context(session, customer_id, context, offer_code)
    if existing is not None:
        return existing
    row = Suggestion(
        customer_id=customer_id, offer_code=offer_code, context=context, strategy=strategy,
        channel=channel, lang=lang, reason=reason, data_used=_jsonable(data_used),
        price_nok=price_nok, status="offered", offered_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same offer stored by a concurrent turn
        found = find_in_context(session, customer_id, context, offer_code)
        if found is None:
            raise
        return found
    return row


def _jsonable(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()} for d in data]


def find_in_context(session: Session, customer_id: int, context: str, offer_code: str) -> Suggestion | None:
    return session.execute(
        select(Suggestion).filter_by(customer_id=customer_id, context=context, offer_code=offer_code)
    ).scalar_one_or_none()


def decide(session: Session, suggestion_id: int, customer_id: int, accepted: bool, now: datetime) -> Suggestion | None:
    """Record the customer's answer; only their own, still open offers can be decided."""
    row = session.get(Suggestion, suggestion_id)
    if row is None or row.customer_id != customer_id:
        return None
    if row.status == "offered":
        row.status = "accepted" if accepted else "declined"
        row.decided_at = now
        session.flush()
    return row


def in_context(session: Session, customer_id: int, context: str) -> list[Suggestion]:
    """Every offer made to this customer in this context, oldest first."""
    return list(session.execute(
        select(Suggestion).filter_by(customer_id=customer_id, context=context).order_by(Suggestion.id)
    ).scalars())


def offers_made_in_context(session: Session, customer_id: int, context: str, kind: str) -> int:
    """How many offers of one kind ("service", "loaner") this context has had."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Suggestion)
            .join(Offer, Offer.code == Suggestion.offer_code)
            .where(Suggestion.customer_id == customer_id, Suggestion.context == context, Offer.kind == kind)
        ).scalar_one()
    )


def customer_outcomes(session: Session, customer_id: int, context: str | None) -> tuple[dict[str, str], dict[str, int]]:
    """In one query: what was offered in `context` (code -> status) and declines per offer."""
    rows = session.execute(
        select(Suggestion.offer_code, Suggestion.status, Suggestion.context).filter_by(customer_id=customer_id)
    )
    seen: dict[str, str] = {}
    declines: dict[str, int] = {}
    for code, status, row_context in rows:
        if context is not None and row_context == context:
            seen[code] = status
        if status == "declined":
            declines[code] = declines.get(code, 0) + 1
    return seen, declines


def acceptance_rates(session: Session, segment: str = "strategy") -> list[OfferRate]:
    """Offered/accepted/declined per offer and segment ("strategy", "channel" or "lang")."""
    if segment not in ("strategy", "channel", "lang"):
        raise ValueError(f"unknown segment {segment!r}")
    column = getattr(Suggestion, segment)
    rows = session.execute(
        select(Suggestion.offer_code, column, Suggestion.status, func.count())
        .group_by(Suggestion.offer_code, column, Suggestion.status)
    )
    # Erased customers' offers live on as anonymous counts (bot/privacy/erase.py).
    stats = session.execute(
        select(OfferStat.offer_code, getattr(OfferStat, segment), OfferStat.status, OfferStat.count)
    )
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for code, value, status, count in [*rows, *stats]:
        bucket = counts.setdefault((code, value or "unknown"), {"offered": 0, "accepted": 0, "declined": 0})
        bucket["offered"] += int(count)
        if status in DECIDED:
            bucket[status] += int(count)
    return [
        OfferRate(code, seg, c["offered"], c["accepted"], c["declined"])
        for (code, seg), c in sorted(counts.items())
    ]


_RATES_CACHE: dict[str, tuple[float, dict[tuple[str, str], OfferRate]]] = {}


def cached_rates(session: Session, max_age_s: float) -> dict[tuple[str, str], OfferRate]:
    """Acceptance per (offer, strategy), recomputed at most every `max_age_s` per database."""
    key = str(session.get_bind().url)
    hit = _RATES_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] < max_age_s:
        return hit[1]
    rates = {(r.offer_code, r.segment): r for r in acceptance_rates(session, "strategy")}
    _RATES_CACHE[key] = (time.monotonic(), rates)
    return rates


def clear_rates_cache() -> None:
    _RATES_CACHE.clear()


def attach_to_booking(session: Session, customer_id: int, context: str, record: Booking) -> list[Suggestion]:
    """Link the context's offers to the booking and add the accepted ones' items with their price."""
    rows = in_context(session, customer_id, context)
    accepted = [row for row in rows if row.status == "accepted"]

    present = {item.service_code for item in record.items}
    for row in rows:
        row.booking_id = record.id
    for row in accepted:
        offer = session.get(Offer, row.offer_code)
        for item in (offer.items or []) if offer is not None else []:
            if item["service"] in present:
                continue
            record.items.append(
                BookingItem(service_code=item["service"], price_nok=int(item["price_nok"]), offer_code=offer.code)
            )
            present.add(item["service"])
    session.flush()
    return accepted


def last_offered(session: Session, customer_id: int) -> Suggestion | None:
    """The most recent offer to this customer."""
    return session.execute(
        select(Suggestion).filter_by(customer_id=customer_id).order_by(Suggestion.id.desc()).limit(1)
    ).scalar_one_or_none()
