"""The endpoints Rasa runs with follow the environment: SQLite and in-process locks by
default, PostgreSQL and Redis at scale (bot/endpoints.py)."""

from __future__ import annotations

import stat

import yaml

from bot.endpoints import (
    TRACKER_STORE_CLASS,
    endpoints,
    lock_store_section,
    scale_tracker_url,
    tracker_store_section,
    write_endpoints,
)
from bot.runner import run_endpoints
from bot.tracker_events import url_from_endpoints


def test_without_a_server_database_the_project_file_decides():
    assert scale_tracker_url({}) is None
    assert scale_tracker_url({"DATABASE_URL": "sqlite:////tmp/profile.db"}) is None


def test_a_postgresql_profile_database_also_holds_the_conversations_unless_told_otherwise():
    assert scale_tracker_url({"DATABASE_URL": "postgres://bot:pw@db:5432/fjordbil"}) == (
        "postgresql://bot:pw@db:5432/fjordbil")
    assert scale_tracker_url({"DATABASE_URL": "postgresql://db/fjordbil",
                              "TRACKER_DATABASE_URL": "postgresql://db/conversations"}) == "postgresql://db/conversations"


def test_postgresql_becomes_rasas_sql_tracker_store_settings():
    section = tracker_store_section("postgresql://bot:s3cret@db.internal:6543/fjordbil?sslmode=require")
    assert section == {"type": TRACKER_STORE_CLASS, "dialect": "postgresql", "url": "db.internal", "port": 6543,
                       "db": "fjordbil", "username": "bot", "password": "s3cret", "query": {"sslmode": "require"}}


def test_redis_becomes_rasas_lock_store_and_nothing_means_in_memory():
    assert lock_store_section(None) == {"type": "in_memory"}
    assert lock_store_section("redis://:pw@cache:6380/3") == {
        "type": "redis", "url": "cache", "port": 6380, "db": 3, "key_prefix": "fjordbil", "password": "pw"}
    assert lock_store_section("rediss://cache/0")["use_ssl"] is True


def test_bot_run_at_scale_writes_postgresql_and_redis_readable_by_its_owner_only(tmp_path):
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/fjordbil", "REDIS_URL": "redis://127.0.0.1:6379/1"}
    path = run_endpoints(tmp_path / "endpoints.yml", 5055, env=env)
    written = yaml.safe_load(path.read_text())
    assert written["tracker_store"]["dialect"] == "postgresql" and written["tracker_store"]["db"] == "fjordbil"
    assert written["lock_store"]["type"] == "redis" and written["lock_store"]["db"] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert url_from_endpoints(path) == "postgresql://postgres@127.0.0.1:5432/fjordbil"


def test_the_tools_find_the_sqlite_tracker_store_of_a_stack(tmp_path):
    path = write_endpoints(tmp_path / "e.yml", endpoints("http://127.0.0.1:5055/webhook",
                                                        f"sqlite:///{tmp_path / 'tracker.db'}"))
    assert url_from_endpoints(path) == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert yaml.safe_load(path.read_text())["lock_store"] == {"type": "in_memory"}
