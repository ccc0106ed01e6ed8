"""`bot bench proactive`: one detection pass over a large customer base (default 100,000).

Builds (once) the same database as `bot bench strategy`, then times `detect_all` and the
planning of every event, without delivering anything. Prints seconds and counts."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import datetime

from bot.bench_strategy import TODAY, bench_url, build_database
from bot.db.session import session_scope
from bot.proactive.detectors import detect_all, proactive_settings
from bot.proactive.plan import Directory, plan


def run(args: argparse.Namespace) -> int:
    url = args.database_url or bench_url(args.customers)
    total = build_database(url, args.customers)
    now = datetime.combine(TODAY, datetime.min.time()).replace(hour=12)
    with session_scope(url) as session:
        started = time.perf_counter()
        events = detect_all(session, now)
        detect_s = time.perf_counter() - started
        cfg = proactive_settings(session)
        started = time.perf_counter()
        directory = Directory.load(session, {event.customer_id for event in events})
        actions = Counter(plan(session, event, list(cfg["push_channels"]), directory).action for event in events)
        plan_s = time.perf_counter() - started
    kinds = Counter(event.event_type for event in events)
    print(f"database: {total} customers")
    print(f"detection pass: {detect_s:.2f} s, {len(events)} due events "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"planning every event (consent, strategy, channel): {plan_s:.2f} s {dict(actions)}")
    print(f"target detection <= 10 s: {'met' if detect_s <= 10 else 'MISSED'}")
    return 0
