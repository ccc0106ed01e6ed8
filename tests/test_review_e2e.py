"""The review inbox is filled from a real tracker store after scripted conversations
(including fallbacks and a handoff): real Rasa and action servers, REST messages, then
`bot.review.mining.pull` over the tracker database that Rasa wrote."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from bot.db.models import ReviewItem
from bot.db.session import session_scope
from bot.runner import Stack, latest_model, start_stack
from bot.tracker_events import engine_for
from tests.servers import free_port, seeded_database

pytestmark = pytest.mark.e2e

# Messages that sit between the FallbackClassifier (0.4) and the review threshold for the
# current model; the test uses the least confident of them (see low_confidence_message).
AMBIGUOUS = ["the car thing", "blipp blopp blupp", "something about my car", "trenger litt hjelp", "hva skjer"]
PERSONAL = "Kari Nordmann her, mitt nummer er 912 34 567 og e-post kari.nordmann@example.no"
RAW = ("912 34 567", "91234567", "kari.nordmann@example.no", "example.no", "kari", "nordmann")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("review")
    url = seeded_database(work)
    running = start_stack(free_port(), free_port(), latest_model(), work,
                          extra_env={"DATABASE_URL": url, "BOT_ENV": "dev"}, timeout=600)
    running.db_url = url  # type: ignore[attr-defined]
    running.tracker_url = f"sqlite:///{work / 'tracker.db'}"  # type: ignore[attr-defined]
    yield running
    running.stop()


def post(stack: Stack, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(f"{stack.rasa_url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def say(stack: Stack, sender: str, text: str) -> str:
    replies = post(stack, "/webhooks/rest/webhook", {"sender": sender, "message": text})
    return "\n".join(r.get("text", "") for r in replies)


def low_confidence_message(stack: Stack) -> tuple[str, str, float]:
    """The least confident of AMBIGUOUS that the model still classifies (not a fallback)."""
    parsed = [(text, post(stack, f"/model/parse?token={stack.token}", {"text": text})["intent"]) for text in AMBIGUOUS]
    usable = [(text, i["name"], i["confidence"]) for text, i in parsed
              if i["name"] not in ("nlu_fallback", "request_human", "complain")]
    assert usable, parsed
    return min(usable, key=lambda found: found[2])


def all_values(session: Any) -> str:
    rows = session.execute(sa.text("SELECT * FROM review_items")).fetchall()
    return " ".join(str(value) for row in rows for value in row).lower()


def test_the_inbox_is_filled_from_a_real_tracker_store(stack):
    from bot.review.mining import pull

    assert "understand" in say(stack, "rv-fallback-1", "the thing with the stuff from before")
    # The same, a little varied. (Not "...before!": an exclamation mark reads as a complaint to this model.)
    say(stack, "rv-fallback-2", "the thing with the stuff from before?")
    say(stack, "rv-sv", "hej, min frobnikator låter konstigt")
    say(stack, "rv-twice", "can you do the thing")
    handed = say(stack, "rv-twice", "so what now with that")  # second miss in a row: a person takes over
    say(stack, "rv-human", "hva koster polering?")
    assert "køen" in say(stack, "rv-human", "jeg vil snakke med et menneske")
    assert "890" in say(stack, "rv-correct", "what does a tyre change cost?")
    say(stack, "rv-correct", "no, that's not what I meant")
    say(stack, "demo-respond", PERSONAL)
    ambiguous, predicted, confidence = low_confidence_message(stack)
    say(stack, "rv-low", ambiguous)
    threshold = max(0.6, round(confidence + 0.02, 2))
    assert threshold < 0.95, (ambiguous, confidence)

    tracker = engine_for(stack.tracker_url)  # type: ignore[attr-defined]
    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        report = pull(session, tracker, threshold=threshold)
        items = {item.text: item for item in session.execute(select(ReviewItem)).scalars()}
    assert report.added == len(items) and report.joined >= 1

    banana = items["the thing with the stuff from before"]
    assert (banana.lang, banana.occurrences, banana.sender_id) == ("en", 2, "rest:rv-fallback-1")
    assert banana.reasons == ["fallback", "low_confidence"] and banana.predicted_intent not in (None, "nlu_fallback")
    assert banana.confidence < 0.4 and banana.status == "new"
    assert "the thing with the stuff from before?" not in items

    assert items["hej, min frobnikator låter konstigt"].lang == "sv"
    assert "person" in handed or "kolleg" in handed or "colleague" in handed.lower(), handed
    for text in ("can you do the thing", "so what now with that"):
        assert items[text].reasons == ["fallback", "low_confidence", "handoff"], text
    assert (items["hva koster polering?"].reasons, items["hva koster polering?"].lang) == (["handoff"], "nb")
    assert "jeg vil snakke med et menneske" not in items
    corrected = items["what does a tyre change cost?"]
    assert (corrected.reasons, corrected.lang, corrected.predicted_intent) == (["corrected"], "en", "ask_price")
    assert "no, that's not what I meant" not in items

    masked = items["<name> <name> her, mitt nummer er <phone> og e-post <email>"]
    assert masked.lang == "nb" and "fallback" in masked.reasons and masked.sender_id == "rest:demo-respond"
    low = items[ambiguous]
    assert "low_confidence" in low.reasons and low.predicted_intent == predicted
    assert low.confidence == pytest.approx(confidence)
    assert {item.lang for item in items.values()} == {"nb", "sv", "en"}

    with session_scope(stack.db_url) as session:  # type: ignore[attr-defined]
        again = pull(session, tracker, threshold=threshold)
        assert again.found == 0 and again.events_read == 0
        assert session.execute(select(sa.func.count(ReviewItem.id))).scalar_one() == len(items)
        stored = all_values(session)
    for raw in RAW:
        assert raw not in stored, raw
