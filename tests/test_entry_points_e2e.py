"""Every entry point of the running stack is protected: Rasa's HTTP API needs the token, the
action server listens on 127.0.0.1 and wants the shared secret, oversized bodies get 413,
messages of one conversation are processed one after the other, Telegram API errors never
fail the webhook, and random input (fuzzed with hypothesis) never gets a 5xx."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation_ids import REST as REST_CHANNEL
from bot.conversation_ids import conversation_id
from bot.endpoints import ACTION_TOKEN_HEADER
from bot.runner import REQUEST_MAX_BYTES, Stack, latest_model, start_stack
from bot.tracker_events import conversation, sender_ids
from bot.tracker_events import engine_for as tracker_engine_for
from tests.servers import free_port, seeded_database
from tests.telegram_standin import StandIn
from tests.test_e2e import say, texts

pytestmark = pytest.mark.e2e
SECRET = "entry-points-webhook-secret"
REST = "/webhooks/rest/webhook"
TELEGRAM = "/webhooks/telegram/webhook"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandIn) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("entry-points")
    url = seeded_database(work)
    running = start_stack(
        free_port(), free_port(), latest_model(), work,
        extra_env={"DATABASE_URL": url, "BOT_ENV": "dev", "TELEGRAM_TOKEN": standin.token,
                   "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": standin.base_url},
        timeout=600,
    )
    yield running
    running.stop()


def request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
            method: str | None = None) -> tuple[int, bytes]:
    call = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def post_json(stack: Stack, path: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    return request(stack.rasa_url + path, data, {"Content-Type": "application/json", **(headers or {})})


# --- who may call what ---------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/status", "/conversations/demo-en/tracker", "/domain"])
def test_rasa_http_api_needs_the_token(stack, path):
    assert request(f"{stack.rasa_url}{path}")[0] == 401
    assert request(f"{stack.rasa_url}{path}?token=wrong-{stack.token}")[0] == 401
    assert request(f"{stack.rasa_url}{path}?token={stack.token}", headers={"Accept": "application/json"})[0] == 200


def test_action_server_refuses_calls_without_the_shared_secret(stack):
    token = stack.env["ACTION_SERVER_TOKEN"]
    call = json.dumps({"next_action": "action_session_start", "tracker": {"sender_id": "x", "events": []}}).encode()
    assert request(f"{stack.action_url}/webhook", call)[0] == 401
    assert request(f"{stack.action_url}/webhook", call, {ACTION_TOKEN_HEADER: token + "x"})[0] == 401
    assert request(f"{stack.action_url}/actions", headers={ACTION_TOKEN_HEADER: "wrong"})[0] == 401
    assert request(f"{stack.action_url}/actions", headers={ACTION_TOKEN_HEADER: token})[0] == 200
    # ... and Rasa, which sends the header, is served: a turn that needs an action works.
    assert "07:30" in texts(say(stack, "entry-1", "når åpner dere på mandag?"))


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def test_action_server_listens_on_localhost_only(stack):
    assert listening_addresses(stack.action_port) == {"0100007F"}  # 127.0.0.1, nothing else


def oversized_status(url: str, headers: dict[str, str], size: int) -> int:
    """Announce a body of `size` bytes and start sending it, as a client would; the server
    may answer (and close) before the body is complete."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest("POST", f"{parts.path}?{parts.query}" if parts.query else parts.path)
        for name, value in {"Content-Type": "application/json", **headers, "Content-Length": str(size)}.items():
            connection.putheader(name, value)
        connection.endheaders()
        chunk = b"a" * 65536
        try:
            for _ in range(0, size, len(chunk)):
                connection.send(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused the body early
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(("target", "size"), [
    ("rest", REQUEST_MAX_BYTES + 1), ("telegram", REQUEST_MAX_BYTES + 1),
    ("rasa_api", REQUEST_MAX_BYTES + 1), ("action_server", 33 * 1024 * 1024),
])
def test_oversized_bodies_get_413(stack, target, size):
    url, headers = {
        "rest": (stack.rasa_url + REST, {}),
        "telegram": (stack.rasa_url + TELEGRAM, {"X-Telegram-Bot-Api-Secret-Token": SECRET}),
        "rasa_api": (f"{stack.rasa_url}/conversations/big/tracker/events?token={stack.token}", {}),
        "action_server": (f"{stack.action_url}/webhook", {ACTION_TOKEN_HEADER: stack.env["ACTION_SERVER_TOKEN"]}),
    }[target]
    assert oversized_status(url, headers, size) == 413
    assert "Strømsveien" in texts(say(stack, "entry-2", "hvor ligger dere?"))  # and still serving


# --- concurrency ----------------------------------------------------------------------------
def test_two_messages_of_one_conversation_at_once_are_processed_in_order(stack):
    sender, first, second = "same-time", "når åpner dere på mandag?", "hvor ligger dere?"
    say(stack, sender, "hei")  # the session exists: both messages race for the same tracker
    answers: dict[str, tuple[float, float, str]] = {}
    together = threading.Barrier(2)

    def send(text: str, delay: float) -> None:
        together.wait()  # both threads running: the second follows the first by `delay` only
        time.sleep(delay)
        sent = time.monotonic()
        reply = texts(say(stack, sender, text))
        answers[text] = (sent, time.monotonic(), reply)

    # A turn takes 25 ms or more end to end: 5 ms later, the first is still being processed.
    threads = [threading.Thread(target=send, args=(first, 0)), threading.Thread(target=send, args=(second, 0.005))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert answers[second][0] < answers[first][1], "the second message was sent after the first was answered"
    assert "07:30" in answers[first][2] and "Strømsveien" in answers[second][2]
    status, body = request(f"{stack.rasa_url}/conversations/rest:{sender}/tracker?token={stack.token}")
    events = [e for e in json.loads(body)["events"] if e["event"] in ("user", "bot")]
    said = [(e["event"], e.get("text") or "") for e in events][-4:]
    assert [kind for kind, _ in said] == ["user", "bot", "user", "bot"], said
    assert said[0][1] == first and "07:30" in said[1][1]
    assert said[2][1] == second and "Strømsveien" in said[3][1]


# --- Telegram API errors ---------------------------------------------------------------------
def telegram_update(update_id: int, text: Any, chat: Any = 770001) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1764000000, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Kari"},
        "from": {"id": chat, "is_bot": False, "first_name": "Kari", "language_code": "nb"}}}


def test_telegram_api_errors_never_fail_the_webhook_and_the_next_update_is_answered(stack, standin):
    standin.calls.clear()
    for number, status in enumerate((403, 500, 429)):  # blocked by the user, server error, flood
        standin.fail_next("sendMessage", status, times=6, retry_after=1)
        code, _ = post_json(stack, TELEGRAM, json.dumps(telegram_update(91000 + number, "hei")).encode(),
                            {"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert code == 200
        standin.failures.clear()
    standin.calls.clear()
    code, _ = post_json(stack, TELEGRAM, json.dumps(telegram_update(91010, "hvor ligger dere?")).encode(),
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert code == 200 and any("Strømsveien" in c["text"] for c in standin.sent())


# --- fuzzing -----------------------------------------------------------------------------------
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                           max_size=3), max_leaves=6)
ODD_TEXT = st.sampled_from(["", " ", "\x00", "\x00\x01\x02\x1b[31m", "\ud800", "\udfff hei", "\u202e\u200b",
                            "🚗" * 500, "/", "/restart", "/affirm{\"x\": 1}", '/slot_choice{"i": -1}',
                            "/book_service{\"service_type\": [1, 2]}", "/nonexistent_intent", "{", "null"])
TEXTS = ODD_TEXT | st.text(max_size=300) | st.builds(lambda c, n: c * n, st.characters(), st.integers(19_990, 20_010))
SENDERS = st.text(min_size=1, max_size=40) | st.sampled_from(["demo-respond", "x" * 129, "../../etc", "\x00"])
REST_BODIES = st.fixed_dictionaries({}, optional={
    "sender": SENDERS | JSON_VALUES, "message": TEXTS | JSON_VALUES, "metadata": JSON_VALUES,
    "input_channel": st.sampled_from(["telegram", "webchat", "rest"]),
}).map(lambda body: json.dumps(body).encode())
FUZZ_SENDERS = st.from_regex(r"fuzz-[a-z0-9]{1,6}", fullmatch=True)
WELL_FORMED = st.fixed_dictionaries(  # these reach Rasa: a plain sender and a non-blank message
    {"sender": FUZZ_SENDERS, "message": ODD_TEXT | st.text(min_size=1, max_size=300).filter(str.strip)},
    optional={"metadata": JSON_VALUES},
).map(lambda body: json.dumps(body).encode())
RAW_BODIES = st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode())
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def assert_clear_answer(status: int, body: bytes) -> None:
    assert 200 <= status < 300 or (400 <= status < 500 and body), (status, body[:300])
    assert status < 500, (status, body[:300])


@FUZZ
@given(body=REST_BODIES | RAW_BODIES)
def test_fuzzed_rest_requests_get_2xx_or_a_clear_4xx(stack, body):
    status, answer = post_json(stack, REST, body)
    assert_clear_answer(status, answer)
    if status == 200 and not json.loads(answer):
        # Examples share senders: nonsense twice in one conversation hands it to a person, and
        # then the bot is silent on purpose (the agent answers from the desk).
        assert handed_to_a_person(stack, json.loads(body)["sender"]), "a 200 carries an answer"


def test_a_conversation_handed_to_a_person_is_the_one_silent_200(stack):
    """What the fuzz test allows: nonsense until the bot hands over, then silence meant for the
    agent; any other conversation is answered."""
    nonsense = json.dumps({"sender": "fuzz-handoff", "message": "\u0001\u0002\u001b[31m"}).encode()
    answers = [json.loads(post_json(stack, REST, nonsense)[1]) for _ in range(3)]
    assert answers[0] and answers[1] and answers[2] == []
    assert handed_to_a_person(stack, "fuzz-handoff") and not handed_to_a_person(stack, "fuzz-never-seen")


def handed_to_a_person(stack: Stack, sender: str) -> bool:
    """Whether the conversation's latest pause/resume is a pause (read from the stack's tracker
    store: Rasa's HTTP API takes the id from the path undecoded, and makes unknown ones)."""
    store = tracker_engine_for(stack.env["TRACKER_DATABASE_URL"])
    turns = [e.type_name for e in conversation(store, conversation_id(REST_CHANNEL, sender))
             if e.type_name in ("pause", "resume")]
    return bool(turns) and turns[-1] == "pause"


@settings(FUZZ, max_examples=30)
@given(body=WELL_FORMED)
def test_fuzzed_messages_reach_the_bot_and_get_an_answer_or_a_clear_4xx(stack, body):
    status, answer = post_json(stack, REST, body)
    assert_clear_answer(status, answer)
    if status == 200:
        assert all(reply.get("text") or reply.get("buttons") for reply in json.loads(answer))


_update_ids = iter(range(800_000, 900_000))


def mutated_update(text: Any, path: tuple[str, ...], value: Any, drop: bool) -> bytes:
    update: dict[str, Any] = telegram_update(next(_update_ids), text)
    update["callback_query"] = {"id": "cb", "from": update["message"]["from"], "data": "/affirm",
                                "message": dict(update["message"])} if path[:1] == ("callback_query",) else None
    if update["callback_query"] is None:
        del update["callback_query"]
    target = update
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target
    if isinstance(target, dict):
        if drop:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return json.dumps(update).encode()


UPDATE_PATHS = st.sampled_from([
    ("update_id",), ("message",), ("message", "text"), ("message", "chat"), ("message", "chat", "id"),
    ("message", "from"), ("message", "from", "language_code"), ("message", "date"), ("message", "entities"),
    ("message", "photo"), ("message", "sticker"), ("edited_message",), ("callback_query", "data"),
    ("callback_query", "message"), ("callback_query", "from"), ("my_chat_member",),
])
TELEGRAM_BODIES = st.builds(mutated_update, TEXTS, UPDATE_PATHS, JSON_VALUES | TEXTS, st.booleans())


@FUZZ
@given(body=TELEGRAM_BODIES | RAW_BODIES)
def test_fuzzed_telegram_updates_get_2xx_or_a_clear_4xx(stack, body):
    status, answer = post_json(stack, TELEGRAM, body, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert_clear_answer(status, answer)


def test_after_the_fuzzing_a_normal_message_gets_a_normal_answer(stack):
    assert all(process.poll() is None for process in stack.processes)
    assert "07:30" in texts(say(stack, "after-fuzz", "når åpner dere på mandag?"))
    store = tracker_engine_for(f"sqlite:///{stack.endpoints.parent / 'tracker.db'}")
    fuzzed = [event for sender in sender_ids(store) if sender.startswith("rest:fuzz-")
              for event in conversation(store, sender) if event.type_name == "user"]
    assert len(fuzzed) >= 8, len(fuzzed)  # the fuzzing did reach Rasa, not only the input checks
