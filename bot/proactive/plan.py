"""What to do about one due event: decided by the customer's strategy and consent.

- advisory events (service due, tyre season) go only to strategies where the business takes
  the initiative: `coach` gets a proposal with a date, `auto` gets the job booked within the
  agreement and a notice with one tap to change or cancel;
- transactional events (car ready, invoice, reminder, loaner return) go to everyone who
  consented to the channel (the reminder only with reminders on);
- nobody is contacted on a channel they did not consent to; with no consented channel we can
  push on, the message is recorded as undeliverable instead of sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import ChannelIdentity, Preferences
from bot.proactive.detectors import DueEvent
from bot.strategy import ConsentFacts, choose_strategy

ADVISORY = ("service_due", "tyre_change")
TRANSACTIONAL = ("car_ready", "invoice_ready", "invoice_overdue", "booking_tomorrow", "loaner_return")


@dataclass(frozen=True)
class Plan:
    action: str  # "suggest" | "book" | "notify" | "skip" | "undeliverable"
    strategy: str
    reason: str = ""
    channel: str | None = None
    recipient: str | None = None
    lang: str = "nb"


@dataclass
class Directory:
    """Preferences and channel identities of many customers, read in bulk for one pass."""

    prefs: dict[int, Preferences]
    identities: dict[int, dict[str, str]]

    @classmethod
    def load(cls, session: Session, customer_ids: set[int], chunk: int = 5000) -> Directory:
        ids = sorted(customer_ids)
        prefs: dict[int, Preferences] = {}
        identities: dict[int, dict[str, str]] = {}
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            for row in session.execute(select(Preferences).where(Preferences.customer_id.in_(part))).scalars():
                prefs[row.customer_id] = row
            for cid, channel, external in session.execute(
                select(ChannelIdentity.customer_id, ChannelIdentity.channel, ChannelIdentity.external_id)
                .where(ChannelIdentity.customer_id.in_(part))
            ):
                identities.setdefault(cid, {})[channel] = external
        return cls(prefs, identities)


def reachable_channel(
    session: Session, prefs: Preferences, push_channels: list[str], identities: dict[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The consented channel we can push on and the customer's id there, preferred first."""
    consented = [c for c in (prefs.contact_channels or []) if c in push_channels]
    if prefs.preferred_channel in consented:
        consented.remove(prefs.preferred_channel)
        consented.insert(0, prefs.preferred_channel)
    if not consented:
        return None, None
    if identities is None:
        identities = dict(
            session.execute(
                select(ChannelIdentity.channel, ChannelIdentity.external_id).where(
                    ChannelIdentity.customer_id == prefs.customer_id, ChannelIdentity.channel.in_(consented)
                )
            ).all()
        )
    for channel in consented:
        if channel in identities:
            return channel, identities[channel]
    return None, None


def plan(session: Session, event: DueEvent, push_channels: list[str], directory: Directory | None = None) -> Plan:
    prefs = directory.prefs.get(event.customer_id) if directory else session.get(Preferences, event.customer_id)
    choice = choose_strategy(ConsentFacts.from_preferences(prefs))
    strategy = choice.strategy
    if prefs is None:
        return Plan("skip", strategy, "no preferences stored")
    lang = prefs.language or "nb"
    if event.event_type in ADVISORY and not choice.business_initiates:
        return Plan("skip", strategy, f"{strategy} customers are not contacted first", lang=lang)
    if event.event_type == "booking_tomorrow" and not prefs.reminders:
        return Plan("skip", strategy, "reminders are off", lang=lang)
    if not prefs.contact_channels:
        return Plan("skip", strategy, "no consent to contact", lang=lang)
    known = directory.identities.get(event.customer_id, {}) if directory else None
    channel, recipient = reachable_channel(session, prefs, push_channels, known)
    if channel is None:
        return Plan("undeliverable", strategy, "no consented channel we can push on", lang=lang)
    if event.event_type in ADVISORY:
        action = "book" if strategy == "auto" else "suggest"
    else:
        action = "notify"
    return Plan(action, strategy, channel=channel, recipient=recipient, lang=lang)
