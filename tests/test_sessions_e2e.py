"""Conversation ids are no credentials: each attack of issue 16 against a running stack.

Outside dev mode (`bot run` itself, with BOT_ENV=production): another conversation's history,
another web chat session's socket room, a REST message without a valid signature and a
cross-origin request from a page not allowed are all refused; and SIGTERM (what systemd, Docker
and Kubernetes send) stops every child within 10 s and frees every port. In dev mode (the shared
stack, where REST is open and any id can be signed for the demo): a guest verified on one
channel is a guest again when the same conversation id is reached from another channel, so
nothing of the customer's is shown.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from bot.config import PROJECT_ROOT
from bot.runner import BIN, Stack, wait_http
from bot.signing import REST, sign
from tests.servers import WebChatPage as Page
from tests.servers import disconnect_socket, free_port, seeded_database, webchat_token
from tests.test_e2e import say, texts

pytestmark = pytest.mark.e2e
REST_SECRET = "sessions-e2e-rest-signing-secret"
EVIL = "http://evil.example"
WAIT_S = 60   # a busy machine may take long for a turn; the refusals come at once


STOP_WITHIN_S = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`bot run` as an operator starts it in production: its own secrets, its own ports."""
    work = tmp_path_factory.mktemp("sessions")
    url = seeded_database(work)
    running = Stack(free_port(), free_port(), "sessions-e2e-rasa-token", web_port=free_port())
    running.env = {
        **os.environ, "DATABASE_URL": url, "TRACKER_DATABASE_URL": f"sqlite:///{work / 'tracker.db'}",
        "BOT_ENV": "production", "REST_SIGNING_SECRET": REST_SECRET, "RASA_TOKEN": running.token,
        "WEBCHAT_SECRET": "sessions-e2e-webchat-secret", "ACTION_SERVER_TOKEN": "sessions-e2e-action-token",
        "DESK_SECRET": "sessions-e2e-desk-secret",
        "WEBCHAT_ORIGINS": f"http://127.0.0.1:{running.web_port},http://localhost:{running.web_port}",
    }
    log = work / "bot-run.log"
    process = subprocess.Popen(
        [str(BIN / "bot"), "run", "--rasa-port", str(running.rasa_port), "--action-port", str(running.action_port),
         "--web-port", str(running.web_port)],
        cwd=PROJECT_ROOT, env=running.env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    running.processes, running.logs = [process], [log]
    try:
        wait_http(f"{running.web_url}/health", 600, process)
        wait_http(f"{running.rasa_url}/status?token={running.token}", 600, process)
        yield running
    finally:
        kill_tree(process)


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process and everything below it: whatever a failed test left behind."""
    for pid in [*descendants(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(30)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parents.items() if parent in frontier]
        found += below
        frontier = below
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def call(url: str, body: Any = None, headers: dict[str, str] | None = None,
         method: str | None = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_S) as reply:
            return reply.status, dict(reply.headers), decoded(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), decoded(error.read())


def decoded(raw: bytes) -> Any:
    """JSON when it is JSON, else the text."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def rest(stack: Stack, sender: str, text: str, signature: str | None = None) -> tuple[int, Any]:
    headers = {"X-Sender-Signature": signature} if signature is not None else {}
    status, _, body = call(f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text}, headers)
    return status, body


def tracker_texts(stack: Stack, conversation: str) -> list[str]:
    status, _, tracker = call(f"{stack.rasa_url}/conversations/{conversation}/tracker?token={stack.token}")
    assert status == 200
    return [e.get("text") or "" for e in tracker["events"] if e.get("event") == "user"]


# --- the web chat: history and socket rooms ------------------------------------------------------
def test_the_history_of_a_conversation_is_served_only_to_its_own_session(stack):
    victim = "0123456789abcdef0123456789abcdef"

    async def chat() -> None:
        async with Page(stack) as page:
            assert await page.join(victim, webchat_token(stack, victim)) == victim
            assert await page.say("hva koster et dekkskift?")

    asyncio.run(chat())
    base = f"{stack.web_url}/chat/history/{victim}"
    assert call(base)[0] == 403   # today's code: the whole transcript, no cookie needed
    cookie = {"Cookie": f"fjordbil_chat={victim}.{webchat_token(stack, victim)}"}
    forged = {"Cookie": f"fjordbil_chat={victim}.{'0' * 64}"}
    assert call(base, headers=forged)[0] == 403
    status, _, body = call(base, headers=cookie)
    assert status == 200 and any(t["text"] == "hva koster et dekkskift?" for t in body["turns"])
    # A REST conversation has no web history, even for a browser that holds a cookie of its id.
    signed = sign(REST_SECRET, REST, "rest-history")
    assert rest(stack, "rest-history", "hei", signed)[0] == 200
    rest_cookie = {"Cookie": f"fjordbil_chat=rest-history.{webchat_token(stack, 'rest-history')}"}
    status, _, body = call(f"{stack.web_url}/chat/history/rest-history", headers=rest_cookie)
    assert status == 200 and body["turns"] == []   # its web chat conversation is another one, empty


def test_a_page_issued_by_the_server_gets_a_random_session_and_demo_ids_only_in_dev_mode(stack):
    request = urllib.request.Request(f"{stack.web_url}/chat?session=demo-coach")
    with urllib.request.urlopen(request, timeout=WAIT_S) as reply:
        page, cookie = reply.read().decode(), reply.headers["Set-Cookie"]
    session_id = re.search(r'data-session="([0-9a-f]{32})"', page).group(1)
    assert "demo-coach" not in page and session_id in cookie and "HttpOnly" in cookie


def test_another_sessions_socket_room_cannot_be_joined_or_written_to(stack):
    victim = "fedcba9876543210fedcba9876543210"

    async def attack() -> tuple[Any, Any, list[str], Any]:
        async with Page(stack) as owner, Page(stack) as attacker:
            assert await owner.join(victim, webchat_token(stack, victim)) == victim
            no_token = await attacker.join(victim, None)
            wrong = await attacker.join(victim, webchat_token(stack, "another-session"))
            # A bot-initiated message (an agent's reply, a proactive one) reaches the owner only.
            status, _, _ = call(f"{stack.rasa_url}/conversations/{victim}/tracker/events?token={stack.token}"
                                "&output_channel=webchat&execute_side_effects=true",
                                [{"event": "bot", "text": "Hei, dette er Kari på kundeservice."}])
            assert status == 200
            received = await asyncio.wait_for(owner.messages.get(), WAIT_S)
            await asyncio.sleep(2)
            leaked = [m.get("text") for m in list(attacker.messages._queue)]  # noqa: SLF001
            # Nor can it write into the conversation by naming its id in a message.
            await attacker.client.emit("user_uttered", {"message": "vis meg fakturaen min", "session_id": victim})
            refused = await asyncio.wait_for(attacker.errors.get(), WAIT_S)
            return (no_token, wrong, leaked, (received, refused))

    no_token, wrong, leaked, (received, refused) = asyncio.run(attack())
    assert isinstance(no_token, dict) and "not valid" in no_token["error"]
    assert isinstance(wrong, dict) and "not valid" in wrong["error"]
    assert received["text"] == "Hei, dette er Kari på kundeservice." and leaked == []
    assert "session_request" in refused["error"]
    assert "vis meg fakturaen min" not in tracker_texts(stack, f"webchat:{victim}")


# --- REST: a sender only with proof -----------------------------------------------------------------
def test_rest_messages_need_a_valid_signature_of_their_sender_outside_dev_mode(stack):
    status, body = rest(stack, "rest-customer", "hei")
    assert status == 401 and "X-Sender-Signature" in body["error"]   # today's code: answered
    assert rest(stack, "rest-customer", "hei", "0" * 64)[0] == 401
    assert rest(stack, "rest-customer", "hei", sign(REST_SECRET, REST, "someone-else"))[0] == 401
    assert rest(stack, "rest-customer", "hei", sign("another-secret-entirely", REST, "rest-customer"))[0] == 401
    # A web chat token is no REST signature (each purpose signs differently).
    assert rest(stack, "rest-customer", "hei", webchat_token(stack, "rest-customer"))[0] == 401
    status, replies = rest(stack, "rest-customer", "hva koster et dekkskift?", sign(REST_SECRET, REST, "rest-customer"))
    assert status == 200 and "890" in texts(replies)
    assert "hei" not in tracker_texts(stack, "rest:rest-customer")   # the refused ones never reached the bot


def test_a_web_chat_conversation_cannot_be_continued_over_rest(stack):
    victim = "00112233445566778899aabbccddeeff"

    async def chat() -> None:
        async with Page(stack) as page:
            assert await page.join(victim, webchat_token(stack, victim)) == victim
            await page.say("hei")

    asyncio.run(chat())
    assert rest(stack, victim, "vis meg fakturaen min")[0] == 401
    # Not even with a valid signature of that id: the REST client speaks in `rest:<id>`, a
    # conversation of its own (today's code: 409, before it the web chat's conversation).
    for named in (victim, f"webchat:{victim}"):
        status, _ = rest(stack, named, "vis meg fakturaen min", sign(REST_SECRET, REST, named))
        assert status == 200
        assert "vis meg fakturaen min" in tracker_texts(stack, f"rest:{named}")
    assert tracker_texts(stack, f"webchat:{victim}") == ["hei"]


def test_a_telegram_conversation_cannot_be_written_into_over_rest(stack):
    # A Telegram chat id is no secret; whatever id a signed REST client names, Telegram's
    # conversation `telegram:<chat>` gets nothing (Rasa keys conversations by id alone).
    chat = "5550001"
    for named in (chat, f"telegram:{chat}"):
        status, _ = rest(stack, named, "vis meg fakturaen min", sign(REST_SECRET, REST, named))
        assert status == 200 and "vis meg fakturaen min" in tracker_texts(stack, f"rest:{named}")
    assert tracker_texts(stack, f"telegram:{chat}") == []


# --- CORS ------------------------------------------------------------------------------------------
def test_cross_origin_requests_are_allowed_only_for_the_web_chat_origins(stack):
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    _, evil, _ = call(url, headers={"Origin": EVIL, **preflight}, method="OPTIONS")
    assert "Access-Control-Allow-Origin" not in evil   # today's code: "*"
    _, evil_get, _ = call(f"{stack.rasa_url}/", headers={"Origin": EVIL})
    assert "Access-Control-Allow-Origin" not in evil_get
    _, own, _ = call(url, headers={"Origin": stack.web_url, **preflight}, method="OPTIONS")
    assert own.get("Access-Control-Allow-Origin") == stack.web_url

    async def socket_from(origin: str) -> bool:
        client = socketio.AsyncClient()
        try:
            await client.connect(stack.rasa_url, socketio_path="/socket.io", transports=["polling"],
                                 headers={"Origin": origin}, wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            return False
        await disconnect_socket(client)
        return True

    assert asyncio.run(socket_from(EVIL)) is False
    assert asyncio.run(socket_from(stack.web_url)) is True


# --- dev mode: the conversation's channel identity decides, not the slot ----------------------------
def test_a_guest_verified_over_rest_is_a_guest_again_on_the_web_chat_with_the_same_id(shared_stack):
    sender = "crosschannel-guest"
    assert texts(say(shared_stack, sender, "har jeg en time hos dere?"))
    say(shared_stack, sender, "912 34 567")
    code = re.findall(r"one-time code: (\d{6})", shared_stack.logs[0].read_text())[-1]
    assert "Kari" in texts(say(shared_stack, sender, code))   # verified over REST

    async def from_the_web_chat() -> str:
        async with Page(shared_stack) as page:
            # In dev mode the page signs any plain id (the demo customers'); so the id is known here.
            assert await page.join(sender, webchat_token(shared_stack, sender)) == sender
            return "\n".join(m.get("text") or "" for m in await page.say("har jeg en time hos dere?"))

    answer = asyncio.run(from_the_web_chat())
    assert "Kari" not in answer and ("mobilnummer" in answer or "e-post" in answer), answer
    # Each channel has its own conversation of that id: the web chat's never saw the REST turns,
    # and REST goes on in its own.
    assert tracker_texts(shared_stack, f"webchat:{sender}") == ["har jeg en time hos dere?"]
    status, _, _ = call(f"{shared_stack.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": "hei"})
    assert status == 200 and tracker_texts(shared_stack, f"rest:{sender}")[-1] == "hei"


# --- the web server's own environment --------------------------------------------------------------
def test_the_web_server_runs_on_a_current_aiohttp_of_its_own_environment(stack):
    pinned = re.search(r"^aiohttp==([\d.]+)$", (PROJECT_ROOT / "bot/web/requirements.txt").read_text(), re.M).group(1)
    _, headers, _ = call(f"{stack.web_url}/health")
    served = re.search(r"aiohttp/([\d.]+)", headers.get("Server", "")).group(1)
    version = tuple(int(part) for part in served.split("."))
    assert served == pinned and version >= (3, 12, 14), served   # today's code: 3.9.5 (Rasa's pin)
    web = [pid for pid in descendants(stack.processes[0].pid)
           if b" web " in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") + b" "]
    assert web and b".venv-web" in Path(f"/proc/{web[0]}/cmdline").read_bytes()


# --- a clean stop (the last test of the module: it stops the stack) ---------------------------------
def test_sigterm_to_bot_run_stops_every_child_within_10_s_and_frees_every_port(stack):
    process = stack.processes[0]
    children = descendants(process.pid)
    ports = [stack.rasa_port, stack.action_port, stack.web_port]
    assert len(children) >= 4 and all(listening(port) for port in ports)   # actions, Rasa, web, scheduler
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)   # today's code: bot run ends, its children keep running
    process.wait(timeout=60)
    took = time.monotonic() - started
    left = [pid for pid in children if alive(pid)]
    assert not left and took <= STOP_WITHIN_S, (left, took)
    assert not any(listening(port) for port in ports)
