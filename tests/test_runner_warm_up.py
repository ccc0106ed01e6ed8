"""The warm-up a Rasa server gets before the runner calls it ready: one parse per language,
over /model/parse only (no conversation is created), and a server that fails it still starts."""

from __future__ import annotations

from aiohttp import web

from bot.lang import detect_language
from bot.runner import WARM_UP_TEXTS, warm_up_rasa
from tests.servers import free_port, serve_in_thread


def test_the_warm_up_parses_one_text_per_language_with_the_token_and_nothing_else() -> None:
    calls: list[tuple[str, str | None, str]] = []

    async def record(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        calls.append((request.path, request.query.get("token"), body.get("text", "")))
        return web.json_response({"intent": {"name": "greet", "confidence": 0.9}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    port = free_port()
    stop = serve_in_thread(app, port)
    try:
        warm_up_rasa(f"http://127.0.0.1:{port}", "secret-token")
    finally:
        stop()
    assert [(path, token) for path, token, _ in calls] == [("/model/parse", "secret-token")] * len(WARM_UP_TEXTS)
    assert sorted(detect_language(text) for _, _, text in calls) == ["en", "nb", "sv"]


def test_a_server_that_does_not_answer_the_warm_up_is_not_an_error() -> None:
    assert warm_up_rasa(f"http://127.0.0.1:{free_port()}", "token", timeout=2) >= 0
