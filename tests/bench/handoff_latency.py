"""Handoff latency benchmark: agent reply -> the customer's Telegram chat, and customer
message -> visible at the desk. Starts the whole stack with the Telegram stand-in.

Run: .venv/bin/python -m tests.bench.handoff_latency [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bot.db import migrate
from bot.db.models import HumanRequest
from bot.db.seed import seed_all
from bot.db.session import session_scope
from bot.handoff.agents import add_agent
from bot.runner import latest_model, start_stack
from tests.servers import free_port
from tests.telegram_standin import start_standin
from tests.test_handoff_e2e import Desk
from tests.test_telegram_e2e import SECRET, message_update, post_update

CHAT = 999000111


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    standin, stop_standin = start_standin()
    work = Path(tempfile.mkdtemp(prefix="bench-handoff-"))
    url = f"sqlite:///{work / 'profile.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session)
        add_agent(session, "bench", "Bench Agent", "bench-password-123")
    stack = start_stack(free_port(), free_port(), latest_model(), work, web_port=free_port(),
                        extra_env={"DATABASE_URL": url, "TELEGRAM_TOKEN": standin.token,
                                   "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": standin.base_url})
    try:
        post_update(stack, message_update("jeg vil snakke med et menneske", chat=CHAT))
        with session_scope(url) as session:
            ticket_id = session.query(HumanRequest).one().id
        desk = Desk(stack.web_url)
        desk.post("/desk/login", {"username": "bench", "password": "bench-password-123"}, "/desk/login")
        page = f"/desk/ticket/{ticket_id}"
        desk.post(f"{page}/claim", {}, page)
        to_customer, to_desk = [], []
        for n in range(rounds):
            standin.calls.clear()
            started = time.perf_counter()
            desk.post(f"{page}/reply", {"text": f"svar {n}"}, page)
            standin.wait_for("sendMessage", 1)
            to_customer.append((time.perf_counter() - started) * 1000)

            text = f"melding {n}"
            started = time.perf_counter()
            post_update(stack, message_update(text, chat=CHAT))
            while text not in json.dumps(json.loads(desk.get(f"{page}/transcript"))["transcript"][-3:]):
                time.sleep(0.01)
            to_desk.append((time.perf_counter() - started) * 1000)
        for name, values in (("agent reply -> customer's channel", to_customer),
                             ("customer message -> desk transcript", to_desk)):
            print(f"{name} ({len(values)} rounds): p50 {statistics.median(values):.0f} ms, "
                  f"p95 {p95(values):.0f} ms, max {max(values):.0f} ms")
        print("note: the desk page polls the transcript every 0.4 s, which adds up to 0.4 s on screen")
    finally:
        stack.stop()
        stop_standin()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
