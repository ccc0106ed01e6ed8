"""The windowed SQL tracker store keeps every event once, in order, and hands Rasa the
state of the whole conversation in a window of recent turns (connectors/tracker_store.py).

Turns are logged as Rasa's message processor logs them: the user message is saved, then the
bot's actions and the closing `action_listen` are saved on the same tracker object."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import PROJECT_ROOT
from bot.tracker_events import conversation, delete_conversations, tracker_engine
from connectors.tracker_store import WindowedSQLTrackerStore, turn_starts

WINDOW = 8


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(PROJECT_ROOT / "domain.yml")


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "tracker.db"


def windowed(domain: Domain, db: Path) -> WindowedSQLTrackerStore:
    return WindowedSQLTrackerStore(domain, window_turns=WINDOW, dialect="sqlite", db=str(db))


async def turn(
    store: SQLTrackerStore, sender: str, text: str, intent: str = "ask_price", then: list[Event] | None = None
) -> DialogueStateTracker:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": intent, "confidence": 0.99}))
    await store.save(tracker)
    for event in [ActionExecuted("utter_price"), BotUttered(f"svar på {text}"), *(then or [])]:
        tracker.update(event)
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    return tracker


def user_texts(db: Path, sender: str) -> list[str]:
    return [e.text for e in conversation(tracker_engine(f"sqlite:///{db}"), sender) if e.type_name == "user"]


def state(tracker: DialogueStateTracker) -> tuple:
    slots = {name: slot.value for name, slot in tracker.slots.items()}
    return slots, tracker.active_loop_name, tracker.is_paused(), tracker.latest_message.text


async def test_every_message_of_a_long_conversation_is_stored_once_and_in_order(domain, db):
    store = windowed(domain, db)
    sent = [f"melding {n}" for n in range(60)]
    for text in sent:
        await turn(store, "long", text)
    assert user_texts(db, "long") == sent
    full = await SQLTrackerStore(domain, dialect="sqlite", db=str(db)).retrieve_full_tracker("long")
    assert sum(isinstance(e, UserUttered) for e in full.events) == 60
    assert sum(isinstance(e, BotUttered) for e in full.events) == 60


async def test_the_window_carries_the_state_of_the_whole_conversation(domain, db):
    store = windowed(domain, db)
    await turn(store, "state", "hei", "greet", then=[SlotSet("customer_name", "Kari"), SlotSet("language", "nb")])
    await turn(store, "state", "jeg vil bestille service", "book_service",
               then=[ActiveLoop("booking_form"), SlotSet("requested_slot", "booking_time")])
    await turn(store, "state", "jeg vil snakke med et menneske", "request_human", then=[ConversationPaused()])
    for n in range(3 * WINDOW):
        await turn(store, "state", f"hallo {n}?")
    view = await store.retrieve("state")
    whole = await SQLTrackerStore(domain, dialect="sqlite", db=str(db)).retrieve("state")
    assert state(view) == state(whole)
    assert view.get_slot("customer_name") == "Kari" and view.active_loop_name == "booking_form" and view.is_paused()
    assert len(turn_starts(list(view.events))) <= WINDOW + WINDOW // 4 < len(turn_starts(list(whole.events)))
    assert view.past_states(domain)[-6:] == whole.past_states(domain)[-6:]


async def test_events_another_rasa_instance_stored_are_read_before_the_next_turn(domain, db):
    first, second = windowed(domain, db), windowed(domain, db)
    sent = []
    for n in range(2 * WINDOW + 3):
        text = f"runde {n}"
        sent.append(text)
        tracker = await turn(first if n % 2 == 0 else second, "shared", text,
                             then=[SlotSet("booking_time", f"2026-12-0{n % 9 + 1}T10:00:00")])
    assert user_texts(db, "shared") == sent
    for store in (first, second):
        view = await store.retrieve("shared")
        assert view.latest_message.text == sent[-1]
        assert view.get_slot("booking_time") == tracker.get_slot("booking_time")


async def test_an_erased_conversation_is_gone_and_starts_again_empty(domain, db):
    store = windowed(domain, db)
    for n in range(WINDOW + 4):
        await turn(store, "erase-me", f"gammel {n}", then=[SlotSet("customer_name", "Ola")])
    assert (await store.retrieve("erase-me")).get_slot("customer_name") == "Ola"
    delete_conversations(tracker_engine(f"sqlite:///{db}"), ["erase-me"])
    assert await store.retrieve("erase-me") is None
    await turn(store, "erase-me", "ny start")
    view = await store.retrieve("erase-me")
    assert view.get_slot("customer_name") is None
    assert user_texts(db, "erase-me") == ["ny start"]


async def test_a_new_session_begins_where_rasa_begins_it(domain, db):
    store = windowed(domain, db)
    for n in range(WINDOW + 4):
        await turn(store, "sessions", f"i går {n}")
    tracker = await store.retrieve("sessions")
    for event in [ActionExecuted("action_session_start"), SessionStarted(), SlotSet("language", "sv"),
                  ActionExecuted("action_listen")]:
        tracker.update(event)
    await store.save(tracker)
    await turn(store, "sessions", "i dag")
    view = await store.retrieve("sessions")
    whole = await SQLTrackerStore(domain, dialect="sqlite", db=str(db)).retrieve("sessions")
    assert [e.as_dict() for e in view.events] == [e.as_dict() for e in whole.events]
    assert [e.text for e in view.events if isinstance(e, UserUttered)] == ["i dag"]
    assert len(user_texts(db, "sessions")) == WINDOW + 5


async def test_a_short_conversation_is_exactly_what_rasas_store_returns(domain, db):
    store = windowed(domain, db)
    for n in range(WINDOW):
        await turn(store, "short", f"kort {n}", then=[SlotSet("language", "en")])
    view = await store.retrieve("short")
    whole = await SQLTrackerStore(domain, dialect="sqlite", db=str(db)).retrieve("short")
    assert [e.as_dict() for e in view.events] == [e.as_dict() for e in whole.events]


async def test_a_retried_message_is_found_in_the_window_through_rasas_wrappers(domain, db):
    from rasa.core.tracker_store import AwaitableTrackerStore, FailSafeTrackerStore

    from connectors.once import answer_to, recent_events

    store = windowed(domain, db)
    tracker = await store.get_or_create_tracker("retry")
    tracker.update(UserUttered("hva koster dekkskift?", {"name": "ask_price", "confidence": 1.0},
                               message_id="client-7"))
    for event in [ActionExecuted("utter_price"), BotUttered("Dekkskift koster 890 kr."),
                  ActionExecuted("action_listen")]:
        tracker.update(event)
    await store.save(tracker)
    wrapped = AwaitableTrackerStore(FailSafeTrackerStore(store))
    events = await recent_events(wrapped, "retry")
    assert [b.text for b in answer_to(events, "client-7")] == ["Dekkskift koster 890 kr."]
    assert answer_to(events, "client-8") is None
    assert await recent_events(wrapped, "nobody") == []


async def test_the_cache_holds_the_most_recent_conversations_and_reads_an_older_one_anew(domain, db):
    store = WindowedSQLTrackerStore(domain, window_turns=WINDOW, cache_size=3, dialect="sqlite", db=str(db))
    for n in range(5):
        await turn(store, f"kunde-{n}", "hei", "greet", then=[SlotSet("customer_name", f"Kunde {n}")])
        await turn(store, f"kunde-{n}", "hva koster det?")  # a conversation is kept once it is read
    assert list(store._cache) == ["kunde-2", "kunde-3", "kunde-4"]    # bounded, most recent kept
    await turn(store, "kunde-0", "er bilen min ferdig?", "ask_status")  # evicted: read from the database
    view = await store.retrieve("kunde-0")
    assert view.get_slot("customer_name") == "Kunde 0" and view.latest_message.text == "er bilen min ferdig?"
    assert user_texts(db, "kunde-0") == ["hei", "hva koster det?", "er bilen min ferdig?"]
    assert len(store._cache) == 3 and "kunde-0" in store._cache
