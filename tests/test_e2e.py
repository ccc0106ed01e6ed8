"""Whole conversations through the real Rasa server and action server, over REST.

Starts both servers on free ports with the trained model in models/, its own profile
database (migrated and seeded) and its own tracker store, and talks to it as customers do.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from sqlalchemy import select

from bot.conversation_ids import conversation_id
from bot.db.models import Booking, ChannelIdentity, Customer, HumanRequest, Preferences, Suggestion
from bot.db.session import session_scope
from bot.lang import detect_language
from bot.runner import Stack
from bot.tracker_events import conversation, tracker_engine

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


def post(stack: Stack, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def say(stack: Stack, sender: str, text: str) -> list[dict[str, Any]]:
    status, replies = post(stack, {"sender": sender, "message": text})
    assert status == 200, replies
    assert replies, f"no answer to {text!r}"
    return replies


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [b for r in replies for b in r.get("buttons", [])]


def book_through(stack: Stack, sender: str, first: str, yes: str, no: str, lang: str) -> str:
    """Answer the bot's questions like a customer until the booking is confirmed."""
    replies = say(stack, sender, first)
    for _ in range(8):
        text = texts(replies)
        assert detect_language(text) in (lang, None), text
        offered = [b for b in buttons(replies) if "slot_choice" in b["payload"]]
        yes_no = {b["payload"] for b in buttons(replies)} >= {"/affirm", "/deny"}
        if re.search(r"FB-[A-Z0-9]+", text):
            return text
        if offered:
            replies = say(stack, sender, offered[0]["payload"])
        elif yes_no and any(b["payload"] == "/affirm" for b in buttons(replies)) and "?" in text:
            # The loaner question is answered "no", the summary "yes".
            is_summary = bool(re.search(r"\d[\d\u00a0 ,]*\s?(kr|NOK)|NOK", text))
            replies = say(stack, sender, yes if is_summary else no)
        else:
            raise AssertionError(f"unexpected turn: {text!r} {buttons(replies)}")
    raise AssertionError("booking did not finish in 8 turns")


def bookings_of(stack: Stack, reference: str) -> Booking:
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        record = session.execute(select(Booking).filter_by(reference=reference)).scalar_one()
        return record, sorted(item.service_code for item in record.items)


@pytest.mark.parametrize(
    ("sender", "greeting", "first", "yes", "no", "lang", "name", "services"),
    [
        ("demo-respond", "Hei!", "jeg vil bestille service og dekkskift neste tirsdag", "ja", "nei takk",
         "nb", "Kari", ["service", "tyre_change"]),
        ("demo-sv", "Hej hej", "jag vill boka däckbyte nästa onsdag", "ja tack", "nej tack",
         "sv", "Sven", ["tyre_change"]),
        ("demo-en", "Hello there", "I would like to book an EU inspection next Thursday", "yes please",
         "no thanks", "en", "Emma", ["eu_control"]),
        ("demo-curated", "god morgen", "kan jeg bestille vask og innvendig rengjøring på fredag?", "ja",
         "nei takk", "nb", "Karoline", ["interior_cleaning", "wash"]),
    ],
)
def test_demo_customer_books_in_their_language(stack, sender, greeting, first, yes, no, lang, name, services):
    hello = texts(say(stack, sender, greeting))
    assert name in hello
    confirmation = book_through(stack, sender, first, yes, no, lang)
    reference = re.search(r"FB-[A-Z0-9]+", confirmation).group(0)
    record, stored = bookings_of(stack, reference)
    assert stored == services
    assert record.status == "booked" and record.channel == "rest"


def test_car_status_in_english_and_norwegian(stack):
    ready = texts(say(stack, "demo-en", "is my car ready yet?"))
    assert "Fjordbil Alnabru" in ready and "4,380" in ready
    in_progress = texts(say(stack, "demo-auto", "er bilen min ferdig?"))
    assert "18:00" in in_progress


def test_information_answers_from_the_data(stack):
    assert "07:30" in texts(say(stack, "info-1", "når åpner dere på mandag?"))
    assert "Strømsveien 200" in texts(say(stack, "info-2", "where are you located?"))
    assert "890" in texts(say(stack, "info-3", "vad kostar ett däckbyte?"))


def test_guest_identifies_with_phone_and_code_before_seeing_bookings(stack):
    asked = texts(say(stack, "guest-e2e", "har jeg en time hos dere?"))
    assert asked
    sent = texts(say(stack, "guest-e2e", "912 34 567"))
    assert "567" in sent and "912 34" not in sent
    log = stack.logs[0].read_text()
    code = re.findall(r"one-time code: (\d{6})", log)[-1]
    assert code not in sent
    verified = texts(say(stack, "guest-e2e", code))
    assert "Kari" in verified


@pytest.mark.parametrize(
    "message",
    ["", "   ", "a" * 10_000, "🚗🔧😀", "hei, can I book en service nästa vecka?", "\u0000\u0007 kontroll"],
)
def test_odd_messages_get_an_answer(stack, message):
    status, replies = post(stack, {"sender": "odd-input", "message": message})
    assert status == 200 and replies and all(r.get("text") or r.get("buttons") for r in replies)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b"[]", 400),
        (json.dumps({"message": "hei"}).encode(), 400),
        (json.dumps({"sender": "x", "message": 42}).encode(), 400),
        (json.dumps({"sender": "x", "message": "a" * 20_001}).encode(), 413),
    ],
)
def test_malformed_requests_get_a_clear_error(stack, raw, status):
    code, body = post(stack, None, raw=raw)
    assert code == status and "error" in body


def test_two_misunderstandings_in_a_row_offer_a_person(stack):
    # Sent as intents, so the test does not hang on what the model makes of gibberish:
    # the dialogue, the action and the database are what is tested here.
    first = texts(say(stack, "lost-1", "/nlu_fallback"))
    second = texts(say(stack, "lost-1", "/nlu_fallback"))
    assert first != second
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        reasons = session.execute(
            select(HumanRequest.reason).filter_by(sender_key="rest:lost-1")
        ).scalars().all()
    assert reasons == ["fallback"]


def converse(stack: Stack, sender: str, first: str, lang: str, accept: bool) -> tuple[str, list[str]]:
    """Book like a customer: first free time, suggestions accepted (or declined) with one tap,
    the plain loaner question answered no, the summary yes. Returns the reference and transcript."""
    no, yes = {"nb": ("nei", "ja"), "en": ("no", "yes")}[lang]
    replies = say(stack, sender, first)
    transcript: list[str] = []
    for _ in range(10):
        text = texts(replies)
        transcript.append(text)
        assert detect_language(text) in (lang, None), text
        found = re.search(r"FB-[A-Z0-9]+", text)
        if found:
            return found.group(0), transcript
        payloads = [b["payload"] for b in buttons(replies)]
        times = [p for p in payloads if "slot_choice" in p]
        offers = [p for p in payloads if '"suggestion"' in p]
        if times:
            replies = say(stack, sender, times[0])
        elif offers:
            replies = say(stack, sender, offers[0] if accept else offers[1])
        elif "/affirm" in payloads:
            is_summary = bool(re.search(r"\d[\d\u00a0 ,]*\s?(kr|NOK)|NOK", text))
            replies = say(stack, sender, yes if is_summary else no)
        else:
            raise AssertionError(f"unexpected turn: {text!r} {payloads}")
    raise AssertionError("booking did not finish in 10 turns")


# The same request under each strategy, in Norwegian and English: visibly different answers.
# Days differ per conversation so the loaner cars (three per day) never run out.
SAME_REQUEST = {
    "nb": "jeg trenger service og vinterdekk på {day}",
    "en": "I need a service and winter tyres on {day}",
}
STRATEGY_CASES = [
    ("demo-respond", "nb", "torsdag", False), ("demo-respond", "en", "Friday", False),
    ("demo-curated", "nb", "tirsdag", True), ("demo-curated", "en", "Wednesday", True),
    ("demo-coach", "nb", "tirsdag", False), ("demo-coach", "en", "Wednesday", False),
    ("demo-auto", "nb", "torsdag", False), ("demo-auto", "en", "Friday", False),
]
EXPECTED_TEXTS = {
    ("demo-respond", "nb"): ["Trenger du lånebil"],
    ("demo-respond", "en"): ["Do you need a loaner car"],
    ("demo-curated", "nb"): ["Du tok lånebil sist", "passert 90\u00a0000 km", "Innvendig rengjøring og lakkbehandling"],
    ("demo-curated", "en"): ["You took a loaner car the last time", "passed 90,000 km", "Interior cleaning and paint"],
    ("demo-coach", "nb"): ["fjellet annenhver helg", "Takboks for vintersesongen", "Trenger du lånebil"],
    ("demo-coach", "en"): ["mountains every other weekend", "Roof box for the winter season"],
    ("demo-auto", "nb"): ["Lånebil er med i avtalen din", "henter vi bilen", "faktura"],
    ("demo-auto", "en"): ["A loaner car is part of your agreement", "we collect the car", "invoice"],
}
NOT_EXPECTED = {
    "demo-respond": ["forslag", "suggestion", "halv pris", "half price", "Takboks", "Roof box"],
    "demo-curated": ["Takboks", "Roof box", "Trenger du lånebil", "Do you need a loaner"],
    "demo-coach": ["halv pris", "half price", "Du tok lånebil", "You took a loaner"],
    "demo-auto": ["Trenger du lånebil", "Do you need a loaner", "Takboks", "Roof box"],
}
BOOKED = {
    "demo-respond": (["service", "tyre_change"], False),
    "demo-curated": (["interior_cleaning", "polish", "service", "tyre_change"], True),
    "demo-coach": (["service", "tyre_change"], False),
    "demo-auto": (["service", "tyre_change"], True),
}


@pytest.mark.parametrize(("sender", "lang", "day", "accept"), STRATEGY_CASES)
def test_same_request_gets_the_answer_of_the_customers_strategy(stack, sender, lang, day, accept):
    reference, transcript = converse(stack, sender, SAME_REQUEST[lang].format(day=day), lang, accept)
    conversation = "\n".join(transcript)
    for expected in EXPECTED_TEXTS[(sender, lang)]:
        assert expected in conversation, (expected, conversation)
    for unexpected in NOT_EXPECTED[sender]:
        assert unexpected not in conversation, (unexpected, conversation)
    record, stored = bookings_of(stack, reference)
    services, loaner = BOOKED[sender]
    assert stored == services
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        record = session.execute(select(Booking).filter_by(reference=reference)).scalar_one()
        assert (record.loaner is not None) == loaner
        prices = {item.service_code: item.price_nok for item in record.items}
        offers = session.execute(
            select(Suggestion.offer_code, Suggestion.status).filter_by(booking_id=record.id)
        ).all()
    if sender == "demo-curated":
        assert (prices["interior_cleaning"], prices["polish"]) == (645, 1245)
        assert sorted(offers) == [("care_half_price", "accepted"), ("loaner_again", "accepted")]
    if sender == "demo-coach":
        assert offers == [("roof_box_winter", "declined")]
    if sender == "demo-respond":
        assert offers == []


def test_why_was_that_suggested(stack):
    answer = texts(say(stack, "demo-curated", "why did you suggest that?"))
    assert "passed 90,000 km" in answer and "mileage we recorded" in answer


def test_withdrawn_consent_stops_usage_based_suggestions_in_the_next_turn(stack):
    answer = texts(say(stack, "demo-coach", "slutt å bruke kjøredataene mine"))
    assert "kjøredataene" in answer
    reference, transcript = converse(stack, "demo-coach", SAME_REQUEST["nb"].format(day="mandag"), "nb", False)
    conversation = "\n".join(transcript)
    assert "Takboks" not in conversation and "fjellet" not in conversation
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        prefs = session.execute(select(Preferences).filter_by(customer_id=3)).scalar_one()
        assert prefs.data_sharing == "history"


def user_messages(stack: Stack, sender: str) -> list[dict[str, Any]]:
    engine = tracker_engine(stack.env["TRACKER_DATABASE_URL"])
    return [e.data for e in conversation(engine, conversation_id("rest", sender)) if e.type_name == "user"]


def test_a_message_sent_again_with_its_id_is_answered_once(stack):
    body = {"sender": "retry-1", "message": "hva koster dekkskift?", "message_id": "client-42"}
    first_status, first = post(stack, body)
    again_status, again = post(stack, body)
    assert first_status == again_status == 200 and "890" in texts(first)
    assert again == first
    stored = [m for m in user_messages(stack, "retry-1") if m.get("message_id") == "client-42"]
    assert len(stored) == 1
    status, refused = post(stack, {**body, "message_id": 42})
    assert status == 400 and "message_id" in refused["error"]


def test_a_long_conversation_keeps_its_customer_and_every_message(stack):
    """Past the tracker store's window of 20 turns, the bot still knows who it talks to, and
    every message is stored once, in order."""
    sender = "long-talk"
    sent = ["hei"] + [f"hva koster dekkskift? ({n})" if n % 2 else "når åpner verkstedet?" for n in range(30)]
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        kari = session.execute(select(Customer).filter_by(demo_key="demo-respond")).scalar_one()
        session.add(ChannelIdentity(customer_id=kari.id, channel="rest", external_id=sender))
    for text in sent:
        say(stack, sender, text)
    assert "Kari" in texts(say(stack, sender, "hei igjen"))
    confirmation = book_through(stack, sender, "jeg vil bestille vask på fredag", "ja", "nei takk", "nb")
    record, stored = bookings_of(stack, re.search(r"FB-[A-Z0-9]+", confirmation).group(0))
    assert stored == ["wash"] and record.customer_id == kari.id
    texts_stored = [m["text"] for m in user_messages(stack, sender)]
    assert texts_stored[:len(sent) + 1] == sent + ["hei igjen"]


def test_action_server_down_gives_an_apology_not_silence(stack):
    """Stops the action server, and starts it again for the modules that share the stack."""
    stack.processes[0].terminate()
    stack.processes[0].wait(timeout=20)
    try:
        replies = say(stack, "demo-en", "what are your opening hours?")
        text = texts(replies)
        assert "Sorry" in text and "human" in text
    finally:
        stack.restart_action_server()
