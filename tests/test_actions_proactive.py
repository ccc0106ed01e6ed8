"""action_proactive_message and the answer to a proposal, with real trackers and database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.preferences import ActionYesNo
from actions.proactive import ActionProactiveMessage
from bot import booking
from bot.db.models import Booking, OutboxMessage, WorkshopSlot
from bot.db.session import session_scope
from bot.proactive import outbox
from tests.actions_support import entity, responses, run, slots_set, tracker
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)


def proposal(db_url: str) -> int:
    with session_scope(db_url) as session:
        row = outbox.enqueue(
            session, 3, "service_due", "3:x", status="sent", action="suggest", channel="webchat",
            recipient="demo-coach", lang="nb",
            payload={"services": ["service", "tyre_change"], "start": "2026-11-25T09:00:00", "by": "distance",
                     "km": 44200, "vehicle_id": 3},
        )
        return row.id


def trigger(sender: str, outbox_id: int, lang: str = "nb"):
    return tracker(sender, "", "EXTERNAL_proactive", [entity("proactive_id", str(outbox_id))],
                   slots={"customer_id": "3", "language": lang})


async def test_a_proposal_says_why_what_when_and_asks(db_url):
    row_id = proposal(db_url)
    events, dispatcher = await run(ActionProactiveMessage(), trigger("demo-coach", row_id))
    assert responses(dispatcher) == ["utter_proactive_reason_km", "utter_proactive_suggest", "utter_winter_checklist"]
    suggest = dispatcher.messages[1]
    assert suggest["services"] == "service og dekkskift" and suggest["price"] == "4\u00a0380\u00a0kr"
    assert [b["payload"] for b in suggest["buttons"]] == ["/affirm", "/deny"]
    assert slots_set(events) == {"pending_proactive": str(row_id)}


async def test_another_conversation_cannot_show_someone_elses_message(db_url):
    row_id = proposal(db_url)
    events, dispatcher = await run(ActionProactiveMessage(), trigger("demo-respond", row_id))
    assert dispatcher.messages == [] and events == []


async def test_yes_books_the_proposal_and_no_records_the_answer(db_url):
    row_id = proposal(db_url)
    yes = tracker("demo-coach", "ja takk", "affirm", slots={"customer_id": "3", "pending_proactive": str(row_id)})
    events, dispatcher = await run(ActionYesNo(), yes)
    assert responses(dispatcher) == ["utter_booking_confirmed"] and slots_set(events)["pending_proactive"] is None
    with session_scope(db_url) as session:
        row = session.get(OutboxMessage, row_id)
        record = session.get(Booking, row.booking_id)
        assert row.payload["outcome"] == "accepted" and record.start.isoformat() == "2026-11-25T09:00:00"


async def test_no_thanks_is_recorded_and_nothing_is_booked(db_url):
    row_id = proposal(db_url)
    no = tracker("demo-coach", "nei takk", "deny", slots={"customer_id": "3", "pending_proactive": str(row_id)})
    _, dispatcher = await run(ActionYesNo(), no)
    assert responses(dispatcher) == ["utter_proactive_declined"]
    with session_scope(db_url) as session:
        assert session.get(OutboxMessage, row_id).payload["outcome"] == "declined"
        assert session.execute(select(Booking).filter_by(customer_id=3)).scalars().all() == []


async def test_a_taken_time_falls_back_to_the_booking_form(db_url):
    row_id = proposal(db_url)
    with session_scope(db_url) as session:
        booking.ensure_calendar(session, NOW.date())
        slot = session.execute(select(WorkshopSlot).filter_by(
            resource="workshop", start=NOW.replace(day=25, hour=9))).scalar_one()
        slot.booked = slot.capacity
    yes = tracker("demo-coach", "ja", "affirm", slots={"customer_id": "3", "pending_proactive": str(row_id)})
    events, dispatcher = await run(ActionYesNo(), yes)
    assert responses(dispatcher) == ["utter_booking_slot_lost"]
    assert slots_set(events)["service_types"] == ["service", "tyre_change"]
    assert any(e.get("event") == "followup" and e.get("name") == "booking_form" for e in events)
