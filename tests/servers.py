"""Helpers the end-to-end tests share: an aiohttp app served from a thread (the stand-ins
for Telegram and Rasa), and a migrated, seeded database for a running stack."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from bot.db import migrate
from bot.db.models import Setting
from bot.db.seed import seed_all
from bot.db.session import session_scope
from bot.handoff.tickets import around_the_clock
from bot.runner import free_port  # noqa: F401 - the tests import it from here


def serve_in_thread(app: web.Application, port: int) -> Callable[[], None]:
    """Serve `app` on 127.0.0.1:`port` from a background thread; returns the stop function."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return stop


def seeded_database(
    work: Path, prepare: Callable[[Session], None] | None = None, *, always_open: bool = True
) -> str:
    """A migrated database with today's demo data (and `prepare`'s changes); returns its URL.

    `always_open`: customer service (not the workshop) answers all day, every day, so what a test expects of a
    handoff (a place in the queue, not "we are closed") does not depend on the hour CI runs."""
    url = f"sqlite:///{work / 'profile.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session)
        if always_open:
            session.merge(Setting(key="support_hours", value=around_the_clock()))
        if prepare is not None:
            session.flush()
            prepare(session)
    return url


async def disconnect_socket(client: Any, wait_s: float = 3) -> None:
    """Disconnect a python-socketio client without waiting for its open long poll: the close
    packet goes out at once, then disconnect() waits for the poll to end (up to 25 s)."""
    try:
        await asyncio.wait_for(client.disconnect(), wait_s)
    except asyncio.TimeoutError:
        pass
