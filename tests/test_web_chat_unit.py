"""The chat page's server side without a browser: language, history mapping, bad input."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import create_app
from bot.web.chat import transcript

SETTINGS = {"rasa_url": "http://127.0.0.1:9", "rasa_public_url": "http://localhost:5005",
            "rasa_token": "t", "demo": True}


async def client() -> TestClient:
    test_client = TestClient(TestServer(create_app(dict(SETTINGS))))
    await test_client.start_server()
    return test_client


async def test_page_language_from_query_then_browser():
    c = await client()
    try:
        english = await (await c.get("/chat?lang=en")).text()
        assert 'lang="en"' in english and "Write a message" in english
        swedish = await (await c.get("/chat", headers={"Accept-Language": "sv-SE,sv;q=0.9"})).text()
        assert "Skriv ett meddelande" in swedish
        default = await c.get("/chat", headers={"Accept-Language": "de-DE"})
        assert 'lang="nb"' in await default.text()
        assert default.headers["X-Frame-Options"] == "DENY"
    finally:
        await c.close()


async def test_demo_session_is_only_taken_when_it_is_a_plain_id():
    c = await client()
    try:
        assert 'data-session="demo-sv"' in await (await c.get("/chat?session=demo-sv")).text()
        assert 'data-session=""' in await (await c.get('/chat?session="><script>')).text()
    finally:
        await c.close()


async def test_history_rejects_bad_ids_and_says_when_rasa_is_down():
    c = await client()
    try:
        assert (await c.get("/chat/history/bad%20id!")).status == 400
        down = await c.get("/chat/history/abc123")
        assert down.status == 502 and (await down.json())["turns"] == []
    finally:
        await c.close()


def test_transcript_shows_what_people_saw():
    tracker = {"events": [
        {"event": "user", "text": "hei"},
        {"event": "bot", "text": "Hei!", "data": {"buttons": [{"title": "Ja", "payload": "/affirm"}]}},
        {"event": "user", "text": '/inform{"slot_choice":"x"}', "metadata": {"display": "ons 25.11 08:00"}},
        {"event": "user", "text": "/affirm"},
        {"event": "slot", "name": "x", "value": 1},
    ]}
    assert transcript(tracker) == [
        {"from": "user", "text": "hei"},
        {"from": "bot", "text": "Hei!", "buttons": [{"title": "Ja", "payload": "/affirm"}]},
        {"from": "user", "text": "ons 25.11 08:00"},
    ]
