"""Desk sessions (encrypted, HttpOnly, SameSite=Strict cookies), CSRF tokens, a per-address
login limiter, and the guard every desk page goes through."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_MAX_AGE = 8 * 3600


def setup(app: web.Application) -> None:
    secret = os.environ.get("DESK_SECRET") or secrets.token_urlsafe(32)  # random: sessions end with the process
    key = hashlib.sha256(secret.encode()).digest()  # 32 raw bytes; the storage makes the Fernet key
    storage = EncryptedCookieStorage(
        key, cookie_name="fjordbil_desk", httponly=True, samesite="Strict", max_age=SESSION_MAX_AGE,
        secure=os.environ.get("DESK_SECURE_COOKIE", "0") == "1",
    )
    setup_sessions(app, storage)
    app["login_limiter"] = LoginLimiter()


class LoginLimiter:
    """At most `attempts` login tries per address in `window_s` seconds."""

    def __init__(self, attempts: int = 10, window_s: float = 300) -> None:
        self.attempts, self.window_s = attempts, window_s
        self.tries: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str) -> bool:
        now, tries = time.monotonic(), self.tries[address]
        while tries and now - tries[0] > self.window_s:
            tries.popleft()
        if len(tries) >= self.attempts:
            return False
        tries.append(now)
        return True


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


async def check_csrf(request: web.Request, form: Any) -> None:
    session = await get_session(request)
    expected, given = str(session.get("csrf", "")), str(form.get("csrf", ""))
    if not expected or not hmac.compare_digest(expected, given):
        raise web.HTTPForbidden(text="invalid or missing CSRF token: reload the page")


def agent_required(role: str | None = None) -> Callable[[Handler], Handler]:
    """Pages for logged-in agents only (and, with `role`, only that role)."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = await get_session(request)
            if not session.get("agent_id"):
                raise web.HTTPFound("/desk/login")
            if role and session.get("role") != role:
                raise web.HTTPForbidden(text="this page is for another role")
            request["agent"] = {"id": session["agent_id"], "name": session.get("name"), "role": session.get("role")}
            return await handler(request)

        return guarded

    return wrap
