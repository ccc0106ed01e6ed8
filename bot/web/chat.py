"""The web chat page at /chat: a page, its script and styles, the vendored socket.io client,
and the conversation's history for a reload (read from Rasa's tracker, server side, so the
API token never reaches the browser).

The server issues the session: a random 128-bit id and its HMAC (`bot/signing.py`), kept in an
HttpOnly, SameSite=Strict cookie and handed to the page once for the socket. The socket channel
(`connectors/webchat.py`) joins a session only with its token, and the history is served only
to the cookie of that session, and only for a web chat conversation. In dev mode
`/chat?session=demo-curated` signs a demo customer's id.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot.config import PROJECT_ROOT
from bot.conversation_ids import WEBCHAT as WEBCHAT_CHANNEL
from bot.conversation_ids import conversation_id
from bot.signing import WEBCHAT, new_session_id, sign, verify, webchat_secret

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
VENDOR = PROJECT_ROOT / "var" / "vendor"
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
LANGS = ("nb", "sv", "en")
COOKIE = "fjordbil_chat"
COOKIE_MAX_AGE = 30 * 24 * 3600

PAGE_TEXTS: dict[str, dict[str, str]] = {
    "nb": {"title": "Fjordbil – chat", "heading": "Fjordbil kundeservice", "placeholder": "Skriv en melding …",
           "send": "Send", "connecting": "Kobler til …", "offline": "Frakoblet – prøver igjen …",
           "online": "Tilkoblet", "typing": "Assistenten skriver …",
           "welcome": "Hei! Skriv hva du trenger hjelp med, for eksempel «bestille service»."},
    "sv": {"title": "Fjordbil – chatt", "heading": "Fjordbil kundtjänst", "placeholder": "Skriv ett meddelande …",
           "send": "Skicka", "connecting": "Ansluter …", "offline": "Frånkopplad – försöker igen …",
           "online": "Ansluten", "typing": "Assistenten skriver …",
           "welcome": "Hej! Skriv vad du behöver hjälp med, till exempel «boka service»."},
    "en": {"title": "Fjordbil – chat", "heading": "Fjordbil customer service", "placeholder": "Write a message …",
           "send": "Send", "connecting": "Connecting …", "offline": "Disconnected – retrying …",
           "online": "Connected", "typing": "The assistant is typing …",
           "welcome": "Hi! Tell me what you need help with, for example \"book a service\"."},
}


def page_language(request: web.Request) -> str:
    """?lang=, else the browser's Accept-Language, else nb."""
    asked = request.query.get("lang", "")
    if asked in LANGS:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in ("nb", "no", "nn"):
            return "nb"
        if code in ("sv", "en"):
            return code
    return "nb"


def cookie_session(request: web.Request, secret: str) -> str | None:
    """The session id of this browser's chat cookie, when its token is valid."""
    session_id, _, token = request.cookies.get(COOKIE, "").partition(".")
    if SESSION_ID.match(session_id) and verify(secret, WEBCHAT, session_id, token):
        return session_id
    return None


async def chat_page(request: web.Request) -> web.StreamResponse:
    settings = request.app["settings"]
    try:
        secret = webchat_secret()
    except RuntimeError as error:
        log.error("web chat: %s", error)
        return web.Response(status=503, text="The web chat is not configured (WEBCHAT_SECRET).")
    lang = page_language(request)
    demo = request.query.get("session", "") if settings["demo"] else ""
    if demo and SESSION_ID.match(demo):
        session_id = demo   # dev mode only: a demo customer's conversation
    else:
        session_id = cookie_session(request, secret) or new_session_id()
    token = sign(secret, WEBCHAT, session_id)
    page = aiohttp_jinja2.render_template("chat.html", request, {
        "lang": lang,
        "t": PAGE_TEXTS[lang],
        "socket_url": settings["rasa_public_url"],
        "session": session_id,
        "token": token,
    })
    page.set_cookie(COOKIE, f"{session_id}.{token}", max_age=COOKIE_MAX_AGE, path="/chat", httponly=True,
                    samesite="Strict", secure=os.environ.get("WEBCHAT_SECURE_COOKIE", "0") == "1")
    page.headers["Cache-Control"] = "no-store"
    return page


def transcript(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """User and bot turns of a tracker as the page shows them."""
    turns: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            text = metadata.get("display") or event.get("text") or ""
            if text and not (text.startswith("/") and not metadata.get("display")):
                turns.append({"from": "user", "text": text})
        elif event.get("event") == "bot":
            data = event.get("data") or {}
            buttons = data.get("buttons") or data.get("quick_replies") or []
            turns.append({
                "from": "bot", "text": event.get("text") or "",
                "buttons": [{"title": b.get("title"), "payload": b.get("payload")} for b in buttons],
            })
    return turns


async def history(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    if not SESSION_ID.match(session_id):
        return web.json_response({"error": "invalid session id"}, status=400)
    try:
        owner = cookie_session(request, webchat_secret())
    except RuntimeError:
        owner = None
    if owner != session_id:
        return web.json_response({"error": "not your conversation"}, status=403)
    settings = request.app["settings"]
    conversation = quote(conversation_id(WEBCHAT_CHANNEL, session_id), safe="")  # the session's own conversation
    url = f"{settings['rasa_url']}/conversations/{conversation}/tracker"
    try:
        async with request.app["http"].get(url, params={"token": settings["rasa_token"]},
                                           timeout=aiohttp.ClientTimeout(total=10)) as reply:
            if reply.status != 200:
                log.warning("history: Rasa answered %s", reply.status)
                return web.json_response({"turns": [], "error": "history unavailable"}, status=502)
            tracker = await reply.json()
    except (aiohttp.ClientError, TimeoutError):
        return web.json_response({"turns": [], "error": "history unavailable"}, status=502)
    if not webchat_only(tracker):
        return web.json_response({"error": "not a web chat conversation"}, status=403)
    return web.json_response({"turns": transcript(tracker)})


def webchat_only(tracker: dict[str, Any]) -> bool:
    """True when every message of the conversation came through the web chat (or none came)."""
    channels = {event.get("input_channel") for event in tracker.get("events") or [] if event.get("event") == "user"}
    return channels <= {"webchat"}


async def vendor_file(request: web.Request) -> web.StreamResponse:
    path = VENDOR / "socket.io.min.js"
    if not path.exists():
        return web.Response(status=503, text="socket.io client missing: run `make install`")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/history/{session_id}", history)
    app.router.add_get("/chat/vendor/socket.io.min.js", vendor_file)
    app.router.add_static("/chat/static", STATIC)
