"""The review inbox is filled from the tracker store: which messages, why, masked, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import tracker_events as te
from bot.cli import main
from bot.db.models import Customer, ReviewItem, ReviewState
from bot.review.mining import dedupe_key, get_item, list_items, normalise, pull
from tests.rasa_tracker import TrackerWriter

NOW = datetime(2026, 11, 23, 12, 0)
FALLBACK_RANKING = [("nlu_fallback", 0.4), ("greet", 0.18), ("ask_opening_hours", 0.11)]
PRICE_ANSWER = "dekkskift koster 890 kr og tar omtrent 30 min."


@pytest.fixture()
def tracker(tmp_path: Path) -> Iterator[TrackerWriter]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    yield TrackerWriter(engine)
    engine.dispose()


def items(session: Session) -> list[ReviewItem]:
    return list(session.execute(select(ReviewItem).order_by(ReviewItem.id)).scalars())


def fallback(t: TrackerWriter, sender: str, text: str, language: str | None = "en") -> int:
    event_id = t.user(sender, text, "nlu_fallback", 0.4, FALLBACK_RANKING, language=language)
    t.turn(sender, "action_fallback", "Sorry, I didn't quite understand. Could you rephrase that?", "utter_default")
    return event_id


def price_question(t: TrackerWriter, sender: str, text: str = "hva koster dekkskift?") -> int:
    event_id = t.user(sender, text, "ask_price", 0.998, [("ask_price", 0.998), ("bot_challenge", 0.001)],
                      language="nb")
    t.turn(sender, "action_price", PRICE_ANSWER, "utter_price")
    return event_id


def test_a_message_the_fallback_classifier_caught_keeps_the_models_own_guess(session, tracker):
    tracker.start("s1")
    event_id = fallback(tracker, "s1", "banana helicopter purple")
    report = pull(session, tracker.engine, now=NOW)
    (item,) = items(session)
    assert (item.sender_id, item.event_id, item.text, item.lang) == ("s1", event_id, "banana helicopter purple", "en")
    assert item.reasons == ["fallback", "low_confidence"]
    assert (item.predicted_intent, item.confidence) == ("greet", pytest.approx(0.18))
    assert (item.status, item.occurrences, item.dedupe_key) == ("new", 1, "en:banana helicopter purple")
    assert item.first_seen == item.last_seen and item.first_seen.year == 2026
    assert report.added == 1 and report.by_reason == {"fallback": 1, "low_confidence": 1}
    assert report.by_language == {"en": 1}


def test_low_confidence_means_below_the_threshold(session, tracker):
    tracker.start("s1")
    tracker.user("s1", "kan jeg få hjelp med bilen", "ask_recommendation", 0.55,
                 [("ask_recommendation", 0.55), ("book_service", 0.3)], language="nb")
    tracker.turn("s1", "action_recommend", "Her er mine råd.", "utter_recommendation")
    assert pull(session, tracker.engine, threshold=0.5, now=NOW).found == 0
    session.execute(sa.delete(ReviewState))
    assert pull(session, tracker.engine, threshold=0.6, now=NOW).found == 1
    assert items(session)[0].reasons == ["low_confidence"]
    assert items(session)[0].predicted_intent == "ask_recommendation"


def test_a_message_the_bot_answered_with_its_fallback_counts_as_fallback(session, tracker):
    tracker.start("s1")
    tracker.user("s1", "mitt bilnummer er AB 12345", "inform", 0.99, language="nb")
    tracker.turn("s1", "action_fallback", "Beklager, det forsto jeg ikke helt.", "utter_default")
    pull(session, tracker.engine, now=NOW)
    (item,) = items(session)
    assert item.reasons == ["fallback"] and item.text == "mitt bilnummer er <regnr>"


def test_the_message_before_a_request_for_a_person_is_marked_handoff(session, tracker):
    tracker.start("s1")
    tracker.user("s1", "hei", "greet", 0.99)
    tracker.turn("s1", "action_greet", "Hei! Hva kan jeg hjelpe deg med?", "utter_greet")
    asked = price_question(tracker, "s1", "hvor mye koster det å bytte dekk på to biler")
    tracker.user("s1", "takk", "thank", 0.99)
    tracker.turn("s1", "utter_you_are_welcome", "Bare hyggelig!", "utter_you_are_welcome")
    tracker.user("s1", "jeg vil snakke med et menneske", "request_human", 0.996, language="nb")
    tracker.handoff("s1")
    pull(session, tracker.engine, now=NOW)
    (item,) = items(session)  # not the greeting, not the thanks, not the understood request
    assert (item.event_id, item.reasons) == (asked, ["handoff"])


def test_two_misunderstandings_and_a_handoff_mark_both(session, tracker):
    tracker.start("s1")
    first = fallback(tracker, "s1", "my car makes a weird clonk noise")
    second = tracker.user("s1", "the clonk, when braking", "nlu_fallback", 0.4, FALLBACK_RANKING, language="en")
    tracker.handoff("s1", via="action_fallback")  # action_fallback hands over and pauses
    pull(session, tracker.engine, now=NOW)
    got = {i.event_id: i.reasons for i in items(session)}
    assert got == {first: ["fallback", "low_confidence", "handoff"],
                   second: ["fallback", "low_confidence", "handoff"]}


def test_a_no_right_after_an_answer_marks_the_answered_message_corrected(session, tracker):
    tracker.start("s1")
    asked = price_question(tracker, "s1")
    tracker.user("s1", "nei, det var ikke det jeg mente", "deny", 0.995, language="nb")
    tracker.turn("s1", "action_yes_no", "Er det noe annet jeg kan hjelpe deg med?", "utter_anything_else")
    pull(session, tracker.engine, now=NOW)
    (item,) = items(session)
    assert (item.event_id, item.reasons, item.text) == (asked, ["corrected"], "hva koster dekkskift?")


YES_NO = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nei", "payload": "/deny"}]


@pytest.mark.parametrize("case", ["question", "buttons", "form", "tapped"])
def test_a_no_to_a_question_in_a_form_or_tapped_is_not_a_correction(session, tracker, case):
    tracker.start("s1")
    tracker.user("s1", "jeg vil bestille service", "book_service", 0.99, language="nb")
    if case == "form":
        tracker.action("s1", "booking_form")
        tracker.active_loop("s1", "booking_form")
        tracker.bot("s1", "Trenger du lånebil.", "utter_ask_loaner_car")
    elif case == "buttons":
        tracker.bot("s1", "Jeg har ledig tid tirsdag kl 10. Passer det.", "utter_offer", YES_NO)
    else:
        tracker.bot("s1", "Er det noe annet jeg kan hjelpe deg med?", "utter_anything_else")
    tracker.action("s1", "action_listen")
    tracker.user("s1", "/deny" if case == "tapped" else "nei takk", "deny", 1.0 if case == "tapped" else 0.99)
    pull(session, tracker.engine, now=NOW)
    assert items(session) == []


def test_button_taps_and_messages_from_our_own_systems_are_never_items(session, tracker):
    tracker.start("s1")
    tracker.user("s1", "/greet", "nlu_fallback", 0.4, FALLBACK_RANKING)
    tracker.turn("s1", "action_fallback", "Beklager?", "utter_default")
    tracker.user("s1", "EXTERNAL_proactive", "EXTERNAL_proactive", 0.2)
    tracker.turn("s1", "action_proactive_message", "Tid for service.", "utter_proactive")
    tracker.user("s1", "", "nlu_fallback", 0.4, FALLBACK_RANKING)
    assert pull(session, tracker.engine, now=NOW).found == 0


def test_the_language_comes_from_the_message_else_detection_else_the_conversation(session, tracker):
    tracker.start("s1", language="sv")
    fallback(tracker, "s1", "blorp the frobnicator twice", language="sv")  # the pipeline's entity wins
    fallback(tracker, "s1", "jag vill ha hjälp med min frobnicator nu", language=None)  # detected: sv
    tracker.user("s1", "xq zt", "nlu_fallback", 0.4, FALLBACK_RANKING, metadata={"language": "en"})
    tracker.user("s1", "hmm?", "nlu_fallback", 0.4, FALLBACK_RANKING)  # too short: the conversation's
    pull(session, tracker.engine, now=NOW)
    assert [(i.text, i.lang) for i in items(session)] == [
        ("blorp the frobnicator twice", "sv"), ("jag vill ha hjälp med min frobnicator nu", "sv"),
        ("xq zt", "en"), ("hmm?", "sv")]


def test_personal_data_and_the_linked_customers_name_are_masked(session, tracker):
    kari = session.execute(select(Customer).filter_by(demo_key="demo-curated")).scalar_one()  # Karoline Berg
    tracker.start("guest-1", customer_id=kari.id, name=kari.first_name)  # identified in the chat
    fallback(tracker, "guest-1", "Hei, dette er Karoline Berg, ring 912 34 567 eller karoline.berg@example.no",
             language="nb")
    tracker.start("demo-respond")  # linked by its channel identity only: Kari Nordmann
    fallback(tracker, "demo-respond", "Nordmann her, bilen EL 12345 lager lyd", language="nb")
    tracker.start("webchat:demo-sv")  # today's ids carry the channel: Sven Svensson's web chat
    fallback(tracker, "webchat:demo-sv", "Svensson här, bilen låter", language="sv")
    pull(session, tracker.engine, now=NOW)
    assert [i.text for i in items(session)] == [
        "Hei, dette er <name> <name>, ring <phone> eller <email>", "<name> her, bilen <regnr> lager lyd",
        "<name> här, bilen låter"]
    dump = " ".join(str(v) for i in items(session) for v in vars(i).values()).lower()
    for raw in ("karoline", "berg", "912 34 567", "@example.no", "nordmann", "el 12345", "svensson"):
        assert raw not in dump


def test_normalised_keys_fold_case_digits_punctuation_and_space():
    assert normalise("Kan jeg  betale med VIPPS 2 ganger?!") == "kan jeg betale med vipps 0 ganger"
    assert dedupe_key("ring <phone>, takk", "nb") == "nb:ring phone takk"
    long_key = dedupe_key("blah " * 200, "en")
    assert len(long_key) <= 255 and long_key != dedupe_key("blah " * 199, "en")


def test_near_identical_messages_are_one_item_per_language(session, tracker):
    for sender, text, lang in [("a", "Banana helicopter purple", "en"), ("b", "banana helicopter purple!!", "en"),
                               ("c", "banana helicopterr purple", "en"), ("d", "banana helicopter purple", "nb"),
                               ("e", "banana submarine green", "en")]:
        tracker.start(sender)
        fallback(tracker, sender, text, language=lang)
    report = pull(session, tracker.engine, now=NOW)
    got = sorted((i.lang, i.text, i.occurrences) for i in items(session))
    assert got == [("en", "Banana helicopter purple", 3), ("en", "banana submarine green", 1),
                   ("nb", "banana helicopter purple", 1)]
    assert (report.added, report.joined) == (3, 2)
    first = items(session)[0]
    assert first.first_seen <= first.last_seen


def test_a_labelled_item_only_takes_exact_repeats(session, tracker):
    tracker.start("a")
    fallback(tracker, "a", "banana helicopter purple")
    pull(session, tracker.engine, now=NOW)
    items(session)[0].status = "labelled"
    tracker.start("b")
    fallback(tracker, "b", "Banana helicopter, purple!")  # same key: counted on the labelled item
    tracker.start("c")
    fallback(tracker, "c", "banana helicopterr purple")  # only near: a new item to look at
    pull(session, tracker.engine, now=NOW)
    assert [(i.status, i.occurrences) for i in items(session)] == [("labelled", 2), ("new", 1)]


def test_a_second_pull_adds_nothing_and_later_evidence_adds_a_reason_not_a_repeat(session, tracker):
    tracker.start("s1")
    asked = fallback(tracker, "s1", "my car makes a weird clonk noise")
    first = pull(session, tracker.engine, now=NOW)
    again = pull(session, tracker.engine, now=NOW)
    assert (first.added, again.found, again.events_read) == (1, 0, 0)
    assert again.cursor == first.cursor == tracker.count()

    tracker.user("s1", "I want to talk to a person", "request_human", 0.99, language="en")
    tracker.handoff("s1")
    later = pull(session, tracker.engine, now=NOW)
    (item,) = items(session)
    assert (later.updated, later.added, later.joined) == (1, 0, 0)
    assert (item.event_id, item.reasons, item.occurrences) == (asked, ["fallback", "low_confidence", "handoff"], 1)


def test_a_pull_on_an_absent_or_empty_tracker_store_is_empty(session, tmp_path):
    absent = te.engine_for(f"sqlite:///{tmp_path / 'nothing-here.db'}")
    assert pull(session, absent, now=NOW).found == 0
    empty = te.engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    te.create_table(empty)
    report = pull(session, empty, now=NOW)
    assert (report.found, report.cursor, report.events_read) == (0, 0, 0)


def test_each_tracker_store_has_its_own_cursor(session, tmp_path):
    writers = [TrackerWriter(te.engine_for(f"sqlite:///{tmp_path / name}")) for name in ("one.db", "two.db")]
    for writer, text in zip(writers, ["banana helicopter purple", "frobnicate the widget"], strict=True):
        writer.start("s1")
        fallback(writer, "s1", text)
    assert [pull(session, w.engine, now=NOW).added for w in writers] == [1, 1]
    assert len(session.execute(select(ReviewState)).all()) == 2


def test_the_inbox_is_listed_by_status_language_and_reason(session, tracker):
    tracker.start("s1")
    fallback(tracker, "s1", "banana helicopter purple")
    fallback(tracker, "s1", "banana helicopter purple again")
    asked = price_question(tracker, "s1")
    tracker.user("s1", "nei, det var ikke det jeg mente", "deny", 0.99, language="nb")
    pull(session, tracker.engine, now=NOW)
    assert len(list_items(session)) == 3
    assert [i.event_id for i in list_items(session, lang="nb")] == [asked]
    assert [i.event_id for i in list_items(session, reason="corrected")] == [asked]
    assert len(list_items(session, reason="fallback", lang="en", limit=1)) == 1
    item = list_items(session, reason="corrected")[0]
    item.status = "not_useful"
    assert len(list_items(session)) == 2 and len(list_items(session, status=None)) == 3
    assert get_item(session, item.id) is item and get_item(session, 999) is None


def test_bot_review_pull_and_list_print_counts_and_masked_items(db_url, tracker, capsys):
    tracker.start("demo-respond")
    fallback(tracker, "demo-respond", "Kari her, mitt nummer er 912 34 567", language="nb")
    url = str(tracker.engine.url)
    assert main(["review", "pull", "--tracker-url", url, "--threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "1 new items" in out and "fallback 1" in out and "low_confidence 1" in out and "nb 1" in out
    assert main(["review", "list", "--lang", "nb", "--reason", "fallback"]) == 0
    out = capsys.readouterr().out
    assert "<name> her, mitt nummer er <phone>" in out and "greet" in out and "0.18" in out
    assert "Kari" not in out and "912" not in out
    assert main(["review", "list", "--lang", "sv"]) == 0
    assert "0 item(s)" in capsys.readouterr().out
