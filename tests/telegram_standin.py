"""A local stand-in for the Telegram Bot API: records every call the bot makes and can be
told to answer the next calls with 429 (flood control) or 500. Runs in its own thread."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers import free_port, serve_in_thread


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class StandIn:
    token: str = "123456:TEST-TOKEN"
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[str, int, int]] = field(default_factory=list)  # (method, status, retry_after)
    updates: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _message_id: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def fail_next(self, method: str, status: int, times: int = 1, retry_after: int = 1) -> None:
        self.failures.extend([(method, status, retry_after)] * times)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.sent(method)) >= count:
                return self.sent(method)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} {method} calls, got {self.sent(method)}")

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: _maybe_json(v) for k, v in (await request.post()).items()}
        self.calls.append(Call(method, params))
        for index, (failing, status, retry_after) in enumerate(self.failures):
            if failing == method:
                del self.failures[index]
                body: dict[str, Any] = {"ok": False, "error_code": status, "description": "stand-in failure"}
                if status == 429:
                    body["description"] = f"Too Many Requests: retry after {retry_after}"
                    body["parameters"] = {"retry_after": retry_after}
                return web.json_response(body, status=status)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Fjordbil", "username": "fjordbil_bot"}
        if method == "sendMessage":
            self._message_id += 1
            return {"message_id": self._message_id, "date": int(time.time()), "text": params.get("text", ""),
                    "chat": {"id": int(params.get("chat_id", 0)), "type": "private"}}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            pending = [u for u in self.updates if u["update_id"] >= offset]
            return pending
        return True


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def start_standin() -> tuple[StandIn, Callable[[], None]]:
    """Start the stand-in on a free port; returns it and a function that stops it."""
    standin = StandIn(port=free_port())
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", standin.handle)
    return standin, serve_in_thread(app, standin.port)
