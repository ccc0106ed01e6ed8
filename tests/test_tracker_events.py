"""The tracker-store reader used by review, insights and erasure."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from bot import tracker_events as te


def _store(tmp_path: Path) -> sa.engine.Engine:
    engine = te.engine_for(f"sqlite:///{tmp_path / 'tracker.db'}")
    te.create_table(engine)
    rows = [
        {"sender_id": "a", "type_name": "user", "timestamp": 1.0, "intent_name": "greet",
         "data": json.dumps({"event": "user", "text": "hei", "parse_data": {"intent": {"name": "greet"}}})},
        {"sender_id": "b", "type_name": "user", "timestamp": 2.0, "intent_name": "book_service",
         "data": json.dumps({"event": "user", "text": "service"})},
        {"sender_id": "a", "type_name": "bot", "timestamp": 3.0, "data": json.dumps({"event": "bot", "text": "Hei!"})},
        {"sender_id": "a", "type_name": "action", "timestamp": 4.0, "action_name": "action_listen", "data": "not json"},
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(te.events_table.insert().values(**row))
    return engine


def test_events_are_read_in_order_with_their_json(tmp_path: Path) -> None:
    engine = _store(tmp_path)
    got = list(te.events(engine, batch=2))
    assert [e.timestamp for e in got] == [1.0, 2.0, 3.0, 4.0]
    assert got[0].text == "hei" and got[3].data == {}
    assert [e.text for e in te.events(engine, types=["user"], sender_ids=["a"])] == ["hei"]
    assert sorted(te.sender_ids(engine)) == ["a", "b"]


def test_deleting_a_conversation_leaves_the_others(tmp_path: Path) -> None:
    engine = _store(tmp_path)
    assert te.delete_conversations(engine, ["a"]) == 3
    assert te.sender_ids(engine) == ["b"]
    assert te.delete_conversations(engine, []) == 0


def test_a_store_without_the_table_reads_as_empty(tmp_path: Path) -> None:
    engine = te.engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    assert list(te.events(engine)) == [] and te.sender_ids(engine) == []


def test_url_from_endpoints(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: var/tracker.db\n")
    assert te.url_from_endpoints(path, root=tmp_path) == f"sqlite:///{tmp_path / 'var/tracker.db'}"
    monkeypatch.setenv("PGPASS", "s3cret")
    path.write_text("tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: 5432\n"
                    "  db: rasa\n  username: rasa\n  password: ${PGPASS}\n")
    url = te.url_from_endpoints(path)
    assert url == "postgresql://rasa:s3cret@127.0.0.1:5432/rasa"
    assert "s3cret" not in te.render_url(url)
