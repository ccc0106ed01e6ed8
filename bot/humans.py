"""Requests for a person, recorded until the handoff desk (a later capability) takes them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import HumanRequest

REASONS = ("request_human", "fallback", "complain", "error", "identification", "delete_my_data")


def record_request(
    session: Session, key: str, reason: str, language: str, customer_id: int | None = None
) -> HumanRequest:
    """One open request per conversation: asking again does not queue a second one."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    existing = session.execute(
        select(HumanRequest).filter_by(sender_key=key, status="open")
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    request = HumanRequest(sender_key=key, reason=reason, language=language, customer_id=customer_id)
    session.add(request)
    session.flush()
    return request
