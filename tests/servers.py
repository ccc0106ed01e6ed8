"""Helpers the end-to-end tests share: an aiohttp app served from a thread (the stand-ins
for Telegram and Rasa), and a migrated, seeded database for a running stack."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web
from sqlalchemy.orm import Session

from bot.db import migrate
from bot.db.models import Setting
from bot.db.seed import seed_all
from bot.db.session import session_scope
from bot.handoff.tickets import around_the_clock
from bot.runner import Stack, free_port  # noqa: F401 - free_port: the tests import it from here
from bot.signing import WEBCHAT, sign


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


class WebChatPage:
    """A web chat client as the page is one: a socket.io connection to Rasa's webchat channel."""

    def __init__(self, stack: Stack, wait_s: float = 60) -> None:
        self.stack, self.wait_s = stack, wait_s  # a busy machine may take long for a turn
        self.client = socketio.AsyncClient()
        self.confirmed: asyncio.Queue = asyncio.Queue()
        self.errors: asyncio.Queue = asyncio.Queue()
        self.messages: asyncio.Queue = asyncio.Queue()
        self.client.on("session_confirm", self.confirmed.put_nowait)
        self.client.on("error_message", self.errors.put_nowait)
        self.client.on("bot_uttered", self.messages.put_nowait)

    async def __aenter__(self) -> WebChatPage:
        # Long polling: python-socketio's websocket client needs a newer aiohttp than Rasa 3.6 pins.
        origin = self.stack.web_url if self.stack.web_port else "http://localhost:8080"
        await self.client.connect(self.stack.rasa_url, socketio_path="/socket.io", transports=["polling"],
                                  headers={"Origin": origin})
        return self

    async def __aexit__(self, *_: object) -> None:
        await disconnect_socket(self.client)

    async def join(self, session_id: str, token: str | None) -> str | dict:
        """The confirmed session id, or the error the channel answered with."""
        await self.client.emit("session_request", {"session_id": session_id, "token": token})
        done, pending = await asyncio.wait([asyncio.ensure_future(self.confirmed.get()),
                                            asyncio.ensure_future(self.errors.get())],
                                           timeout=self.wait_s, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()
        assert done, "no answer to session_request"
        return done.pop().result()

    async def say(self, text: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """Every bot message of the turn (until two seconds pass without one)."""
        message = {"message": text, **({"session_id": session_id} if session_id else {})}
        await self.client.emit("user_uttered", message)
        got = [await asyncio.wait_for(self.messages.get(), self.wait_s)]
        while True:
            try:
                got.append(await asyncio.wait_for(self.messages.get(), 2))
            except asyncio.TimeoutError:
                return got


def webchat_token(stack: Stack, session_id: str) -> str:
    """What the web server hands the page with its session."""
    return sign(stack.env["WEBCHAT_SECRET"], WEBCHAT, session_id)
