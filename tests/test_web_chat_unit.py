"""The chat page's server side without a browser: language, sessions, history mapping, bad input."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.signing import WEBCHAT, sign
from bot.web.app import create_app
from bot.web.chat import COOKIE, transcript, webchat_only

SECRET = "unit-test-webchat-secret-0123456789"


@pytest.fixture(autouse=True)
def webchat_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBCHAT_SECRET", SECRET)

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
        demo = await (await c.get("/chat?session=demo-sv")).text()
        assert 'data-session="demo-sv"' in demo and f'data-token="{sign(SECRET, WEBCHAT, "demo-sv")}"' in demo
        c.session.cookie_jar.clear()
        odd = await (await c.get('/chat?session="><script>')).text()
        assert '"><script>' not in odd and re.search(r'data-session="[0-9a-f]{32}"', odd)
    finally:
        await c.close()


async def test_demo_ids_are_not_signed_outside_dev_mode():
    c = TestClient(TestServer(create_app({**SETTINGS, "demo": False})))
    await c.start_server()
    try:
        page = await (await c.get("/chat?session=demo-coach")).text()
        assert "demo-coach" not in page and re.search(r'data-session="[0-9a-f]{32}"', page)
    finally:
        await c.close()


async def test_the_server_issues_a_random_session_and_keeps_it_in_an_httponly_cookie():
    c = await client()
    try:
        first = await c.get("/chat")
        session_id = re.search(r'data-session="([0-9a-f]{32})"', await first.text()).group(1)
        cookie = first.cookies[COOKIE]
        assert cookie.value == f"{session_id}.{sign(SECRET, WEBCHAT, session_id)}"
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/chat"
        again = await (await c.get("/chat")).text()   # the reload: the same conversation
        assert f'data-session="{session_id}"' in again
        c.session.cookie_jar.clear()
        other = await (await c.get("/chat")).text()   # another browser: another one
        assert f'data-session="{session_id}"' not in other
    finally:
        await c.close()


async def test_history_only_for_the_cookie_of_that_session_and_says_when_rasa_is_down():
    c = await client()
    try:
        assert (await c.get("/chat/history/bad%20id!")).status == 400
        assert (await c.get("/chat/history/demo-coach")).status == 403   # no cookie: anyone's transcript
        page = await (await c.get("/chat")).text()
        mine = re.search(r'data-session="([0-9a-f]{32})"', page).group(1)
        assert (await c.get("/chat/history/demo-coach")).status == 403   # a cookie, of another session
        forged = await c.get(f"/chat/history/{mine}", cookies={COOKIE: f"{mine}.{'0' * 64}"})
        assert forged.status == 403
        down = await c.get(f"/chat/history/{mine}")
        assert down.status == 502 and (await down.json())["turns"] == []
    finally:
        await c.close()


def test_only_web_chat_conversations_have_a_web_history():
    assert webchat_only({"events": [{"event": "user", "input_channel": "webchat"}, {"event": "bot"}]})
    assert webchat_only({"events": []})
    assert not webchat_only({"events": [{"event": "user", "input_channel": "webchat"},
                                        {"event": "user", "input_channel": "rest"}]})


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
