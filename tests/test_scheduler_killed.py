"""The scheduler killed in the middle of a pass (SIGKILL: no `finally` runs) after it took a
message for sending: nothing is sent twice, nothing is lost. The next scheduler waits for the
dead one's lock and the message's lease to run out, then sends the message exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.config import PROJECT_ROOT
from bot.db.models import OutboxMessage
from bot.db.session import session_scope
from bot.proactive.scheduler import run_pass
from tests.conftest import NOW
from tests.fake_rasa import FakeRasa, start_fake_rasa

KILLED_MID_PASS = """
import os, signal, sys
from datetime import datetime
from bot.db.session import session_scope
from bot.proactive import outbox
from bot.proactive.scheduler import PassReport, create_messages, detect_all, proactive_settings, scheduler_lock
url, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
with scheduler_lock(url, "doomed", now) as acquired:
    assert acquired
    with session_scope(url) as session:
        create_messages(session, detect_all(session, now), now, proactive_settings(session), PassReport())
    with session_scope(url) as session:
        row_id = outbox.due_rows(session, now)[0].id
        assert outbox.claim(session, row_id, now)
    print(row_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # killed while "sending": no cleanup of any kind
"""


@pytest.fixture()
def rasa() -> Iterator[FakeRasa]:
    fake, stop = start_fake_rasa()
    yield fake
    stop()


def sends_of(rasa: FakeRasa, row_id: int) -> int:
    return sum(1 for call in rasa.calls if call.get("entities", {}).get("proactive_id") == str(row_id))


def test_scheduler_killed_mid_pass_sends_the_claimed_message_exactly_once_after_the_lease(db_url, rasa):
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_PASS, db_url, NOW.isoformat()],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "DATABASE_URL": db_url},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    row_id = int(killed.stdout.split()[0])
    with session_scope(db_url) as session:
        row = session.get(OutboxMessage, row_id)
        assert row.status == "sending" and row.lease_until > NOW

    soon = run_pass(NOW + timedelta(minutes=1), db_url, rasa.url, "tok", holder="next")
    assert soon.locked and rasa.calls == []  # the dead scheduler may still be sending: wait
    later = run_pass(NOW + timedelta(minutes=11), db_url, rasa.url, "tok", holder="next")
    assert not later.locked and later.sent >= 1 and sends_of(rasa, row_id) == 1
    run_pass(NOW + timedelta(minutes=12), db_url, rasa.url, "tok", holder="third")
    assert sends_of(rasa, row_id) == 1
    with session_scope(db_url) as session:
        assert session.get(OutboxMessage, row_id).status == "sent"
