"""Every figure of the insights report for one period, computed from the tracker store, the
profile database (handoff tickets, the proactive outbox, suggestions) and the last NLU
evaluation. `bot report` and the desk's /desk/insights both render an `Insights`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.config import PROJECT_ROOT, timezone_name
from bot.db.models import HumanRequest, OutboxMessage
from bot.insights.conversations import ConversationStats, Period, conversation_stats
from bot.insights.nlu import Confusion, last_confusion
from bot.strategy.outcomes import OfferRate, acceptance_rates

RESULTS_DIR = PROJECT_ROOT / "results"


@dataclass(frozen=True)
class Funnel:
    """Proactive messages of one strategy: how far they got."""

    strategy: str
    created: int = 0
    sent: int = 0
    answered: int = 0
    accepted: int = 0
    declined: int = 0
    converted: int = 0  # a booking came of it (or, for `auto`, was made within the agreement)

    @property
    def answer_rate(self) -> float:
        return self.answered / self.sent if self.sent else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.sent if self.sent else 0.0


@dataclass
class Insights:
    period: Period
    generated_at: datetime
    conversations: ConversationStats
    handoff_reasons: Counter[str] = field(default_factory=Counter)
    proactive: list[Funnel] = field(default_factory=list)
    acceptance: list[OfferRate] = field(default_factory=list)
    confusion: Confusion | None = None

    @property
    def proactive_total(self) -> Funnel:
        rows = self.proactive
        return Funnel("alle", *(sum(getattr(r, name) for r in rows) for name in
                                ("created", "sent", "answered", "accepted", "declined", "converted")))

    @property
    def has_data(self) -> bool:
        return bool(self.conversations.conversations or self.handoff_reasons or self.proactive or self.acceptance)


def _local_bounds(period: Period) -> tuple[datetime, datetime]:
    """Naive local datetimes, as the profile database stores them."""
    return datetime.combine(period.start, time.min), datetime.combine(period.end + timedelta(days=1), time.min)


def handoff_reasons(session: Session, period: Period) -> Counter[str]:
    """Handoff tickets opened in the period, per reason."""
    lo, hi = _local_bounds(period)
    rows = session.execute(
        select(HumanRequest.reason, func.count())
        .where(HumanRequest.created_at >= lo, HumanRequest.created_at < hi)
        .group_by(HumanRequest.reason)
    )
    return Counter({str(reason or "ukjent"): int(count) for reason, count in rows})


def proactive_funnel(session: Session, period: Period) -> list[Funnel]:
    """Outbox rows created in the period, per strategy: created, sent, answered, accepted,
    declined and converted into a booking."""
    lo, hi = _local_bounds(period)
    rows = session.execute(
        select(OutboxMessage.strategy, OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.answered_at,
               OutboxMessage.payload, OutboxMessage.booking_id)
        .where(OutboxMessage.created_at >= lo, OutboxMessage.created_at < hi)
    )
    counts: dict[str, Counter[str]] = {}
    for strategy, status, sent_at, answered_at, payload, booking_id in rows:
        c = counts.setdefault(str(strategy or "ukjent"), Counter())
        c["created"] += 1
        sent = status == "sent" or sent_at is not None
        c["sent"] += sent
        c["answered"] += sent and answered_at is not None
        outcome = (payload or {}).get("outcome") if isinstance(payload, dict) else None
        c["accepted"] += outcome == "accepted"
        c["declined"] += outcome == "declined"
        c["converted"] += sent and booking_id is not None
    return [Funnel(strategy, **{k: int(v) for k, v in c.items()}) for strategy, c in sorted(counts.items())]


def compute(
    session: Session, tracker: Engine, period: Period, results_dir: Path = RESULTS_DIR,
    tz: ZoneInfo | None = None, now: datetime | None = None,
) -> Insights:
    zone = tz or ZoneInfo(timezone_name())
    return Insights(
        period=period,
        generated_at=now or datetime.now(zone).replace(tzinfo=None, microsecond=0),
        conversations=conversation_stats(tracker, period, zone),
        handoff_reasons=handoff_reasons(session, period),
        proactive=proactive_funnel(session, period),
        acceptance=acceptance_rates(session, "strategy"),
        confusion=last_confusion(results_dir),
    )


def period_from(days: int | None, start: date | None, end: date | None, today: date) -> Period:
    """`--from`/`--to` when given (either alone runs to today / from `days` before), else the last `days`."""
    last = end or today
    first = start or last - timedelta(days=max(1, days or 30) - 1)
    if first > last:
        raise ValueError("the period starts after it ends")
    return Period(first, last)
