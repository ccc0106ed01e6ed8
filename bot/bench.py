"""`bot bench turns`: training time, Rasa start-up time and per-turn latency over REST.

Numbers are printed, not asserted: targets live in the closing notes and the README.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.runner import BIN, free_port, latest_model, start_stack

# A turn that runs a profile-reading action (status reads bookings from the database).
TURN = "er bilen min ferdig?"
SENDERS = ("demo-respond", "demo-curated", "demo-coach", "demo-auto", "demo-sv", "demo-en")


def _post(url: str, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _report(label: str, latencies: list[float], seconds: float) -> None:
    print(
        f"{label}: {len(latencies)} turns, p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {_percentile(latencies, 95):.0f} ms, p99 {_percentile(latencies, 99):.0f} ms, "
        f"{len(latencies) / seconds:.1f} turns/s",
        flush=True,
    )


def _bench_database(work: Path, users: int) -> str:
    """A seeded database of its own, with `users` senders that are known demo customers."""
    from sqlalchemy import select

    from bot.db import migrate
    from bot.db.models import ChannelIdentity, Customer
    from bot.db.seed import seed_all
    from bot.db.session import session_scope

    url = f"sqlite:///{work / 'profile.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session)
        customers = session.execute(select(Customer).order_by(Customer.id)).scalars().all()
        for number in range(users):
            session.add(ChannelIdentity(
                customer_id=customers[number % len(customers)].id, channel="rest", external_id=f"bench-{number}"
            ))
    return url


def run_bench(args: argparse.Namespace) -> int:
    if not args.skip_train:
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run(
                [str(BIN / "rasa"), "train", "--force", "--quiet", "--out", out],
                cwd=PROJECT_ROOT, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            )
            print(f"full training: {time.perf_counter() - started:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    db_url = _bench_database(work, args.concurrency)
    started = time.perf_counter()
    stack = start_stack(free_port(), free_port(), latest_model(), work, extra_env={"DATABASE_URL": db_url})
    print(f"start-up (action server + Rasa server until it answers): {time.perf_counter() - started:.1f} s")
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    try:
        for sender in SENDERS:  # warm up: first turns load the session and the profile
            _post(url, sender, "hei")
        latencies: list[float] = []
        started = time.perf_counter()
        for index in range(args.turns):
            latencies.append(_post(url, SENDERS[index % len(SENDERS)], TURN))
        _report("single user", latencies, time.perf_counter() - started)

        concurrent: list[float] = []
        lock = threading.Lock()
        per_user = max(1, args.turns // args.concurrency)

        def user(number: int) -> None:
            sender = f"bench-{number}"
            for _ in range(per_user):
                value = _post(url, sender, TURN)
                with lock:
                    concurrent.append(value)

        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _report(f"{args.concurrency} concurrent conversations", concurrent, time.perf_counter() - started)
    finally:
        stack.stop()
    return 0
