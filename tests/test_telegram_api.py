"""bot.telegram_api against the local stand-in of the Bot API: splitting, escaping,
keyboards, retries, and reading updates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from telegram.error import BadRequest, NetworkError

from bot.telegram_api import (
    MAX_TEXT,
    PayloadStore,
    SeenUpdates,
    Sender,
    language_of,
    make_bot,
    parse_update,
    split_text,
)
from tests.telegram_standin import StandIn, start_standin


@pytest.fixture()
def standin() -> Iterator[StandIn]:
    running, stop = start_standin()
    yield running
    stop()


def test_long_texts_are_split_below_the_limit_after_escaping():
    text = "\n".join(f"Linje {n}: pris 1.490 kr (inkl. mva) - ok!" for n in range(400))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= MAX_TEXT for p in parts)
    assert "".join(p.replace("\\", "") for p in parts).replace("\n", "") == text.replace("\n", "")
    assert split_text("x" * 10_000)[0] == "x" * MAX_TEXT  # no break: cut hard


def test_markdown_characters_are_escaped():
    assert split_text("1.2 *fet* _kursiv_ [lenke](x) #tag!") == [
        "1\\.2 \\*fet\\* \\_kursiv\\_ \\[lenke\\]\\(x\\) \\#tag\\!"]


def test_long_payloads_travel_as_short_keys():
    store = PayloadStore()
    short = '/affirm{"suggestion":"12"}'
    long = '/inform{"slot_choice":"2026-11-24T10:00:00","note":"' + "x" * 60 + '"}'
    assert store.callback_data(short) == short
    key = store.callback_data(long)
    assert len(key.encode()) <= 64 and store.resolve(key) == long
    assert store.resolve("#unknown") is None


def test_update_ids_are_processed_once_and_memory_is_bounded():
    seen = SeenUpdates(size=2)
    assert seen.first_time(1) and not seen.first_time(1)
    assert seen.first_time(2) and seen.first_time(3)
    assert seen.first_time(1)  # forgotten after `size` newer ones


@pytest.fixture()
def shared_redis() -> Iterator[redis.Redis]:
    """This machine's Redis (a database of its own), as two Rasa instances of the scale setup share it."""
    client = redis.Redis.from_url("redis://127.0.0.1:6379/14", decode_responses=True, socket_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379: {error}")
    yield client
    client.flushdb()


def test_a_long_payload_sent_by_one_rasa_instance_is_understood_by_the_other(shared_redis):
    sender, receiver = PayloadStore(shared=shared_redis), PayloadStore(shared=shared_redis)
    long = '/inform{"slot_choice":"2026-11-24T10:00:00","note":"' + "y" * 60 + '"}'
    assert receiver.resolve(sender.callback_data(long)) == long
    assert receiver.resolve("#unknown") is None


def test_an_update_retried_to_the_other_rasa_instance_is_processed_once(shared_redis):
    first, second = SeenUpdates(shared=shared_redis), SeenUpdates(shared=shared_redis)
    assert first.first_time(4242) and not second.first_time(4242)


def test_without_redis_the_stores_keep_working_in_memory():
    gone = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.5, socket_connect_timeout=0.5)
    seen, store = SeenUpdates(shared=gone), PayloadStore(shared=gone)
    assert seen.first_time(7) and not seen.first_time(7)
    long = "/deny" + "z" * 80
    assert store.resolve(store.callback_data(long)) == long


@pytest.mark.parametrize(("code", "lang"), [("nb", "nb"), ("no", "nb"), ("sv-SE", "sv"), ("en-GB", "en"),
                                            ("de", "en"), (None, "nb")])
def test_app_language_maps_to_ours(code, lang):
    assert language_of(code) == lang


def test_updates_are_read_by_kind():
    bot = make_bot("1:x")
    base = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "A", "language_code": "sv"}}
    assert parse_update({"update_id": 1, "message": {**base, "text": "/start"}}, bot).text == "/greet"
    assert parse_update({"update_id": 2, "message": {**base, "text": "/help@fjordbil_bot"}}, bot).kind == "help"
    voice = parse_update({"update_id": 3, "message": {**base, "voice": {
        "file_id": "v", "file_unique_id": "vu", "duration": 2}}}, bot)
    assert (voice.kind, voice.language) == ("unsupported", "sv")
    edited = parse_update({"update_id": 4, "edited_message": {**base, "text": "hei", "edit_date": 1}}, bot)
    assert (edited.kind, edited.text, edited.edited) == ("text", "hei", True)
    odd = parse_update({"update_id": 5, "something_new": {"a": 1}}, bot)
    assert (odd.kind, odd.update_type) == ("ignored", "something_new")
    with pytest.raises(ValueError):
        parse_update({"message": {}}, bot)
    with pytest.raises(ValueError):
        parse_update(["not", "a", "dict"], bot)  # type: ignore[arg-type]


async def test_sender_waits_out_flood_control_and_retries_server_errors(standin):
    sender = Sender(make_bot(standin.token, standin.base_url), backoff_s=0.01)
    standin.fail_next("sendMessage", 429, retry_after=1)
    standin.fail_next("sendMessage", 500)
    await sender.send_text(42, "hei", [{"title": "Ja", "payload": "/affirm"}])
    calls = standin.sent()
    assert len(calls) == 3 and calls[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/affirm"


async def test_sender_gives_up_after_its_attempts(standin):
    sender = Sender(make_bot(standin.token, standin.base_url), attempts=2, backoff_s=0.01)
    standin.fail_next("sendMessage", 500, times=5)
    with pytest.raises(NetworkError):
        await sender.send_text(42, "hei")
    assert len(standin.sent()) == 2


async def test_a_bad_request_is_not_retried(standin):
    sender = Sender(make_bot(standin.token, standin.base_url), backoff_s=0.01)
    standin.fail_next("sendMessage", 400)
    with pytest.raises(BadRequest):
        await sender.send_text(42, "hei")
    assert len(standin.sent()) == 1


async def test_buttons_go_under_the_last_part_only(standin):
    sender = Sender(make_bot(standin.token, standin.base_url))
    parts = await sender.send_text(42, "ord " * 2000, [{"title": "Ja", "payload": "/affirm"}])
    calls = standin.sent()
    assert parts == len(calls) == 2
    assert "reply_markup" not in calls[0] and calls[1]["reply_markup"]
