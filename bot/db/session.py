"""Engines and sessions: one short session per unit of work, never a global one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.config import database_url


def normalise_url(url: str) -> str:
    """Accept the `postgres://` spelling many hosts hand out."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: `DATABASE_URL`), made once per URL."""
    return _engine(normalise_url(url or database_url()))


def sqlite_file(url: str) -> str | None:
    """The file path of a file-based SQLite URL (None for in-memory or other databases)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def sqlite_engine(url: str) -> Engine:
    """An engine for a SQLite file: WAL, foreign keys, a busy timeout, and a pool.

    SQLAlchemy 1.4 opens a new SQLite connection per session (NullPool), each one running
    the pragmas again (0.39 ms against 0.09 ms a session, measured here). Pooled connections
    would keep using a file that was replaced or moved away (a restore from a backup), so a
    connection whose file is no longer the one it opened is dropped when it is checked out."""
    path = sqlite_file(url)
    pool = {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10} if path else {}
    engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 15}, **pool)

    def file_id() -> tuple[int, int] | None:
        try:
            stat = os.stat(path) if path else None
        except OSError:
            return None
        return (stat.st_dev, stat.st_ino) if stat else None

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
        record.info["file"] = file_id()

    @event.listens_for(engine, "checkout")
    def _same_file(_dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        if path and record.info.get("file") != file_id():
            raise DisconnectionError("the SQLite file was replaced or moved")

    return engine


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return sqlite_engine(url)
    return create_engine(url, future=True, pool_pre_ping=True)


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker:
    return sessionmaker(bind=_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session: Session = _factory(normalise_url(url or database_url()))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
