"""The proactive engine end to end: scheduler passes against the real Rasa and action
servers; messages land in the trackers; the customer's yes books the proposed job."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Booking, Invoice, OutboxMessage, Preferences
from bot.db.session import session_scope
from bot.proactive.scheduler import SimulatedCrash, run_pass
from bot.runner import Stack, latest_model, start_stack
from tests.servers import WebChatPage, free_port, seeded_database, webchat_token

pytestmark = pytest.mark.e2e
NOON = datetime.combine(date.today(), datetime.min.time()).replace(hour=12)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("proactive")

    def prepare(session: Session) -> None:
        # Sven's car is ready, but he has withdrawn consent to be contacted.
        session.execute(select(Booking).filter_by(reference="FB-1005")).scalar_one().status = "ready"
        session.get(Preferences, 5).contact_channels = []

    url = seeded_database(work, prepare)
    running = start_stack(free_port(), free_port(), latest_model(), work,
                          extra_env={"DATABASE_URL": url, "BOT_ENV": "dev"})
    running.db_url = url  # type: ignore[attr-defined]
    yield running
    running.stop()


def bot_texts(stack: Stack, customer: str) -> list[str]:
    """What the bot said in the customer's web chat (`webchat:<session>`, where the demo customers
    consented to be contacted)."""
    url = f"{stack.rasa_url}/conversations/webchat:{customer}/tracker?token={stack.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        tracker: dict[str, Any] = json.loads(response.read())
    return [e.get("text") or "" for e in tracker["events"] if e.get("event") == "bot"]


def passes(stack: Stack, now: datetime, **kwargs: Any):
    return run_pass(now, stack.db_url, stack.rasa_url, stack.token, **kwargs)  # type: ignore[attr-defined]


def test_scheduler_end_to_end(stack):
    # A crash between writing the outbox and sending: nothing went out yet ...
    with pytest.raises(SimulatedCrash):
        passes(stack, NOON, holder="crashed", crash_after_enqueue=True)
    assert not any("Jeg kan bestille" in t for t in bot_texts(stack, "demo-coach"))
    # ... and the restarted scheduler sends every message exactly once.
    first = passes(stack, NOON + timedelta(minutes=1), holder="restarted")
    assert first.sent == 4, first.summary()
    coach = bot_texts(stack, "demo-coach")
    assert sum("Jeg kan bestille service og dekkskift" in t for t in coach) == 1
    assert any("Kjøredataene viser" in t for t in coach)
    auto = bot_texts(stack, "demo-auto")
    assert sum("Etter avtalen din har vi bestilt dekkskift" in t for t in auto) == 1
    assert any("Your car is ready (reference FB-1006)" in t for t in bot_texts(stack, "demo-en"))  # her language
    assert bot_texts(stack, "demo-sv") == []  # his car is ready too, but no consent: no message

    second = passes(stack, NOON + timedelta(minutes=2))
    assert second.sent == 0 and sum("Jeg kan bestille" in t for t in bot_texts(stack, "demo-coach")) == 1

    # A new event late in the evening waits for the morning.
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        session.execute(select(Invoice).filter_by(number="F-2026-0106")).scalar_one().due_on = date.today()
    evening = passes(stack, NOON + timedelta(days=1, hours=10))
    assert evening.sent == 0 and evening.waiting >= 1
    assert not any("Reminder: invoice" in t for t in bot_texts(stack, "demo-en"))
    morning = passes(stack, NOON + timedelta(days=2, hours=-3, minutes=30))
    assert morning.sent >= 1
    assert any("Reminder: invoice F-2026-0106" in t for t in bot_texts(stack, "demo-en"))


def test_the_customers_yes_books_the_proposed_job(stack):
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        proposal = session.execute(
            select(OutboxMessage).filter_by(customer_id=3, event_type="service_due")).scalar_one()
        start = datetime.fromisoformat(proposal.payload["start"])
    async def yes_in_the_web_chat() -> str:
        # The answer comes where the proposal went: the customer's web chat (dev mode: demo ids).
        async with WebChatPage(stack) as page:
            assert await page.join("demo-coach", webchat_token(stack, "demo-coach")) == "demo-coach"
            return "\n".join(m.get("text") or "" for m in await page.say("ja takk"))

    answer = asyncio.run(yes_in_the_web_chat())
    assert "Da er det bestilt" in answer and "FB-" in answer
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        record = session.execute(select(Booking).filter_by(customer_id=3)).scalars().one()
        assert record.start == start
        assert sorted(item.service_code for item in record.items) == ["service", "tyre_change"]
        proposal = session.get(OutboxMessage, proposal.id)
        assert proposal.payload["outcome"] == "accepted" and proposal.booking_id == record.id
