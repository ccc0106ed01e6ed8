"""Shared fixtures: a real, migrated and seeded SQLite database per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

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


def roomy_workshop(session: Session) -> None:
    """Twenty times the calendar's places and twenty more loaner cars: the shared stack serves
    many dialogs that book, and none of them may find its day full because of another one."""
    from sqlalchemy import select, update  # noqa: PLC0415

    from bot.db.models import CalendarTemplate, LoanerCar, WorkshopSlot  # noqa: PLC0415

    session.execute(update(CalendarTemplate).values(capacity=CalendarTemplate.capacity * 20))
    session.execute(update(WorkshopSlot).values(capacity=WorkshopSlot.capacity * 20))
    first = session.execute(select(LoanerCar)).scalars().first()
    session.add_all(LoanerCar(registration=f"TS{n:05d}", model="Skoda Enyaq", location_id=first.location_id)
                    for n in range(20))


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One running Rasa server and action server for the end-to-end modules that need nothing
    special (dev mode, a seeded database): started once per test session, not once per module.
    Tests on it use sender ids and customers of their own; one that stops a process starts it again."""
    from bot.runner import latest_model, start_stack  # noqa: PLC0415 - only e2e sessions start servers
    from tests.servers import free_port, seeded_database  # noqa: PLC0415

    work = tmp_path_factory.mktemp("shared-stack")
    url = seeded_database(work, roomy_workshop)
    running = start_stack(free_port(), free_port(), latest_model(), work,
                          extra_env={"DATABASE_URL": url, "BOT_ENV": "dev"}, timeout=600)
    running.db_url = url  # type: ignore[attr-defined]
    running.work = work  # type: ignore[attr-defined]
    yield running
    running.stop()


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    """A local stand-in of the Telegram Bot API, one per test module."""
    running, stop = start_standin()
    yield running
    stop()
