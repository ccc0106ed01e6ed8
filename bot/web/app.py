"""The aiohttp application on port 8080 and `bot web`."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.config import dev_mode
from bot.desk import insights_views
from bot.desk import privacy_views as desk_privacy
from bot.desk import review_views as desk_review
from bot.desk import security as desk_security
from bot.desk import views as desk_views
from bot.web import chat

TEMPLATES = Path(__file__).with_name("templates")
DESK = Path(__file__).resolve().parent.parent / "desk"
MAX_BODY_BYTES = 256 * 1024


def settings_from_env() -> dict[str, object]:
    rasa_url = os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
    return {
        "rasa_url": rasa_url,
        "rasa_public_url": os.environ.get("RASA_PUBLIC_URL", "http://localhost:5005").rstrip("/"),
        "rasa_token": os.environ.get("RASA_TOKEN", ""),
        "demo": dev_mode(),
    }


@web.middleware
async def security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def create_app(settings: dict[str, object] | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[security_headers])
    app["settings"] = settings or settings_from_env()
    aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader([str(TEMPLATES), str(DESK / "templates")]), autoescape=True
    )
    desk_security.setup(app)

    async def open_client(app: web.Application) -> None:
        app["http"] = aiohttp.ClientSession()

    async def close_client(app: web.Application) -> None:
        await app["http"].close()

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.on_startup.append(open_client)
    app.on_cleanup.append(close_client)
    app.router.add_get("/health", health)
    app.router.add_get("/", lambda _: web.HTTPFound("/chat"))
    chat.add_routes(app)
    desk_views.add_routes(app)
    insights_views.add_routes(app)
    desk_review.add_routes(app)
    desk_privacy.add_routes(app)
    app.router.add_static("/desk/static", DESK / "static")
    return app


def run(host: str = "127.0.0.1", port: int = 8080) -> int:
    web.run_app(create_app(), host=host, port=port, print=None)
    return 0
