"""Handoff tickets and desk accounts against a real database: priority, queue order, one
claim per ticket, audit, expected wait and opening hours, argon2 logins with lockout; and
action_handoff pausing the bot with a summary for the agent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from actions.handoff import ActionHandoff
from bot import booking
from bot.db.models import Agent, HumanRequest
from bot.handoff import agents, tickets
from tests.actions_support import responses, run, tracker, user_event
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(booking, "now_local", lambda: NOW)


def open_one(session, key: str, reason: str = "request_human", customer_id: int | None = None, at=NOW):
    return tickets.open_ticket(session, key, reason, "nb", at, customer_id, sender_id=key, channel="rest")[0]


def test_priority_complaints_then_cars_in_the_workshop_then_others(session):
    normal = open_one(session, "a", customer_id=1)
    in_workshop = open_one(session, "b", customer_id=4, at=NOW + timedelta(minutes=1))  # FB-1004 in progress
    complaint = open_one(session, "c", "complain", customer_id=1, at=NOW + timedelta(minutes=2))
    assert (complaint.priority, in_workshop.priority, normal.priority) == (0, 1, 2)
    assert [t.sender_key for t in tickets.queue(session)] == ["c", "b", "a"]


def test_one_open_ticket_per_conversation_and_a_complaint_raises_it(session):
    first = open_one(session, "a")
    again, created = tickets.open_ticket(session, "a", "complain", "nb", NOW, None)
    assert again.id == first.id and not created and again.priority == 0


def test_only_one_agent_can_claim_and_everything_is_audited(session):
    kari = agents.add_agent(session, "kari", "Kari", "long-enough-password")
    ola = agents.add_agent(session, "ola", "Ola", "long-enough-password")
    ticket = open_one(session, "a")
    assert tickets.claim(session, ticket.id, kari.id, NOW)
    assert not tickets.claim(session, ticket.id, ola.id, NOW)
    assert not tickets.record_reply(session, ticket.id, ola.id, NOW, 10)  # not his ticket
    assert tickets.record_reply(session, ticket.id, kari.id, NOW, 42)
    assert tickets.transfer(session, ticket.id, kari.id, "ola", NOW)
    assert tickets.finish(session, ticket.id, ola.id, NOW, handed_back=True).status == "handed_back"
    trail = [(e.action, e.agent_id) for e in tickets.history(session, ticket.id)]
    assert trail == [("opened", None), ("claimed", kari.id), ("replied", kari.id), ("transferred", kari.id),
                     ("handed_back", ola.id)]
    assert tickets.history(session, ticket.id)[2].detail == {"characters": 42}  # never the text


def test_expected_wait_from_queue_and_agents_online(session):
    for n in range(3):
        open_one(session, f"k{n}", at=NOW + timedelta(minutes=n))
    last = session.execute(select(HumanRequest).filter_by(sender_key="k2")).scalar_one()
    wait = tickets.expected_wait(session, last, NOW)
    assert (wait.position, wait.minutes, wait.open_now) == (3, 18, True)  # 3 x 6 min, one agent
    for name in ("a1", "a2", "a3"):
        agents.seen(session, agents.add_agent(session, name, name, "long-enough-password").id, NOW)
    assert tickets.expected_wait(session, last, NOW).minutes == 6


def test_outside_opening_hours_the_customer_is_told_when(session):
    ticket = open_one(session, "late")
    saturday_evening = datetime(2026, 11, 28, 18, 0)
    wait = tickets.expected_wait(session, ticket, saturday_evening)
    assert not wait.open_now and wait.opens_at == datetime(2026, 11, 30, 7, 30)  # Monday morning


def test_customer_service_hours_can_differ_from_the_workshops(session):
    from bot.db.models import Setting

    session.merge(Setting(key="support_hours", value={"sat": ["09:00", "20:00"], "sun": ["12:00", "16:00"]}))
    ticket = open_one(session, "weekend")
    assert tickets.expected_wait(session, ticket, datetime(2026, 11, 28, 18, 0)).open_now  # workshop closed at 14
    sunday = tickets.expected_wait(session, ticket, datetime(2026, 11, 28, 21, 0))
    assert not sunday.open_now and sunday.opens_at == datetime(2026, 11, 29, 12, 0)


def test_login_with_argon2_and_lockout(session):
    agent = agents.add_agent(session, "kari", "Kari", "correct horse battery")
    assert agent.password_hash.startswith("$argon2")
    assert agents.login(session, "kari", "correct horse battery", NOW).id == agent.id
    assert agents.login(session, "nobody", "whatever-password", NOW) is None
    for _ in range(agents.MAX_FAILED):
        assert agents.login(session, "kari", "wrong", NOW) is None
    assert agents.login(session, "kari", "correct horse battery", NOW) is None  # locked
    assert agents.login(session, "kari", "correct horse battery", NOW + agents.LOCKOUT + timedelta(seconds=1))


def test_accounts_need_a_good_password_a_known_role_and_a_free_name(session):
    with pytest.raises(ValueError):
        agents.add_agent(session, "x", "X", "short")
    with pytest.raises(ValueError):
        agents.add_agent(session, "x", "X", "long-enough-password", role="admin")
    agents.add_agent(session, "x", "X", "long-enough-password")
    with pytest.raises(ValueError):
        agents.add_agent(session, "x", "X", "long-enough-password")
    assert session.execute(select(Agent)).scalars().one().role == "agent"


async def test_handoff_pauses_with_a_summary_and_the_expected_wait(session):
    history = [user_event("book_service"), user_event("nlu_fallback")]
    trk = tracker("demo-auto", "jeg vil snakke med et menneske", "request_human", history=history,
                  slots={"customer_id": "4", "service_types": ["service"], "language": "nb"})
    events, dispatcher = await run(ActionHandoff(), trk)
    assert any(e["event"] == "pause" for e in events)
    assert responses(dispatcher) == ["utter_handoff_wait"]
    assert dispatcher.messages[0]["position"] == 1
    ticket = session.execute(select(HumanRequest)).scalar_one()
    assert (ticket.priority, ticket.channel, ticket.sender_id) == (1, "rest", "demo-auto")
    assert ticket.summary["slots"]["service_types"] == ["service"]
    assert ticket.summary["booking"]["reference"] == "FB-1004"
    assert ticket.summary["intents"]["request_human"] == 1


async def test_a_second_failed_booking_hands_over_to_a_person(session):
    from actions.booking import ActionBookService
    from bot.db.models import WorkshopSlot

    booking.ensure_calendar(session, NOW.date())
    slot = session.execute(select(WorkshopSlot).filter_by(resource="workshop", start=NOW.replace(day=24, hour=10)))
    full = slot.scalar_one()
    full.booked = full.capacity
    session.commit()
    slots = {"customer_id": "1", "service_types": ["service"], "booking_time": "2026-11-24T10:00:00",
             "booking_confirmed": True, "loaner_car": False, "language": "nb"}
    events, first = await run(ActionBookService(), tracker("demo-respond", "ja", "affirm", slots=slots))
    assert responses(first) == ["utter_booking_slot_lost"] and not any(e["event"] == "pause" for e in events)
    events, second = await run(ActionBookService(), tracker(
        "demo-respond", "ja", "affirm", slots={**slots, "booking_failures": 1.0}))
    assert responses(second) == ["utter_booking_slot_lost", "utter_handoff_wait"]
    assert any(e["event"] == "pause" for e in events)
    assert session.execute(select(HumanRequest.reason)).scalar_one() == "booking_failed"


async def test_an_action_error_apologises_and_hands_over(session, monkeypatch):
    from actions.info import ActionOpeningHours

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.catalog.opening_hours", broken)
    events, dispatcher = await run(ActionOpeningHours(), tracker("demo-sv", "når åpner dere?", "ask_opening_hours"))
    assert responses(dispatcher) == ["utter_technical_problem", "utter_handoff_wait"]
    assert any(e["event"] == "pause" for e in events)
    assert session.execute(select(HumanRequest.reason)).scalar_one() == "error"
