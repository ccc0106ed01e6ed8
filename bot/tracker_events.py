"""Read (and, for erasure, delete) conversation events in Rasa's SQL tracker store.

Rasa keeps every event of every conversation in one table, `events` (sender_id, type_name,
timestamp, intent_name, action_name, data as JSON). The review inbox, the insights and the
privacy tools read that table directly with SQLAlchemy Core, so bot/ needs no Rasa import
and works while Rasa is stopped. The store is found in `TRACKER_DATABASE_URL`, else in
`endpoints.yml` (`tracker_store`, type SQL).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL

from bot.config import PROJECT_ROOT
from bot.endpoints import is_sql_tracker_store, scale_tracker_url

_ENV_VAR = re.compile(r"\$\{([^}]+)\}")

metadata = sa.MetaData()
# The columns Rasa 3.6's SQLTrackerStore creates (rasa/core/tracker_store.py, SQLEvent).
events_table = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


@dataclass(frozen=True)
class Event:
    id: int
    sender_id: str
    type_name: str
    timestamp: float
    intent_name: str | None
    action_name: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.data.get("text") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        return self.data.get("metadata") or {}


def _expand(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), ""), value)


def url_from_endpoints(path: Path, root: Path = PROJECT_ROOT) -> str:
    """The SQLAlchemy URL of the `tracker_store` section of an endpoints file."""
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("tracker_store") or {}
    if not is_sql_tracker_store(config.get("type")):
        raise ValueError(f"{path}: tracker_store is not of type SQL")
    dialect = _expand(config.get("dialect") or "sqlite")
    db = _expand(config.get("db") or "rasa.db")
    if dialect == "sqlite":
        db_path = Path(db)
        return f"sqlite:///{db_path if db_path.is_absolute() else root / db_path}"
    port = _expand(config.get("port"))
    return URL.create(
        drivername=dialect,
        username=_expand(config.get("username")) or None,
        password=_expand(config.get("password")) or None,
        host=_expand(config.get("url")) or None,
        port=int(port) if port else None,
        database=db,
    ).render_as_string(hide_password=False)


def tracker_url() -> str:
    return scale_tracker_url() or url_from_endpoints(PROJECT_ROOT / "endpoints.yml")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return sa.create_engine(url, future=True, pool_pre_ping=True)


def tracker_engine(url: str | None = None) -> Engine:
    return engine_for(url or tracker_url())


def has_events_table(engine: Engine) -> bool:
    return sa.inspect(engine).has_table("events")


def _row_to_event(row: Any) -> Event:
    try:
        data = json.loads(row.data) if row.data else {}
    except ValueError:
        data = {}
    return Event(row.id, row.sender_id, row.type_name, row.timestamp or 0.0, row.intent_name, row.action_name,
                 data if isinstance(data, dict) else {})


def events(
    engine: Engine,
    *,
    after_id: int = 0,
    sender_ids: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
    since: float | None = None,
    batch: int = 2000,
) -> Iterator[Event]:
    """Events in the order Rasa wrote them, read in batches (the table can be large)."""
    if not has_events_table(engine):
        return
    t = events_table
    last = after_id
    while True:
        query = sa.select(t).where(t.c.id > last).order_by(t.c.id).limit(batch)
        if sender_ids is not None:
            query = query.where(t.c.sender_id.in_(list(sender_ids)))
        if types is not None:
            query = query.where(t.c.type_name.in_(list(types)))
        if since is not None:
            query = query.where(t.c.timestamp >= since)
        with engine.connect() as conn:
            rows = conn.execute(query).fetchall()
        for row in rows:
            yield _row_to_event(row)
        if len(rows) < batch:
            return
        last = rows[-1].id


def conversation(engine: Engine, sender_id: str) -> list[Event]:
    return list(events(engine, sender_ids=[sender_id]))


def sender_ids(engine: Engine) -> list[str]:
    if not has_events_table(engine):
        return []
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(events_table.c.sender_id).distinct())]


def existing_senders(engine: Engine, senders: Iterable[str]) -> set[str]:
    """Those of `senders` that have events in the tracker store."""
    ids = sorted(set(senders))
    if not ids or not has_events_table(engine):
        return set()
    with engine.connect() as conn:
        query = sa.select(events_table.c.sender_id).where(events_table.c.sender_id.in_(ids)).distinct()
        return {r[0] for r in conn.execute(query)}


def delete_conversations(engine: Engine, senders: Iterable[str]) -> int:
    """Delete every event of these conversations; returns how many were deleted."""
    ids = sorted(set(senders))
    if not ids or not has_events_table(engine):
        return 0
    with engine.begin() as conn:
        result = conn.execute(sa.delete(events_table).where(events_table.c.sender_id.in_(ids)))
    return int(result.rowcount or 0)


def create_table(engine: Engine) -> None:
    """For tests and tools that build a tracker store without Rasa."""
    metadata.create_all(engine)


def render_url(url: str) -> str:
    """A URL for logs: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
