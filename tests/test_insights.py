"""The insights figures on a hand-built tracker store (events in the shape Rasa 3.6 writes)
and a seeded profile database with real tickets, outbox rows and suggestions; the HTML
report with its embedded charts; and a report on an empty store that says so."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Booking, Customer
from bot.handoff import tickets
from bot.insights import metrics
from bot.insights.conversations import Period, conversation_stats
from bot.insights.nlu import last_confusion
from bot.insights.report import render_report, write_report
from bot.proactive import outbox
from bot.strategy import outcomes
from tests.conftest import NOW
from tests.insights_store import TrackerStore, stamp

OSLO = ZoneInfo("Europe/Oslo")
WEEK = Period(date(2026, 11, 17), date(2026, 11, 23))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def at(day: int, hour: int, minute: int = 0) -> float:
    return stamp(datetime(2026, 11, day, hour, minute))


@pytest.fixture()
def tracker(tmp_path: Path) -> sa.engine.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    store = TrackerStore(engine)
    # 20 Nov: a contained REST conversation and a Telegram one handed to a person.
    store.session("a", at(20, 9))
    store.turn("a", at(20, 9, 1), "hei", "greet", "action_greet")
    store.turn("a", at(20, 9, 2), "hva koster dekkskift?", "ask_price", "action_price", language="nb")
    store.session("b", at(20, 10), "telegram")
    store.turn("b", at(20, 10, 1), "spela musik", "out_of_scope", "utter_out_of_scope", "telegram", "sv")
    store.turn("b", at(20, 10, 2), "hmm", "nlu_fallback", "action_default_fallback", "telegram")
    store.user("b", at(20, 10, 3), "I want a human", "request_human", "telegram", "en")
    store.handoff("b", at(20, 10, 3) + 0.1)
    # 22 Nov: "a" comes back in a new session on the web chat; "c" is not understood.
    store.session("a", at(22, 14), "socketio")
    store.turn("a", at(22, 14, 1), "I want to book a service", "book_service", "booking_form", "socketio", "en")
    store.session("c", at(22, 15))
    store.turn("c", at(22, 15, 1), "xyz", "nlu_fallback", "action_default_fallback")
    # A proactive message nobody answered is not a conversation.
    store.session("d", at(22, 16), "telegram")
    store.user("d", at(22, 16), "/EXTERNAL_proactive", "EXTERNAL_proactive", "telegram")
    store.action("d", at(22, 16, 1), "action_proactive_message")
    # 00:30 on 23 Nov in Oslo is still 22 Nov in UTC: it counts on the 23rd.
    store.session("f", at(23, 0, 30))
    store.turn("f", at(23, 0, 31), "hallo", "greet", "action_greet")
    # Before the period.
    store.session("e", at(10, 12))
    store.turn("e", at(10, 12, 1), "hei", "greet", "action_greet")
    store.save()
    return engine


def test_conversations_are_sessions_with_a_customer_message_per_local_day_and_channel(tracker):
    stats = conversation_stats(tracker, WEEK, OSLO)
    assert stats.conversations == 5
    assert stats.per_day == {
        date(2026, 11, 20): Counter({"rest": 1, "telegram": 1}),
        date(2026, 11, 22): Counter({"socketio": 1, "rest": 1}),
        date(2026, 11, 23): Counter({"rest": 1}),
    }
    assert stats.channels == ["rest", "socketio", "telegram"]


def test_containment_handoff_and_fallback_rates(tracker):
    stats = conversation_stats(tracker, WEEK, OSLO)
    assert (stats.handed_off, stats.contained) == (1, 4)
    assert stats.containment_rate == pytest.approx(0.8)
    assert stats.handoff_rate == pytest.approx(0.2)
    assert (stats.fallbacks, stats.user_messages) == (2, 8)
    assert stats.fallback_rate == pytest.approx(0.25)


def test_intents_by_language_use_the_detected_language_else_the_conversations_language(tracker):
    stats = conversation_stats(tracker, WEEK, OSLO)
    assert stats.intents == {
        "greet": Counter({"ukjent": 2}),
        "ask_price": Counter({"nb": 1}),
        "out_of_scope": Counter({"sv": 1}),
        "nlu_fallback": Counter({"sv": 1, "ukjent": 1}),  # "hmm" follows a Swedish message
        "request_human": Counter({"en": 1}),
        "book_service": Counter({"en": 1}),
    }
    assert stats.intents_by_volume()[0][0] == "greet"


def test_a_shorter_period_sees_only_its_days(tracker):
    stats = conversation_stats(tracker, Period(date(2026, 11, 22), date(2026, 11, 22)), OSLO)
    assert stats.conversations == 2 and stats.handed_off == 0 and stats.fallbacks == 1


def test_a_missing_tracker_table_reads_as_no_conversations(tmp_path: Path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'none.db'}", future=True)
    assert conversation_stats(engine, WEEK, OSLO).conversations == 0


def customer(session: Session, key: str) -> int:
    return session.execute(select(Customer.id).filter_by(demo_key=key)).scalar_one()


def seed_activity(session: Session) -> None:
    """Tickets, proactive messages and suggestions, made with the functions the bot uses."""
    week = NOW - timedelta(days=2)
    tickets.open_ticket(session, "rest:b", "request_human", "en", week)
    tickets.open_ticket(session, "rest:x", "request_human", "nb", week)
    tickets.open_ticket(session, "telegram:y", "complain", "nb", week)
    tickets.open_ticket(session, "rest:old", "fallback", "nb", NOW - timedelta(days=30))
    coach, auto = customer(session, "demo-coach"), customer(session, "demo-auto")
    booking_id = session.execute(select(Booking.id).limit(1)).scalar_one()

    def row(cid: int, key: str, strategy: str, sent: bool = True, outcome: str | None = None,
            booked: bool = False, created: datetime = week):
        message = outbox.enqueue(session, cid, "service_due", key, strategy=strategy, action="suggest",
                                 channel="telegram", lang="nb", payload={}, created_at=created)
        if sent:
            outbox.mark_sent(session, message.id, created)
        if outcome:
            message.answered_at, message.payload = created + timedelta(hours=1), {"outcome": outcome}
        if booked:
            message.booking_id = booking_id
        session.flush()

    row(coach, "p1", "coach", outcome="accepted", booked=True)
    row(coach, "p2", "coach", outcome="declined")
    row(coach, "p3", "coach")
    row(coach, "p4", "coach", sent=False)
    row(auto, "p5", "auto", booked=True)
    row(auto, "p0", "auto", created=NOW - timedelta(days=40))

    def offer(cid: int, context: str, strategy: str, answer: bool | None):
        made = outcomes.record_offered(session, cid, "polish_half_price", context, strategy=strategy,
                                       channel="rest", lang="nb", reason="r", data_used=[], price_nok=100,
                                       now=week)
        if answer is not None:
            outcomes.decide(session, made.id, cid, answer, week)

    offer(customer(session, "demo-curated"), "draft:1", "curated", True)
    offer(customer(session, "demo-sv"), "draft:2", "curated", False)
    offer(coach, "draft:3", "coach", None)


def test_handoff_reasons_proactive_funnel_and_acceptance_from_real_rows(session: Session):
    assert outcomes.acceptance_rates(session) == []  # the demo data has made no offers
    seed_activity(session)
    assert metrics.handoff_reasons(session, WEEK) == Counter({"request_human": 2, "complain": 1})
    funnel = {f.strategy: f for f in metrics.proactive_funnel(session, WEEK)}
    assert funnel["coach"] == metrics.Funnel("coach", created=4, sent=3, answered=2, accepted=1, declined=1,
                                             converted=1)
    assert funnel["auto"] == metrics.Funnel("auto", created=1, sent=1, converted=1)
    assert funnel["coach"].answer_rate == pytest.approx(2 / 3)
    rates = {(r.offer_code, r.segment): r for r in outcomes.acceptance_rates(session, "strategy")}
    assert (rates["polish_half_price", "curated"].offered, rates["polish_half_price", "curated"].rate) == (2, 0.5)
    assert rates["polish_half_price", "coach"].accepted == 0


def results_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "results" / "nlu-cross-validation"
    folder.mkdir(parents=True)
    ok = [{"text": t, "intent": i, "intent_prediction": {"name": i, "confidence": 0.9}}
          for t, i in (("hei", "greet"), ("hallo", "greet"), ("pris?", "ask_price"))]
    wrong = [{"text": "hva koster det å bestille", "intent": "ask_price",
              "intent_prediction": {"name": "book_service", "confidence": 0.5}}]
    (folder / "intent_successes.json").write_text(json.dumps(ok))
    (folder / "intent_errors.json").write_text(json.dumps(wrong))
    (folder / "intent_report.json").write_text(json.dumps({"weighted avg": {"f1-score": 0.75}}))
    return tmp_path / "results"


def test_confusion_matrix_from_the_last_evaluation(tmp_path: Path):
    assert last_confusion(tmp_path) is None
    matrix = last_confusion(results_dir(tmp_path))
    assert matrix.labels == ["ask_price", "greet", "book_service"]
    assert matrix.matrix == [[1, 0, 1], [0, 2, 0], [0, 0, 0]]
    assert (matrix.accuracy, matrix.weighted_f1, matrix.examples) == (0.75, 0.75, 4)
    assert matrix.top_confusions() == [("ask_price", "book_service", 1)]
    newer = tmp_path / "results" / "nlu-evaluation"
    newer.mkdir()
    (newer / "intent_successes.json").write_text(json.dumps([{"text": "hei", "intent": "greet",
                                                              "intent_prediction": {"name": "greet"}}]))
    assert last_confusion(tmp_path / "results").source == newer


def embedded_pngs(html: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_the_report_embeds_a_png_per_figure_and_writes_the_numbers(session, tracker, tmp_path):
    seed_activity(session)
    data = metrics.compute(session, tracker, WEEK, results_dir(tmp_path), OSLO, now=NOW)
    out = write_report(data, tmp_path / "out" / "report.html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    pngs = embedded_pngs(html)
    assert len(pngs) == 7 and all(png.startswith(PNG_MAGIC) for png in pngs)
    for text in ("Samtaler per dag og kanal", "80,0%", "20,0%", "25,0%", "ba om et menneske", "klage",
                 "polish_half_price", "50,0%", "ask_price", "book_service", "nlu-cross-validation"):
        assert text in html, text
    assert "http://" not in html and "https://" not in html  # no external assets
    assert re.search(r"<dt>Samtaler</dt><dd>5</dd>", html)


def test_an_empty_store_gives_a_report_that_says_there_is_no_data_yet(session, tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}", future=True)
    html = render_report(metrics.compute(session, engine, WEEK, tmp_path / "no-results", OSLO, now=NOW))
    assert "Ingen data ennå" in html and "Ingen NLU-evaluering funnet" in html and "bot train" in html
    assert embedded_pngs(html) == []


def test_the_period_comes_from_days_or_dates():
    today = date(2026, 11, 23)
    assert metrics.period_from(30, None, None, today) == Period(date(2026, 10, 25), today)
    assert metrics.period_from(7, date(2026, 11, 1), date(2026, 11, 3), today) == Period(date(2026, 11, 1),
                                                                                          date(2026, 11, 3))
    with pytest.raises(ValueError):
        metrics.period_from(7, date(2026, 11, 5), date(2026, 11, 3), today)
