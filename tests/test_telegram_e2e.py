"""Telegram end to end: real update payloads posted to the running Rasa server's webhook,
the bot's outgoing calls going to a local stand-in of the Telegram Bot API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.db.models import ChannelIdentity, Customer
from bot.runner import Stack, latest_model, start_stack
from tests.servers import free_port, seeded_database
from tests.telegram_standin import StandIn

pytestmark = pytest.mark.e2e
SECRET = "s3cret-webhook-token"
CHAT = 777000111
LINKED = 777000999


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandIn) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("telegram")

    def prepare(session: Session) -> None:
        # Karoline linked her Telegram chat to her profile earlier.
        karoline = session.query(Customer).filter_by(demo_key="demo-curated").one()
        session.add(ChannelIdentity(customer_id=karoline.id, channel="telegram", external_id=str(LINKED)))

    url = seeded_database(work, prepare)
    running = start_stack(
        free_port(), free_port(), latest_model(), work,
        extra_env={"DATABASE_URL": url, "BOT_ENV": "dev", "TELEGRAM_TOKEN": standin.token,
                   "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": standin.base_url},
    )
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def clean(standin: StandIn) -> None:
    standin.calls.clear()
    standin.failures.clear()


def post_update(stack: Stack, body: Any, secret: str | None = SECRET, raw: bytes | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/telegram/webhook", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


_next_id = [5000]


def user(lang: str = "nb") -> dict[str, Any]:
    return {"id": CHAT, "is_bot": False, "first_name": "Kari", "language_code": lang}


def message_update(text: str | None = None, chat: int = CHAT, lang: str = "nb", **extra: Any) -> dict[str, Any]:
    _next_id[0] += 1
    message = {"message_id": _next_id[0], "date": 1764000000, "chat": {"id": chat, "type": "private",
               "first_name": "Kari"}, "from": {**user(lang), "id": chat}, **extra}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": _next_id[0], "message": message}


def texts(standin: StandIn) -> list[str]:
    return [call["text"] for call in standin.sent()]


def test_wrong_or_missing_secret_is_refused(stack, standin):
    assert post_update(stack, message_update("hei"), secret=None)[0] == 403
    assert post_update(stack, message_update("hei"), secret="guess")[0] == 403
    assert standin.calls == []


def test_malformed_json_is_a_clear_400(stack):
    status, body = post_update(stack, None, raw=b"{not json")
    assert status == 400 and "update" in body["error"]
    assert post_update(stack, {"no": "update_id"})[0] == 400


def test_start_greets_and_text_gets_an_answer_in_the_customers_language(stack, standin):
    assert post_update(stack, message_update("/start"))[0] == 200
    assert post_update(stack, message_update("hvor ligger verkstedet?"))[0] == 200
    sent = texts(standin)
    assert sent and any("Strømsveien 200" in t for t in sent)
    assert all(call["chat_id"] == str(CHAT) for call in standin.sent())
    assert all(call["parse_mode"] == "MarkdownV2" for call in standin.sent())


def test_help_command_answers_from_the_channel(stack, standin):
    post_update(stack, message_update("/help", lang="en"))
    assert "I'm Fjordbil's assistant" in texts(standin)[0]


def test_a_linked_chat_is_the_customer_and_buttons_work(stack, standin):
    chat = LINKED
    post_update(stack, message_update("hei", chat=chat))
    assert "Karoline" in texts(standin)[0]  # the chat id maps to the customer
    post_update(stack, message_update("jeg vil bestille vask neste onsdag", chat=chat))
    with_buttons = [c for c in standin.sent() if c.get("reply_markup")]
    assert with_buttons, texts(standin)
    keyboard = with_buttons[-1]["reply_markup"]["inline_keyboard"]
    choice = keyboard[0][0]
    assert choice["callback_data"].startswith("/inform")
    standin.calls.clear()
    _next_id[0] += 1
    tap = {"update_id": _next_id[0], "callback_query": {
        "id": "cb-1", "from": {**user(), "id": chat}, "chat_instance": "x", "data": choice["callback_data"],
        "message": {"message_id": 1, "date": 1764000000, "chat": {"id": chat, "type": "private"}, "text": "…"}}}
    assert post_update(stack, tap)[0] == 200
    assert standin.sent("answerCallbackQuery")[0]["callback_query_id"] == "cb-1"
    assert texts(standin), "the tap was not processed"


def test_edited_message_is_processed_as_the_new_text(stack, standin):
    update = message_update("når åpner dere på mandag?")
    update["edited_message"] = update.pop("message")
    update["edited_message"]["edit_date"] = 1764000100
    assert post_update(stack, update)[0] == 200
    assert any("07:30" in t for t in texts(standin))


def test_photos_and_stickers_are_refused_politely_in_the_users_language(stack, standin):
    photo = message_update(photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}])
    sticker = message_update(lang="sv", sticker={"file_id": "s", "file_unique_id": "su", "width": 1, "height": 1,
                                                "is_animated": False, "is_video": False, "type": "regular"})
    assert post_update(stack, photo)[0] == 200 and post_update(stack, sticker)[0] == 200
    assert texts(standin) == [
        "Jeg kan bare lese tekst foreløpig\\. Skriv gjerne hva du lurer på, så hjelper jeg deg\\.",
        "Jag kan bara läsa text än så länge\\. Skriv gärna vad du undrar över, så hjälper jag dig\\.",
    ]


def test_unknown_update_types_are_acknowledged_and_ignored(stack, standin):
    _next_id[0] += 1
    poll = {"update_id": _next_id[0], "poll": {"id": "p", "question": "?", "options": [], "total_voter_count": 0,
                                              "is_closed": False, "is_anonymous": True, "type": "regular",
                                              "allows_multiple_answers": False}}
    assert post_update(stack, poll) == (200, {"status": "ok"})
    assert standin.calls == []


def test_a_retried_update_is_processed_once(stack, standin):
    update = message_update("hva koster dekkskift?")
    assert post_update(stack, update) == (200, {"status": "ok"})
    first = len(standin.sent())
    assert post_update(stack, update) == (200, {"status": "duplicate"})
    assert len(standin.sent()) == first


def test_flood_control_and_server_errors_are_retried(stack, standin):
    standin.fail_next("sendMessage", 429, retry_after=1)
    standin.fail_next("sendMessage", 500)
    assert post_update(stack, message_update("hvor ligger verkstedet?"))[0] == 200
    statuses = [c.method for c in standin.calls]
    assert statuses.count("sendMessage") >= 3
    assert any("Strømsveien 200" in t for t in texts(standin))


def test_bot_initiated_message_reaches_telegram(stack, standin):
    chat = CHAT + 2
    post_update(stack, message_update("hei", chat=chat))
    standin.calls.clear()
    request = urllib.request.Request(
        f"{stack.rasa_url}/conversations/telegram:{chat}/trigger_intent?output_channel=telegram&token={stack.token}",
        data=json.dumps({"name": "ask_opening_hours"}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    sent = standin.wait_for("sendMessage", 1)
    assert sent[0]["chat_id"] == str(chat) and "07:30" in sent[0]["text"]


def test_polling_feeds_updates_through_the_same_webhook(stack, standin, monkeypatch):
    from bot.cli import main

    standin.updates.append(message_update("hvor ligger verkstedet?", chat=CHAT + 3))
    monkeypatch.setenv("TELEGRAM_TOKEN", standin.token)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", standin.base_url)
    assert main(["telegram", "poll", "--rasa-url", stack.rasa_url, "--once"]) == 0
    assert [c.method for c in standin.calls][:2] == ["deleteWebhook", "getUpdates"]
    assert any("Strømsveien 200" in t for t in texts(standin))
    standin.updates.clear()


def test_set_webhook_registers_the_url_with_the_secret(standin, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("TELEGRAM_TOKEN", standin.token)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", standin.base_url)
    assert main(["telegram", "set-webhook", "https://bot.example.no"]) == 0
    call = standin.sent("setWebhook")[0]
    assert call["url"] == "https://bot.example.no/webhooks/telegram/webhook"
    assert call["secret_token"] == SECRET
    assert main(["telegram", "set-webhook", "http://insecure.example.no"]) == 2
