"""Changing how and when a customer wants to be contacted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.db.models import Customer, Preferences

CHANNELS = ("telegram", "webchat", "sms", "email")
CHANNEL_NAMES = {
    "nb": {"telegram": "Telegram", "webchat": "chat på nettsiden", "sms": "SMS", "email": "e-post"},
    "sv": {"telegram": "Telegram", "webchat": "chatt på webbplatsen", "sms": "sms", "email": "e-post"},
    "en": {"telegram": "Telegram", "webchat": "web chat", "sms": "text message", "email": "e-mail"},
}


def _preferences(session: Session, customer_id: int) -> Preferences:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError("unknown customer")
    if customer.preferences is None:
        customer.preferences = Preferences(language="nb", contact_channels=[], data_sharing="contact")
        session.flush()
    return customer.preferences


def set_preferred_channel(session: Session, customer_id: int, channel: str, now: datetime) -> Preferences:
    """The channel becomes the preferred one and is consented to for contact."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    prefs = _preferences(session, customer_id)
    prefs.preferred_channel = channel
    prefs.contact_channels = list(dict.fromkeys([*(prefs.contact_channels or []), channel]))
    prefs.updated_at = now
    session.flush()
    return prefs


def set_reminders(session: Session, customer_id: int, enabled: bool, now: datetime) -> Preferences:
    prefs = _preferences(session, customer_id)
    prefs.reminders = enabled
    prefs.updated_at = now
    session.flush()
    return prefs


def channel_name(channel: str, lang: str) -> str:
    return CHANNEL_NAMES.get(lang, CHANNEL_NAMES["nb"]).get(channel, channel)
