"""Desk accounts: argon2 password hashes, login with a lockout after repeated failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Agent

HASHER = PasswordHasher()
MAX_FAILED = 5
LOCKOUT = timedelta(minutes=15)
ONLINE_WINDOW = timedelta(minutes=10)
ROLES = ("agent", "trainer")


def add_agent(session: Session, username: str, display_name: str, password: str, role: str = "agent") -> Agent:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if len(password) < 10:
        raise ValueError("the password must have at least 10 characters")
    if session.execute(select(Agent).filter_by(username=username)).scalar_one_or_none() is not None:
        raise ValueError(f"an agent {username!r} exists already")
    agent = Agent(username=username, display_name=display_name or username, role=role,
                  password_hash=HASHER.hash(password), failed_logins=0)
    session.add(agent)
    session.flush()
    return agent


def login(session: Session, username: str, password: str, now: datetime) -> Agent | None:
    """The agent when the password is right and the account is not locked; failures count."""
    agent = session.execute(select(Agent).filter_by(username=username)).scalar_one_or_none()
    if agent is None:
        HASHER.hash(password)  # same work as a real check: no timing hint that the name is unknown
        return None
    if agent.locked_until is not None and agent.locked_until > now:
        return None
    try:
        HASHER.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        agent.failed_logins = (agent.failed_logins or 0) + 1
        if agent.failed_logins >= MAX_FAILED:
            agent.locked_until, agent.failed_logins = now + LOCKOUT, 0
        session.flush()
        return None
    if HASHER.check_needs_rehash(agent.password_hash):
        agent.password_hash = HASHER.hash(password)
    agent.failed_logins, agent.locked_until, agent.last_seen_at = 0, None, now
    session.flush()
    return agent


def seen(session: Session, agent_id: int, now: datetime) -> None:
    agent = session.get(Agent, agent_id)
    if agent is not None:
        agent.last_seen_at = now


def agents_online(session: Session, now: datetime) -> int:
    return int(session.execute(
        select(func.count()).select_from(Agent).where(Agent.last_seen_at >= now - ONLINE_WINDOW)
    ).scalar_one())
