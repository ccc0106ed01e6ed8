"""The scale setup (two Rasa instances and two action servers behind nginx, a fresh PostgreSQL
database, Redis) as a customer meets it: a web chat page connected to one Rasa instance gets
what the other sends, and a short load test with one Rasa instance killed mid-run keeps every
conversation whole. Speed is not checked here: `bot bench load` (make bench-load) measures it."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import socketio
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.bench_load import checks, setups
from bot.bench_load.measure import LOCUST
from bot.bench_load.options import DEFAULT_POSTGRES, DEFAULT_REDIS
from bot.bench_load.run import load_steps, locust_config
from bot.scale import NGINX
from bot.signing import WEBCHAT, sign
from tests.servers import disconnect_socket

pytestmark = pytest.mark.e2e


def missing_service() -> str | None:
    """Why this machine cannot run the scale setup, or None."""
    if not (shutil.which("nginx") or Path(NGINX).exists()):
        return "nginx is not installed (make test installs Debian's nginx when it runs as root)"
    if not LOCUST.exists():
        return f"{LOCUST} is missing (make load-env)"
    try:
        engine = create_engine(DEFAULT_POSTGRES, future=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as error:
        return f"PostgreSQL is not reachable at {DEFAULT_POSTGRES}: {error.orig}"
    try:
        redis.Redis.from_url(DEFAULT_REDIS, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {DEFAULT_REDIS}: {error}"
    return None


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[setups.Running]:
    reason = missing_service()
    if reason:
        pytest.skip(reason)
    running = setups.scale(tmp_path_factory.mktemp("scale"), 1000, DEFAULT_POSTGRES, DEFAULT_REDIS)
    yield running
    running.close()


async def test_a_page_connected_to_one_rasa_instance_gets_what_the_other_sends(scale):
    """An agent's reply (or a proactive message) may be sent by the instance the page is not on."""
    client = socketio.AsyncClient()
    received: asyncio.Queue = asyncio.Queue()
    confirmed = asyncio.Event()
    client.on("session_confirm", lambda _session: confirmed.set())
    client.on("bot_uttered", received.put_nowait)
    # Long polling: python-socketio's websocket client needs a newer aiohttp than Rasa 3.6 pins.
    await client.connect(scale.instances[0], socketio_path="/socket.io", transports=["polling"],
                         headers={"Origin": scale.web_url})
    try:
        token = sign(scale.env["WEBCHAT_SECRET"], WEBCHAT, "across-instances")  # as the web server issues it
        await client.emit("session_request", {"session_id": "across-instances", "token": token})
        await asyncio.wait_for(confirmed.wait(), 10)
        request = urllib.request.Request(
            f"{scale.instances[1]}/conversations/webchat:across-instances/tracker/events?token={scale.token}"
            "&output_channel=webchat&execute_side_effects=true",
            data=json.dumps([{"event": "bot", "text": "Hei, dette er Kari på kundeservice."}]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200
        message = await asyncio.wait_for(received.get(), 10)
        assert message["text"] == "Hei, dette er Kari på kundeservice."
    finally:
        await disconnect_socket(client)


def test_short_load_with_a_rasa_instance_killed_keeps_every_conversation_whole(scale, tmp_path):
    options = argparse.Namespace(users="20", measure=20, refine=0, kill=True)
    killed: dict[str, float] = {}
    steps, entries = load_steps(scale, options, tmp_path, locust_config(scale, [0.5, 1.5]), killed)
    normal, with_kill = steps
    assert "killed" in with_kill.note and "rasa-2" in killed
    # A few hundred turns, each one checked below (an idle machine does 300 and more; a busy one fewer).
    assert normal.turns + with_kill.turns >= 200, steps
    verdict = checks.check(entries, scale.tracker_url, scale.db_url)
    assert verdict.ok, verdict.problems
    assert verdict.conversations > 50 and verdict.bookings > 0
    assert normal.errors == 0 and with_kill.errors == 0, steps
