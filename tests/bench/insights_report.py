"""How long the insights report takes on a large tracker store: generates N conversations
(about 10 events each, in the shape Rasa 3.6 writes) spread over the last 30 days, then
times the figures (`metrics.compute`) and the HTML with its charts (`render_report`).

Run: .venv/bin/python -m tests.bench.insights_report [--conversations 10000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.db import migrate
from bot.db.seed import seed_all
from bot.db.session import session_scope
from bot.insights import metrics
from bot.insights.report import render_report
from bot.tracker_events import events_table
from tests.insights_store import TrackerStore, stamp

INTENTS = ("greet", "book_service", "ask_price", "booking_status", "ask_opening_hours", "thank", "affirm",
           "ask_invoice", "request_loaner_car", "out_of_scope", "nlu_fallback")
CHANNELS = ("rest", "socketio", "telegram")
LANGUAGES = ("nb", "nb", "nb", "sv", "en")


def generate(url: str, conversations: int, today: date, seed: int = 7) -> int:
    rng = random.Random(seed)
    store = TrackerStore(sa.create_engine(url, future=True))
    noon = datetime.combine(today, datetime.min.time()) + timedelta(hours=12)
    for n in range(conversations):
        sender, channel, lang = f"bench-{n % (conversations // 2 or 1)}", rng.choice(CHANNELS), rng.choice(LANGUAGES)
        start = stamp(noon - timedelta(days=rng.randrange(30), minutes=rng.randrange(600)))
        store.session(sender, start, channel)
        store.turn(sender, start + 10, "hei", "greet", "action_greet", channel, lang)
        store.user(sender, start + 20, "…", rng.choice(INTENTS), channel)
        if rng.random() < 0.1:
            store.handoff(sender, start + 21)
        if len(store.rows) > 20000:
            store.save()
    store.save()
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar_one())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=10_000)
    args = parser.parse_args()
    zone = ZoneInfo("Europe/Oslo")
    today = datetime.now(zone).date()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db_url, tracker_url = f"sqlite:///{work / 'profile.db'}", f"sqlite:///{work / 'tracker.db'}"
        migrate.upgrade(db_url)
        with session_scope(db_url) as session:
            seed_all(session, today=today)
        started = time.perf_counter()
        events = generate(tracker_url, args.conversations, today)
        print(f"generated {args.conversations} conversations, {events} events in {time.perf_counter() - started:.1f} s")
        engine = sa.create_engine(tracker_url, future=True)
        period = metrics.period_from(30, None, None, today)
        with session_scope(db_url) as session:
            started = time.perf_counter()
            data = metrics.compute(session, engine, period, work / "results", zone)
            computed = time.perf_counter() - started
            started = time.perf_counter()
            html = render_report(data)
            rendered = time.perf_counter() - started
        print(f"figures: {data.conversations.conversations} conversations, {data.conversations.user_messages} "
              f"messages in {computed:.2f} s; HTML with charts ({len(html) // 1024} KiB) in {rendered:.2f} s; "
              f"total {computed + rendered:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
