"""The endpoints file each Rasa process of ours runs with, made from the environment.

The embedded default: the SQLite tracker store in `var/` and the in-process lock store.
At scale (`DATABASE_URL=postgresql://...`, `REDIS_URL=redis://...`): Rasa's SQL tracker store
in PostgreSQL (the profile database, or `TRACKER_DATABASE_URL`) and Rasa's Redis lock store,
so several Rasa instances share conversations and handle the messages of one conversation
in order. No Rasa import: Rasa reads the file this writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.config import PROJECT_ROOT

# Our subclass of Rasa's SQLTrackerStore (connectors/tracker_store.py).
TRACKER_STORE_CLASS = "connectors.tracker_store.WindowedSQLTrackerStore"
ACTION_TOKEN_HEADER = "X-Action-Token"
# Keys of the lock store in Redis start with this (Rasa requires letters and digits only).
REDIS_KEY_PREFIX = "fjordbil"


def is_sql_tracker_store(kind: Any) -> bool:
    return str(kind or "").upper() == "SQL" or str(kind or "") == TRACKER_STORE_CLASS


def scale_tracker_url(env: Mapping[str, str] | None = None) -> str | None:
    """The tracker database the environment asks for, if any: `TRACKER_DATABASE_URL`, else a
    server `DATABASE_URL` (PostgreSQL holds the profiles and the conversations side by side)."""
    env = os.environ if env is None else env
    explicit = (env.get("TRACKER_DATABASE_URL") or "").strip()
    if explicit:
        return explicit
    profile = (env.get("DATABASE_URL") or "").strip()
    if profile and not profile.startswith("sqlite"):
        return "postgresql://" + profile[len("postgres://"):] if profile.startswith("postgres://") else profile
    return None


def tracker_store_section(url: str, window_turns: int | None = None) -> dict[str, Any]:
    """Rasa's `tracker_store` section for a SQLAlchemy URL."""
    parsed = make_url(url)
    section: dict[str, Any] = {"type": TRACKER_STORE_CLASS, "dialect": parsed.drivername}
    if parsed.drivername.startswith("sqlite"):
        section["db"] = parsed.database
    else:
        section.update({
            key: value for key, value in {
                "url": parsed.host, "port": parsed.port, "db": parsed.database,
                "username": parsed.username, "password": parsed.password,
                "query": dict(parsed.query) or None,
            }.items() if value not in (None, "")
        })
    if window_turns is not None:
        section["window_turns"] = window_turns
    return section


def lock_store_section(redis_url: str | None) -> dict[str, Any]:
    """Rasa's `lock_store` section: Redis when `redis_url` is given, else in memory."""
    if not redis_url:
        return {"type": "in_memory"}
    parsed = make_url(redis_url.replace("rediss://", "redis://", 1))
    section: dict[str, Any] = {
        "type": "redis", "url": parsed.host or "127.0.0.1", "port": parsed.port or 6379,
        "db": int(parsed.database or 0), "key_prefix": REDIS_KEY_PREFIX,
    }
    if parsed.password:
        section["password"] = parsed.password
    if redis_url.startswith("rediss://"):
        section["use_ssl"] = True
    return section


def endpoints(
    action_url: str, tracker_url: str | None = None, redis_url: str | None = None,
    source: Path = PROJECT_ROOT / "endpoints.yml",
) -> dict[str, Any]:
    """The project's endpoints file with this action server, and the tracker and lock stores
    the arguments (or, left out, the project's file) name."""
    config = (yaml.safe_load(source.read_text(encoding="utf-8")) or {}) if source.exists() else {}
    action = config.setdefault("action_endpoint", {})
    action["url"] = action_url
    action.setdefault("headers", {})[ACTION_TOKEN_HEADER] = "${ACTION_SERVER_TOKEN}"
    if tracker_url:
        config["tracker_store"] = tracker_store_section(tracker_url)
    if redis_url:
        config["lock_store"] = lock_store_section(redis_url)
    config.setdefault("lock_store", {"type": "in_memory"})
    return config


def write_endpoints(path: Path, config: dict[str, Any]) -> Path:
    """Write an endpoints file readable only by its owner (it may hold a database password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
