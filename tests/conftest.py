"""Shared fixtures: a real, migrated and seeded SQLite database per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.db import migrate
from bot.db.seed import seed_all
from bot.db.session import session_scope
from tests.telegram_standin import StandIn, start_standin

# A Monday at noon: fixed so calendars and relative dates are predictable.
NOW = datetime(2026, 11, 23, 12, 0)


@pytest.fixture()
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database migrated with Alembic and seeded with the demo data as of NOW."""
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session, today=NOW.date())
    return url


@pytest.fixture()
def session(db_url: str) -> Iterator[Session]:
    with session_scope(db_url) as s:
        yield s


@pytest.fixture()
def today() -> date:
    return NOW.date()


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    """A local stand-in of the Telegram Bot API, one per test module."""
    running, stop = start_standin()
    yield running
    stop()
