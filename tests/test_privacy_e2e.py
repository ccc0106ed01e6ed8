"""Privacy through the running assistant: a customer sees their data, erases it from inside a
conversation, and afterwards neither the profile database, the tracker store nor any log
file of the stack holds anything of them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot import tracker_events
from bot.db.models import Customer, Vehicle
from bot.db.session import session_scope
from bot.privacy import finish_pending
from bot.runner import Stack, latest_model, start_stack
from tests.servers import free_port, seeded_database
from tests.test_e2e import buttons, say, texts
from tests.test_privacy import _scan_profile_db, _scan_tracker

pytestmark = pytest.mark.e2e

GUEST = "privacy-guest-e2e"
SENTENCE = "flamingoen Gudrun danser tango på taket hver torsdag"
OWN_PHONE, OWN_EMAIL = "48 11 22 33", "ola.privat.e2e@example.org"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("privacy-e2e")
    url = seeded_database(work)
    running = start_stack(
        free_port(), free_port(), latest_model(), work,
        extra_env={"DATABASE_URL": url, "BOT_ENV": "dev", "LOG_LEVEL": "DEBUG"},
    )
    running.db_url = url  # type: ignore[attr-defined]
    running.tracker = tracker_events.tracker_engine(f"sqlite:///{work / 'tracker.db'}")  # type: ignore[attr-defined]
    yield running
    running.stop()


def _customer_id(stack: Stack, key: str) -> int | None:
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        found = session.execute(select(Customer).filter_by(demo_key=key)).scalar_one_or_none()
        return found.id if found else None


def test_show_my_data_sends_a_readable_summary_and_offers_a_copy(stack: Stack) -> None:
    replies = say(stack, "demo-en", "what data do you have about me?")
    assert "Here's what we store about you" in texts(replies) and "Emma Smith" in texts(replies)
    assert any(b["payload"] == "/request_human" for b in buttons(replies))


def test_delete_my_data_asks_first_and_no_deletes_nothing(stack: Stack) -> None:
    asked = say(stack, "demo-sv", "radera alla mina uppgifter")
    assert {b["payload"] for b in buttons(asked)} == {"/affirm", "/deny"}
    assert "Det går inte att ångra" in texts(asked)
    assert "Okej, jag raderar ingenting" in texts(say(stack, "demo-sv", "/deny"))
    assert _customer_id(stack, "demo-sv") is not None


def test_delete_my_data_erases_everything_and_logs_keep_no_personal_data(stack: Stack) -> None:
    cid = _customer_id(stack, "demo-coach")
    assert cid is not None
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        registrations = list(session.execute(select(Vehicle.registration).filter_by(customer_id=cid)).scalars())
    assert registrations
    # The customer's own conversation (a known REST identity), with data of their own in it.
    assert "Dette har vi lagret om deg" in texts(say(stack, "demo-coach", "hvilke data har dere om meg?"))
    say(stack, "demo-coach", f"hei, {SENTENCE}")
    say(stack, "demo-coach", f"ny e-post: {OWN_EMAIL} og nytt nummer {OWN_PHONE}")
    # A second conversation: a guest who identifies as the same customer, then erases.
    say(stack, GUEST, "slett alle dataene mine")
    say(stack, GUEST, "934 56 789")
    code = re.findall(r"one-time code: (\d{6})", stack.logs[0].read_text())[-1]
    asked = say(stack, GUEST, code)
    assert {b["payload"] for b in buttons(asked)} >= {"/affirm", "/deny"}, texts(asked)
    done = texts(say(stack, GUEST, "/affirm"))
    assert "dataene dine er slettet" in done

    # Rasa stores the last turn after the action; the action server deletes it a moment later.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and tracker_events.conversation(stack.tracker, f"rest:{GUEST}"):  # type: ignore[attr-defined]
        time.sleep(0.5)
    time.sleep(4)  # the action server's later attempt, too
    assert _scan_tracker(stack.tracker, [SENTENCE, OWN_EMAIL, "+4793456789"],
                          ["rest:demo-coach", f"rest:{GUEST}"]) == []  # type: ignore[attr-defined]
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        # The durable record of the in-conversation erasure, completed by the next scheduler pass.
        finish_pending(session, stack.tracker, datetime.now() + timedelta(minutes=2))  # type: ignore[attr-defined]
    needles = ["Ola", "Hansen", "+4793456789", "ola.hansen@example.no", *registrations, SENTENCE, OWN_EMAIL,
               "demo-coach", GUEST]
    assert _scan_profile_db(stack.db_url, needles, cid) == []  # type: ignore[attr-defined]
    assert _customer_id(stack, "demo-curated") is not None  # others untouched

    # The conversation can go on as a new one: nothing of the old turn comes back.
    say(stack, GUEST, "hei")
    assert all(SENTENCE not in e.text for e in tracker_events.conversation(stack.tracker, f"rest:{GUEST}"))  # type: ignore[attr-defined]

    logs = "\n".join(path.read_text(errors="replace") for path in stack.logs)
    assert "DEBUG" in logs and "processor" in logs  # the stack did log at debug level
    for secret in (SENTENCE, "Gudrun", OWN_EMAIL, "ola.hansen@example.no", OWN_PHONE, "48112233", "93456789",
                   "934 56 789", "+4793456789"):
        assert secret not in logs, secret
