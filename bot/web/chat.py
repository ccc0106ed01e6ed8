"""The web chat page at /chat: a page, its script and styles, the vendored socket.io client,
and the conversation's history for a reload (read from Rasa's tracker, server side, so the
API token never reaches the browser)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot.config import PROJECT_ROOT

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
VENDOR = PROJECT_ROOT / "var" / "vendor"
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
LANGS = ("nb", "sv", "en")

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


@aiohttp_jinja2.template("chat.html")
async def chat_page(request: web.Request) -> dict[str, Any]:
    settings = request.app["settings"]
    lang = page_language(request)
    session = request.query.get("session", "") if settings["demo"] else ""
    return {
        "lang": lang,
        "t": PAGE_TEXTS[lang],
        "socket_url": settings["rasa_public_url"],
        "session": session if SESSION_ID.match(session or "") else "",
    }


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
    settings = request.app["settings"]
    url = f"{settings['rasa_url']}/conversations/{session_id}/tracker"
    try:
        async with request.app["http"].get(url, params={"token": settings["rasa_token"]},
                                           timeout=aiohttp.ClientTimeout(total=10)) as reply:
            if reply.status != 200:
                log.warning("history: Rasa answered %s", reply.status)
                return web.json_response({"turns": [], "error": "history unavailable"}, status=502)
            tracker = await reply.json()
    except (aiohttp.ClientError, TimeoutError):
        return web.json_response({"turns": [], "error": "history unavailable"}, status=502)
    return web.json_response({"turns": transcript(tracker)})


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
