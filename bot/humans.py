"""Requests for a person: the tickets the handoff desk works from (see bot/handoff)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.db.models import HumanRequest
from bot.handoff.tickets import open_ticket

REASONS = ("request_human", "fallback", "complain", "error", "identification", "delete_my_data",
           "booking_failed")


def record_request(
    session: Session, key: str, reason: str, language: str, customer_id: int | None = None
) -> HumanRequest:
    """One open ticket per conversation: asking again does not queue a second one."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    return open_ticket(session, key, reason, language, datetime.now(), customer_id)[0]
