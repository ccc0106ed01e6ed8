"""Handoff end to end: a Telegram customer asks for a person, the bot pauses, the customer's
next message reaches the desk and not the bot, an agent logs in, claims, answers on
Telegram, and hands back; the bot greets the customer again by name. Real Rasa, action
server and web server; Telegram is the local stand-in of the Bot API."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import ChannelIdentity, Customer, HumanRequest, TicketEvent
from bot.db.session import session_scope
from bot.handoff.agents import add_agent
from bot.runner import Stack, latest_model, start_stack
from tests.servers import free_port, seeded_database
from tests.telegram_standin import StandIn
from tests.test_telegram_e2e import SECRET, message_update, post_update

pytestmark = pytest.mark.e2e
CHAT = 888000111
PASSWORD = "desk-password-for-tests"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandIn) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("handoff")

    def prepare(session: Session) -> None:
        karoline = session.query(Customer).filter_by(demo_key="demo-curated").one()
        session.add(ChannelIdentity(customer_id=karoline.id, channel="telegram", external_id=str(CHAT)))
        add_agent(session, "kari", "Kari i kundeservice", PASSWORD)

    url = seeded_database(work, prepare)
    running = start_stack(
        free_port(), free_port(), latest_model(), work, web_port=free_port(),
        extra_env={"DATABASE_URL": url, "BOT_ENV": "dev", "TELEGRAM_TOKEN": standin.token,
                   "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": standin.base_url},
    )
    running.db_url = url  # type: ignore[attr-defined]
    yield running
    running.stop()


class Desk:
    """An agent's browser session: cookies, CSRF tokens, no automatic redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict[str, str], token_from: str) -> int:
        token = re.search(r'name="csrf" value="([^"]+)"', self.get(token_from)).group(1)
        data = urllib.parse.urlencode({**form, "csrf": token}).encode()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=data), timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def texts(standin: StandIn) -> list[str]:
    return [call["text"].replace("\\", "") for call in standin.sent()]


def test_a_person_takes_over_on_telegram_and_hands_back(stack, standin):
    post_update(stack, message_update("jeg vil snakke med et menneske", chat=CHAT))
    assert any("nummer 1 i køen" in t for t in texts(standin)), texts(standin)
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        ticket = session.execute(select(HumanRequest)).scalar_one()
        assert (ticket.channel, ticket.sender_id, ticket.status) == ("telegram", f"telegram:{CHAT}", "open")
        ticket_id = ticket.id

    standin.calls.clear()
    post_update(stack, message_update("hallo, er det noen der?", chat=CHAT))
    time.sleep(1)
    assert standin.sent() == []  # paused: the bot says nothing, not even an apology

    desk = Desk(stack.web_url)
    assert desk.post("/desk/login", {"username": "kari", "password": PASSWORD}, "/desk/login") == 200
    assert f'href="/desk/ticket/{ticket_id}"' in desk.get("/desk")
    transcript = json.loads(desk.get(f"/desk/ticket/{ticket_id}/transcript"))["transcript"]
    assert transcript[-1] == {"from": "customer", "text": "hallo, er det noen der?", "at": transcript[-1]["at"]}

    assert desk.post(f"/desk/ticket/{ticket_id}/claim", {}, f"/desk/ticket/{ticket_id}") == 200
    assert desk.post(f"/desk/ticket/{ticket_id}/reply", {"text": "Hei, det er Kari. Hva kan jeg hjelpe med?"},
                     f"/desk/ticket/{ticket_id}") == 200
    reply = standin.wait_for("sendMessage", 1)[0]
    assert reply["chat_id"] == str(CHAT) and "det er Kari" in reply["text"]
    turns = json.loads(desk.get(f"/desk/ticket/{ticket_id}/transcript"))["transcript"]
    assert turns[-1]["from"] == "agent" and turns[-1]["who"] == "Kari i kundeservice"

    standin.calls.clear()
    assert desk.post(f"/desk/ticket/{ticket_id}/handback", {}, f"/desk/ticket/{ticket_id}") == 200
    greeting = standin.wait_for("sendMessage", 1)[0]["text"].replace("\\", "")
    assert "Karoline" in greeting and "tilbake hos meg" in greeting

    standin.calls.clear()
    post_update(stack, message_update("hva koster dekkskift?", chat=CHAT))
    assert any("890" in t for t in texts(standin))  # the bot answers again

    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        trail = [e.action for e in session.execute(
            select(TicketEvent).filter_by(ticket_id=ticket_id).order_by(TicketEvent.id)).scalars()]
        assert trail == ["opened", "claimed", "replied", "handed_back"]
        assert session.get(HumanRequest, ticket_id).status == "handed_back"
