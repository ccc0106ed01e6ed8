"""The desk's pages and rules without Rasa: login (argon2, CSRF, limiter), the queue, claiming
once, and what happens when Rasa cannot be reached (nothing is recorded as sent)."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import booking
from bot.db.models import HumanRequest, TicketEvent
from bot.db.session import session_scope
from bot.handoff import agents, tickets
from bot.web.app import create_app
from tests.conftest import NOW

SETTINGS = {"rasa_url": "http://127.0.0.1:9", "rasa_public_url": "http://localhost:5005", "rasa_token": "t",
            "demo": True}
PASSWORD = "a-long-desk-password"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)
    monkeypatch.setattr("bot.desk.views.now_local", lambda: NOW)


@pytest.fixture()
def desk_data(db_url):
    with session_scope(db_url) as session:
        agents.add_agent(session, "kari", "Kari Desk", PASSWORD)
        agents.add_agent(session, "ola", "Ola Desk", PASSWORD)
        tickets.open_ticket(session, "telegram:42", "complain", "nb", NOW, 4, sender_id="42", channel="telegram",
                            summary={"intents": {"complain": 1}})
    return db_url


async def client() -> TestClient:
    test_client = TestClient(TestServer(create_app(dict(SETTINGS))))
    await test_client.start_server()
    return test_client


async def csrf(c: TestClient, path: str) -> str:
    html = await (await c.get(path)).text()
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def login(c: TestClient, username: str = "kari", password: str = PASSWORD):
    token = await csrf(c, "/desk/login")
    return await c.post("/desk/login", data={"csrf": token, "username": username, "password": password},
                        allow_redirects=False)


async def test_pages_need_a_login(desk_data):
    c = await client()
    try:
        response = await c.get("/desk", allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == "/desk/login"
        assert (await c.get("/desk/ticket/1", allow_redirects=False)).status == 302
    finally:
        await c.close()


async def test_login_needs_the_csrf_token_and_the_right_password(desk_data):
    c = await client()
    try:
        no_token = await c.post("/desk/login", data={"username": "kari", "password": PASSWORD}, allow_redirects=False)
        assert no_token.status == 403
        wrong = await login(c, password="not-the-password")
        assert wrong.headers["Location"] == "/desk/login?error=1"
        right = await login(c)
        assert right.status == 302 and right.headers["Location"] == "/desk"
        cookie = right.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        queue = await (await c.get("/desk")).text()
        assert "Kari Desk" in queue and "klage" in queue
    finally:
        await c.close()


async def test_too_many_login_attempts_are_refused(desk_data):
    c = await client()
    try:
        statuses = [(await login(c, password="wrong")).status for _ in range(11)]
        assert statuses[:10] == [302] * 10 and statuses[10] == 429
    finally:
        await c.close()


async def test_two_agents_cannot_claim_the_same_conversation(desk_data):
    kari, ola = await client(), await client()
    try:
        await login(kari)
        await login(ola, "ola")
        token_k, token_o = await csrf(kari, "/desk/ticket/1"), await csrf(ola, "/desk/ticket/1")
        assert (await kari.post("/desk/ticket/1/claim", data={"csrf": token_k}, allow_redirects=False)).status == 302
        assert (await ola.post("/desk/ticket/1/claim", data={"csrf": token_o}, allow_redirects=False)).status == 409
        assert (await ola.post("/desk/ticket/1/close", data={"csrf": token_o}, allow_redirects=False)).status == 409
        page = await (await kari.get("/desk/ticket/1")).text()
        assert 'id="reply"' in page and "Gi tilbake til boten" in page
        assert (await kari.post("/desk/ticket/1/claim", data={}, allow_redirects=False)).status == 403  # no CSRF
    finally:
        await kari.close()
        await ola.close()


async def test_a_reply_that_cannot_reach_rasa_is_not_recorded(desk_data):
    c = await client()
    try:
        await login(c)
        token = await csrf(c, "/desk/ticket/1")
        await c.post("/desk/ticket/1/claim", data={"csrf": token}, allow_redirects=False)
        failed = await c.post("/desk/ticket/1/reply", data={"csrf": token, "text": "Hei!"}, allow_redirects=False)
        assert failed.status == 502
        empty = await c.post("/desk/ticket/1/reply", data={"csrf": token, "text": " "}, allow_redirects=False)
        assert empty.status == 400
        with session_scope(desk_data) as session:
            actions = [e.action for e in session.query(TicketEvent).order_by(TicketEvent.id)]
            assert actions == ["opened", "claimed"]
            assert session.get(HumanRequest, 1).status == "claimed"
    finally:
        await c.close()


async def test_logout_ends_the_session(desk_data):
    c = await client()
    try:
        await login(c)
        token = await csrf(c, "/desk")
        assert (await c.post("/desk/logout", data={"csrf": token}, allow_redirects=False)).status == 302
        assert (await c.get("/desk", allow_redirects=False)).status == 302
    finally:
        await c.close()
