"""A stand-in for Rasa's trigger_intent endpoint that records calls and can fail on demand
(for scheduler tests that do not need the real servers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers import free_port, serve_in_thread


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


def start_fake_rasa() -> tuple[FakeRasa, Callable[[], None]]:
    fake = FakeRasa(port=free_port())
    app = web.Application()
    app.router.add_post("/conversations/{conversation}/trigger_intent", fake.trigger)
    app.router.add_post("/conversations/{conversation}/tracker/events", fake.append_events)
    return fake, serve_in_thread(app, fake.port)
