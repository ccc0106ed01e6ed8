"""Conversation repair end to end: customers who stop, ask something else, correct themselves,
write off-topic, skip questions or verify in the middle of every form, in nb, sv and en,
through the real Rasa server and action server (tests/dialogs/*.yml, run by tests/dialogs.py)."""

from __future__ import annotations

import pytest

from bot.runner import Stack
from tests.dialogs import load_dialogs, run_dialog

pytestmark = pytest.mark.e2e

DIALOGS = load_dialogs()


def test_there_are_dialogs_for_every_pattern_form_and_language() -> None:
    assert len(DIALOGS) >= 60
    for lang in ("nb", "sv", "en"):
        mine = [d for d in DIALOGS if d.lang == lang]
        assert {d.pattern for d in mine} >= {"cancel", "digression", "correction", "off_topic", "skip", "completion"}
        assert {d.form for d in mine} >= {"booking_form", "reschedule_form", "cancel_form", "identify_form"}
    assert len({d.test_id for d in DIALOGS}) == len(DIALOGS)


@pytest.mark.parametrize("dialog", DIALOGS, ids=[d.test_id for d in DIALOGS])
def test_dialog(shared_stack: Stack, dialog) -> None:
    number = DIALOGS.index(dialog) + 1
    run_dialog(dialog, shared_stack.rasa_url, shared_stack.db_url, shared_stack.logs[0], number)  # type: ignore[attr-defined]
