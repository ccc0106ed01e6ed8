"""Privacy rights: what we store is shown and exported; an erased customer leaves nothing behind."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import booking, tracker_events
from bot.cli import main as bot_main
from bot.db.models import (
    Booking,
    Customer,
    OfferStat,
    OtpChallenge,
    OutboxMessage,
    PendingErasure,
    Suggestion,
    Vehicle,
    WorkshopSlot,
)
from bot.db.session import session_scope
from bot.handoff.tickets import open_ticket
from bot.privacy import collect, erase, erase_customer, export_json, finish_pending, summary_text
from bot.strategy import outcomes
from tests.conftest import NOW

GUEST_SENDER = "webchat-guest-7f3a"  # a web chat session where the guest verified as the customer


def _customer(session: Session, key: str) -> Customer:
    return session.execute(select(Customer).filter_by(demo_key=key)).scalar_one()


def _add_event(engine: Engine, sender: str, type_name: str, data: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(tracker_events.events_table).values(
            sender_id=sender, type_name=type_name, timestamp=time.time(), data=json.dumps(data),
            intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"), action_name=data.get("name"),
        ))


def _conversation(engine: Engine, sender: str, cid: int | None, text: str) -> None:
    _add_event(engine, sender, "action", {"event": "action", "name": "action_session_start"})
    _add_event(engine, sender, "user", {"event": "user", "text": text, "parse_data": {"intent": {"name": "greet"}}})
    if cid is not None:
        _add_event(engine, sender, "slot", {"event": "slot", "name": "customer_id", "value": str(cid)})
    _add_event(engine, sender, "bot", {"event": "bot", "text": "Hei! Hva kan jeg hjelpe med?"})


@pytest.fixture()
def tracker(tmp_path: Path) -> Engine:
    engine = tracker_events.tracker_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker_events.create_table(engine)
    return engine


def _give_history(session: Session, customer: Customer, tracker: Engine) -> dict[str, Any]:
    """Bookings, offers, a proactive message, a ticket, a verification and conversations."""
    vehicle = session.execute(select(Vehicle).filter_by(customer_id=customer.id)).scalars().first()
    booking.ensure_calendar(session, NOW.date())
    start = booking.free_times(session, ["service"], NOW)[0]
    record = booking.book(session, customer.id, ["service"], start, NOW, want_loaner=True,
                          vehicle_id=vehicle.id, channel="webchat")
    for code, status in (("polish_half_price", "accepted"), ("loaner_again", "declined")):
        row = outcomes.record_offered(
            session, customer.id, code, f"draft:{record.id}", strategy="curated", channel="webchat", lang="nb",
            reason=f"fordi {customer.first_name} kjører mye", data_used=[{"source": "vehicle", "fact": "mileage_km"}],
            price_nok=1000, now=NOW,
        )
        row.status = status
    session.add(OutboxMessage(
        customer_id=customer.id, event_type="service_due", period_key="2026-12", strategy="coach", action="suggest",
        channel="webchat", recipient=customer.demo_key, lang="nb", payload={"registration": vehicle.registration},
        status="sent", created_at=NOW,
    ))
    open_ticket(session, f"webchat:{GUEST_SENDER}", "request_human", "nb", NOW, customer.id,
                sender_id=GUEST_SENDER, channel="webchat", summary={"name": customer.first_name})
    session.add(OtpChallenge(sender_key=f"webchat:{GUEST_SENDER}", contact=customer.phone, code_hash="x$y",
                             expires_at=NOW + timedelta(minutes=10), verified_at=NOW))
    session.flush()
    _conversation(tracker, customer.demo_key, customer.id, f"Hei, det er {customer.first_name}, ring {customer.phone}")
    _conversation(tracker, GUEST_SENDER, customer.id, f"min bil er {vehicle.registration}, mail {customer.email}")
    return {"booking_id": record.id, "slot_id": record.slot_id, "registration": vehicle.registration}


def _contains(text: str, needle: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle.lower())}(?!\w)", text) is not None


def _scan_profile_db(url: str, needles: list[str], customer_id: int) -> list[str]:
    """Every table, every row: the customer's id in a customer FK column, or any needle in any value."""
    engine = sa.create_engine(url, future=True)
    meta = sa.MetaData()
    meta.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            fk_columns = [
                c.name for c in table.columns if any(fk.column.table.name == "customers" for fk in c.foreign_keys)
            ]
            if table.name == "customers":
                fk_columns.append("id")
            for row in conn.execute(sa.select(table)).mappings():
                if any(row[c] == customer_id for c in fk_columns):
                    found.append(f"{table.name}: customer id")
                text = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False).lower()
                found += [f"{table.name}: {n}" for n in needles if _contains(text, n)]
    engine.dispose()
    return found


def _scan_tracker(engine: Engine, needles: list[str], senders: list[str]) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tracker_events.events_table)).mappings().all()
    return [f"events: {n}" for r in rows for n in needles if _contains(json.dumps(dict(r)).lower(), n)] + [
        f"events: sender {r['sender_id']}" for r in rows if r["sender_id"] in senders
    ]


def test_show_my_data_collects_everything_linked_to_the_customer(session: Session, tracker: Engine) -> None:
    customer = _customer(session, "demo-curated")
    _give_history(session, customer, tracker)
    data = collect(session, customer.id, tracker)
    assert data["customer"]["email"] == customer.email
    assert {c["sender_id"] for c in data["conversations"]} >= {"demo-curated", GUEST_SENDER}
    assert len(data["offers"]) == 2 and data["offers"][0]["reason"].startswith("fordi")
    assert data["bookings"] and data["bookings"][-1]["items"][0]["service_code"] == "service"
    assert len(data["handoff_tickets"]) == 1 and data["handoff_tickets"][0]["events"]
    assert len(data["proactive_messages"]) == 1
    assert data["verification_codes"] and "code_hash" not in data["verification_codes"][0]
    assert data["preferences"]["data_sharing"] == "history"


def test_show_my_data_summary_is_readable_in_each_language(session: Session, tracker: Engine) -> None:
    customer = _customer(session, "demo-curated")
    _give_history(session, customer, tracker)
    data = collect(session, customer.id, tracker)
    texts = {lang: summary_text(data, lang) for lang in ("nb", "sv", "en")}
    assert texts["nb"].startswith("Dette har vi lagret om deg")
    assert texts["sv"].startswith("Det här har vi sparat om dig")
    assert "Offers we made you: 2 (1 accepted, 1 declined)" in texts["en"]
    assert "Karoline Berg" in texts["en"] and "Conversations: 2" in texts["en"]
    assert all(len(t) < 1500 for t in texts.values())  # a summary, not a dump


def test_export_json_is_stable_and_uses_iso_dates(session: Session, tracker: Engine) -> None:
    customer = _customer(session, "demo-curated")
    _give_history(session, customer, tracker)
    data = collect(session, customer.id, tracker)
    text = export_json(data)
    parsed = json.loads(text)
    assert parsed["format"] == "fjordbil-privacy-export/1"
    assert datetime.fromisoformat(parsed["bookings"][-1]["start"])
    assert export_json(json.loads(text)) == text  # sorted keys, nothing lost in a round trip


def test_erase_leaves_nothing_of_the_customer_in_any_table(db_url: str, tracker: Engine) -> None:
    with session_scope(db_url) as session:
        customer = _customer(session, "demo-curated")
        cid = customer.id
        facts = _give_history(session, customer, tracker)
        needles = [customer.first_name, customer.last_name, customer.phone, customer.email,
                   facts["registration"], "demo-curated", GUEST_SENDER, "fordi Karoline"]
        other = _customer(session, "demo-coach")
        other_before = collect(session, other.id, tracker)
        slot_booked_before = session.get(WorkshopSlot, facts["slot_id"]).booked
    _conversation(tracker, "demo-coach", other.id, "Hei fra Ola")
    rates_before = {(r.offer_code, r.segment): r for r in _rates(db_url)}
    before = " ".join(_scan_profile_db(db_url, needles, cid) + _scan_tracker(tracker, needles, []))
    assert [n for n in needles if n not in before] == [] and "customer id" in before  # the scan sees it all

    report = erase_customer(cid, tracker, url=db_url, now=NOW)

    assert report.deleted["customers"] == 1 and report.deleted["suggestions"] == 2
    assert report.tracker_events >= 8 and report.pending_conversations == 0
    assert "Karoline" not in report.summary()
    assert _scan_profile_db(db_url, needles, cid) == []
    assert _scan_tracker(tracker, needles, ["demo-curated", GUEST_SENDER]) == []
    with session_scope(db_url) as session:
        kept = session.get(Booking, facts["booking_id"])
        assert kept is not None and kept.customer_id is None and kept.status == "cancelled"
        assert session.get(WorkshopSlot, facts["slot_id"]).booked == slot_booked_before - 1
        assert session.execute(select(sa.func.sum(OfferStat.count))).scalar() == 2
        other_after = collect(session, other.id, tracker)
    assert other_after["conversations"][0]["events"]  # other customers untouched
    assert {k: v for k, v in other_after.items() if k not in ("generated_at", "conversations")} == {
        k: v for k, v in other_before.items() if k not in ("generated_at", "conversations")
    }
    assert {(r.offer_code, r.segment): r for r in _rates(db_url)} == rates_before  # aggregates survive


def _rates(url: str) -> list[outcomes.OfferRate]:
    with session_scope(url) as session:
        return outcomes.acceptance_rates(session, "strategy")


def test_erase_from_inside_a_conversation_waits_before_deleting_it(db_url: str, tracker: Engine) -> None:
    with session_scope(db_url) as session:
        customer = _customer(session, "demo-respond")
        cid = customer.id
    _conversation(tracker, "demo-respond", cid, "slett alt om meg")
    report = erase_customer(cid, tracker, url=db_url, current_sender="demo-respond", now=NOW)
    assert report.pending_conversations == 1
    assert tracker_events.conversation(tracker, "demo-respond")  # Rasa still has to store the turn
    with session_scope(db_url) as session:
        assert finish_pending(session, tracker, NOW + timedelta(seconds=5)) == 0
        assert finish_pending(session, tracker, NOW + timedelta(minutes=2)) > 0
        assert session.execute(select(PendingErasure)).first() is None
    assert tracker_events.conversation(tracker, "demo-respond") == []


def test_erase_of_an_unknown_customer_fails_without_changes(session: Session, tracker: Engine) -> None:
    with pytest.raises(LookupError):
        erase(session, 999_999, tracker)
    assert session.execute(select(sa.func.count()).select_from(Suggestion)).scalar() is not None


def test_bot_export_and_erase_commands(db_url: str, tracker: Engine, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", str(tracker.url))
    out = tmp_path / "export.json"
    assert bot_main(["export", "demo-sv", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["customer"]["first_name"] == "Sven"
    monkeypatch.setattr("builtins.input", lambda prompt="": "no")
    assert bot_main(["erase", "demo-sv"]) == 1
    with session_scope(db_url) as session:
        assert session.execute(select(Customer).filter_by(demo_key="demo-sv")).scalar_one_or_none() is not None
    assert bot_main(["erase", "demo-sv", "--yes"]) == 0
    assert "deleted:" in capsys.readouterr().out
    with session_scope(db_url) as session:
        assert session.execute(select(Customer).filter_by(demo_key="demo-sv")).scalar_one_or_none() is None


async def test_desk_export_downloads_the_customer_json_for_agents_only(
    db_url: str, tracker: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.db.models import TicketEvent
    from bot.handoff import agents
    from tests.test_desk import client, login

    monkeypatch.setenv("TRACKER_DATABASE_URL", str(tracker.url))
    with session_scope(db_url) as session:
        agents.add_agent(session, "kari", "Kari Desk", "a-long-desk-password")
        agents.add_agent(session, "tina", "Tina Trainer", "a-long-desk-password", role="trainer")
        cid = _customer(session, "demo-coach").id
        ticket, _ = open_ticket(session, "rest:demo-coach", "request_human", "nb", NOW, cid, sender_id="demo-coach")
        ticket_id = ticket.id
    c = await client()
    try:
        assert (await c.get(f"/desk/customers/{cid}/export", allow_redirects=False)).status == 302
        await login(c)
        page = await (await c.get(f"/desk/ticket/{ticket_id}")).text()
        assert f"/desk/customers/{cid}/export?ticket={ticket_id}" in page
        response = await c.get(f"/desk/customers/{cid}/export?ticket={ticket_id}")
        assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
        data = json.loads(await response.text())
        assert data["customer"]["last_name"] == "Hansen" and data["format"] == "fjordbil-privacy-export/1"
        assert (await c.get("/desk/customers/999999/export")).status == 404
    finally:
        await c.close()
    trainer = await client()
    try:
        await login(trainer, "tina")
        assert (await trainer.get(f"/desk/customers/{cid}/export")).status == 403
    finally:
        await trainer.close()
    with session_scope(db_url) as session:
        audit = session.execute(select(TicketEvent).filter_by(ticket_id=ticket_id, action="privacy_export")).scalars()
        assert [e.detail for e in audit] == [{"customer_id": cid}]


def test_scheduler_pass_completes_a_pending_conversation_erasure(
    db_url: str, tracker: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.proactive.scheduler import run_pass

    monkeypatch.setenv("TRACKER_DATABASE_URL", str(tracker.url))
    _conversation(tracker, "erased-while-talking", None, "slett alt")
    _conversation(tracker, "still-talking", None, "hei")
    with session_scope(db_url) as session:
        session.add(PendingErasure(sender_id="erased-while-talking", due_at=datetime.now() - timedelta(seconds=1)))
        session.add(PendingErasure(sender_id="still-talking", due_at=datetime.now() + timedelta(minutes=1)))
    run_pass(now=NOW, url=db_url, rasa_url="http://127.0.0.1:9", token="t")
    assert tracker_events.conversation(tracker, "erased-while-talking") == []
    assert tracker_events.conversation(tracker, "still-talking")  # its grace period is not over
    with session_scope(db_url) as session:
        assert [p.sender_id for p in session.execute(select(PendingErasure)).scalars()] == ["still-talking"]


async def test_delete_my_data_needs_a_verified_customer_and_asks_with_buttons(
    db_url: str, tracker: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions.privacy import ActionDeleteMyData
    from tests.actions_support import responses, run
    from tests.actions_support import tracker as make_tracker

    monkeypatch.setenv("TRACKER_DATABASE_URL", str(tracker.url))
    events, _ = await run(ActionDeleteMyData(), make_tracker("guest-1", "slett alt om meg", "delete_my_data"))
    assert {"event": "followup", "name": "identify_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]
    events, dispatcher = await run(ActionDeleteMyData(), make_tracker(
        "demo-en", "delete all my data", "delete_my_data", slots={"customer_id": "6", "language": "en"}))
    assert responses(dispatcher) == ["utter_confirm_delete_my_data"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["Yes", "No"]
    assert {"event": "slot", "name": "pending_erasure", "value": "6"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


async def test_delete_my_data_no_deletes_nothing_and_yes_erases_with_one_confirmation(
    db_url: str, tracker: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions.preferences import ActionYesNo
    from tests.actions_support import responses, run
    from tests.actions_support import tracker as make_tracker

    monkeypatch.setenv("TRACKER_DATABASE_URL", str(tracker.url))
    _conversation(tracker, "demo-en", 6, "delete all my data")
    asked = {"customer_id": "6", "language": "en", "pending_erasure": "6"}
    events, dispatcher = await run(ActionYesNo(), make_tracker("demo-en", "no", "deny", slots=asked))
    assert responses(dispatcher) == ["utter_data_kept"]
    with session_scope(db_url) as session:
        assert session.get(Customer, 6) is not None
    events, dispatcher = await run(ActionYesNo(), make_tracker("demo-en", "yes", "affirm", slots=asked))
    assert responses(dispatcher) == ["utter_data_erased"] and dispatcher.messages[0]["removed"] > 5
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"}["customer_id"] is None
    with session_scope(db_url) as session:
        assert session.get(Customer, 6) is None
    assert tracker_events.conversation(tracker, "demo-en")  # still running: deleted after the turn
    with session_scope(db_url) as session:
        assert finish_pending(session, tracker, datetime.now() + timedelta(minutes=2)) > 0
    assert tracker_events.conversation(tracker, "demo-en") == []
