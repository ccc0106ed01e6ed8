"""A stand-in for Rasa's trigger_intent endpoint that records calls and can fail on demand
(for scheduler tests that do not need the real servers)."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeRasa:
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def trigger(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append({"conversation": request.match_info["conversation"], "token": request.query.get("token"),
                           "channel": request.query.get("output_channel"), **body})
        if self.fail_with:
            return web.json_response({"error": "down"}, status=self.fail_with.pop(0))
        return web.json_response({"tracker": {}, "messages": []})

    async def append_events(self, request: web.Request) -> web.Response:
        events = await request.json()
        self.calls.append({"conversation": request.match_info["conversation"], "token": request.query.get("token"),
                           "channel": request.query.get("output_channel"), "events": events})
        return web.json_response({"events": events})


def start_fake_rasa() -> tuple[FakeRasa, Any]:
    fake = FakeRasa()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fake.port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/conversations/{conversation}/trigger_intent", fake.trigger)
    app.router.add_post("/conversations/{conversation}/tracker/events", fake.append_events)
    runner = web.AppRunner(app)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", fake.port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return fake, stop
