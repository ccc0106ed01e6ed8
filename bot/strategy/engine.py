"""Ranked, explained suggestions for one customer from the catalog's offers.

The strategy decides whether the customer gets suggestions unasked; consent decides which
facts the offers' conditions may read; outcomes decide the order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import i18n
from bot.db.models import Offer
from bot.strategy import outcomes
from bot.strategy.choice import StrategyChoice, load_rules
from bot.strategy.conditions import OfferContext, check_all
from bot.strategy.facts import CustomerFacts, load_facts

KINDS = ("service", "loaner")


@dataclass(frozen=True)
class Suggestion:
    offer_code: str
    kind: str
    name: str
    reason: str
    price_nok: int
    items: tuple[dict[str, Any], ...]
    data_used: tuple[dict[str, Any], ...]
    score: float

    @property
    def service_codes(self) -> tuple[str, ...]:
        return tuple(item["service"] for item in self.items)


@dataclass(frozen=True)
class Suggestions:
    choice: StrategyChoice
    facts: CustomerFacts
    items: list[Suggestion] = field(default_factory=list)

    @property
    def strategy(self) -> str:
        return self.choice.strategy

    def first(self) -> Suggestion | None:
        return self.items[0] if self.items else None


@dataclass(frozen=True)
class OfferSpec:
    """An active catalog offer, detached from the session so it can be cached."""

    code: str
    kind: str
    names: dict[str, str]
    reasons: dict[str, str]
    items: tuple[dict[str, Any], ...]
    price_nok: int
    conditions: dict[str, Any]
    weight: float


_OFFERS_CACHE: dict[str, tuple[float, list[OfferSpec]]] = {}


def catalog_offers(session: Session, max_age_s: float) -> list[OfferSpec]:
    """The active offers, re-read from the catalog at most every `max_age_s` per database."""
    key = str(session.get_bind().url)
    hit = _OFFERS_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] < max_age_s:
        return hit[1]
    rows = session.execute(select(Offer).where(Offer.active.is_(True)).order_by(Offer.code)).scalars()
    specs = [
        OfferSpec(
            row.code, row.kind or "service", dict(row.names or {}), dict(row.reasons or {}),
            tuple(row.items or ()), int(row.price_nok or 0), dict(row.conditions or {}), float(row.weight or 1.0),
        )
        for row in rows
    ]
    _OFFERS_CACHE[key] = (time.monotonic(), specs)
    return specs


def clear_caches() -> None:
    """Forget cached offers and acceptance rates (after a catalog change, and in tests)."""
    _OFFERS_CACHE.clear()
    outcomes.clear_rates_cache()


def render_reason(offer: OfferSpec, params: dict[str, Any], lang: str) -> str:
    lang = i18n.lang_or_default(lang)
    template = offer.reasons.get(lang) or offer.reasons.get("nb") or ""
    values = {
        key: i18n.format_number(value, lang) if isinstance(value, int) and value >= 1000 else value
        for key, value in params.items()
    }
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def suggest(
    session: Session,
    customer_id: int | None,
    today: date,
    lang: str,
    *,
    services: list[str] | None = None,
    context: str | None = None,
    asked: bool = False,
    kinds: tuple[str, ...] = KINDS,
    limit: int = 3,
    facts: CustomerFacts | None = None,
) -> Suggestions:
    """Suggestions for a booking in progress (`services`) or as advice (`services=None`).

    `asked`: the customer asked for advice, so even `respond` customers get an answer.
    `context`: offers already offered or decided in it are not suggested again.
    """
    facts = facts or load_facts(session, customer_id, today)
    choice = facts.choice
    if not asked and not choice.unprompted:
        return Suggestions(choice, facts)
    ranking = load_rules()["ranking"]
    ctx = OfferContext(tuple(services) if services is not None else None)
    max_age = float(ranking["rates_cache_seconds"])
    offers = [offer for offer in catalog_offers(session, max_age) if offer.kind in kinds]
    seen, declines = outcomes.customer_outcomes(session, customer_id, context) if customer_id else ({}, {})
    rates = outcomes.cached_rates(session, max_age)
    in_booking = set(services or [])
    for offer in offers:  # what the customer already accepted in this context is in the booking
        if seen.get(offer.code) == "accepted":
            in_booking.update(item["service"] for item in offer.items)
    found: list[Suggestion] = []
    for offer in offers:
        if offer.code in seen:
            continue
        items = offer.items
        if items and all(item["service"] in in_booking for item in items):
            continue
        times_declined = declines.get(offer.code, 0)
        if times_declined >= int(ranking["hide_after_declines"]):
            continue
        check = check_all(offer.conditions, facts, ctx)
        if not check.ok:
            continue
        rate = rates.get((offer.code, choice.strategy))
        score = offer.weight * (0.5 + (rate.rate if rate else 0.5))
        score *= float(ranking["decline_decay"]) ** times_declined
        found.append(
            Suggestion(
                offer_code=offer.code,
                kind=offer.kind,
                name=offer.names.get(i18n.lang_or_default(lang)) or offer.code,
                reason=render_reason(offer, check.params, lang),
                price_nok=offer.price_nok,
                items=items,
                data_used=tuple(fact.as_used() for fact in check.used),
                score=round(score, 4),
            )
        )
    found.sort(key=lambda s: (-s.score, s.offer_code))
    return Suggestions(choice, facts, _without_overlaps(found)[:limit])


def _without_overlaps(ranked: list[Suggestion]) -> list[Suggestion]:
    """A lower-ranked offer selling a service a higher-ranked one already includes is dropped."""
    taken: set[str] = set()
    kept = []
    for suggestion in ranked:
        codes = set(suggestion.service_codes)
        if codes & taken:
            continue
        taken |= codes
        kept.append(suggestion)
    return kept
