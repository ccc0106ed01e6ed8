"""The REST channel (`POST /webhooks/rest/webhook`), hardened.

Rasa's own RestInput answers a failed turn with silence or a 500, takes any JSON, and
lets the client choose the input channel (and so pose as another channel's sender).
This one validates the request, keeps the channel name fixed, and never leaves the
customer without an answer: if the turn produced nothing, it apologises in the
customer's language and offers a person. A sender id is no credential: outside dev mode a
client shows an HMAC of it (`REST_SIGNING_SECRET`). The client's sender speaks in the
conversation `rest:<sender>` (bot/conversation_ids.py), so it can never write into a conversation
of another channel, whatever id it names.
"""

from __future__ import annotations

import inspect
import json
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversation_ids import REST as REST_CHANNEL
from bot.conversation_ids import conversation_id
from bot.i18n import channel_text
from bot.lang import detect_language
from bot.signing import REST, rest_policy, rest_secret, verify
from connectors import recovery
from connectors.once import handle_once
from connectors.paused import is_paused
from connectors.turns import within_deadline

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 20_000
MAX_SENDER_CHARS = 128
SIGNATURE_HEADER = "X-Sender-Signature"


def bad_request(reason: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def is_unicode(value: str) -> bool:
    """False for strings with lone surrogates (JSON allows "\\ud800"; no store can keep them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refused_sender(request: Request, sender_id: str) -> HTTPResponse | None:
    """None when this client may speak as `sender_id`, else the 401/403 that says why.

    A sender id is no credential: with `REST_SIGNING_SECRET` the client shows an HMAC of it
    (`bot rest sign SENDER`); without the secret only dev mode is open, for the demo and curl.
    """
    policy = rest_policy()
    if policy == "open":
        return None
    if policy == "closed":
        return bad_request("the REST channel is closed: set REST_SIGNING_SECRET (or BOT_ENV=dev)", 403)
    if not verify(rest_secret() or "", REST, sender_id, request.headers.get(SIGNATURE_HEADER)):
        return bad_request(f"{SIGNATURE_HEADER} missing or not valid for this sender", 401)
    return None


def is_plain_id(value: str) -> bool:
    return is_unicode(value) and not any(unicodedata.category(char) in ("Cc", "Cf") for char in value)


async def conversation_language(request: Request, sender_id: str, text: str) -> str | None:
    """The language to apologise in: the conversation's, else the message's."""
    try:
        agent = request.app.ctx.agent
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is not None and tracker.get_slot("language"):
            return str(tracker.get_slot("language"))
    except Exception:  # noqa: BLE001 - the tracker store may be what failed
        log.debug("could not read the conversation language")
    return detect_language(text)


class SafeRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return REST_CHANNEL

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(f"safe_webhook_{type(self).__name__}", module.__name__ if module else None)

        @webhook.listener("after_server_start")
        async def recover_broken_turns(app: Any, _loop: Any) -> None:
            recovery.install(app)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            recovery.install(request.app)  # again after a model reload (a new processor)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - sanic raises on malformed JSON
                return bad_request("body must be JSON: {\"sender\": \"...\", \"message\": \"...\"}")
            if not isinstance(body, dict):
                return bad_request("body must be a JSON object with 'sender' and 'message'")
            sender_id, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
            message_id = body.get("message_id")
            if not isinstance(sender_id, str) or not sender_id.strip():
                return bad_request("'sender' must be a non-empty string")
            if len(sender_id) > MAX_SENDER_CHARS:
                return bad_request(f"'sender' is longer than {MAX_SENDER_CHARS} characters")
            if not is_plain_id(sender_id):
                return bad_request("'sender' must be text without control characters")
            refused = refused_sender(request, sender_id)
            if refused is not None:
                return refused
            conversation = conversation_id(REST_CHANNEL, sender_id)  # never another channel's conversation
            if text is None:
                text = ""
            if not isinstance(text, str):
                return bad_request("'message' must be a string")
            if len(text) > MAX_MESSAGE_CHARS:
                return bad_request(f"'message' is longer than {MAX_MESSAGE_CHARS} characters", 413)
            if not is_unicode(text):
                return bad_request("'message' is not valid Unicode text")
            text = text.replace("\x00", "")  # PostgreSQL cannot store NUL; it carries no meaning
            if message_id is not None and (
                not isinstance(message_id, str) or not message_id.strip() or len(message_id) > MAX_SENDER_CHARS
                or not is_plain_id(message_id)
            ):
                return bad_request(f"'message_id' must be text of at most {MAX_SENDER_CHARS} characters")
            if metadata is not None and not isinstance(metadata, dict):
                return bad_request("'metadata' must be an object")
            if metadata and not is_unicode(json.dumps(metadata, ensure_ascii=False)):
                return bad_request("'metadata' is not valid Unicode text")
            if not text.strip():
                lang = await conversation_language(request, conversation, text)
                return response.json([{"recipient_id": sender_id, "text": channel_text("empty_message", lang)}])

            collector = CollectingOutputChannel()
            in_time = True
            message = UserMessage(text, collector, conversation, input_channel=self.name(), message_id=message_id,
                                  # the channel is ours to say, never the client's
                                  metadata={**(metadata or {}), "input_channel": self.name()})
            try:
                # A client's own message id makes a retry safe: answered once (connectors/once.py).
                turn = handle_once(request.app, message) if message_id else on_new_message(message)
                in_time = await within_deadline(turn)
            except Exception:  # noqa: BLE001 - the customer still gets an answer below
                log.exception("processing a REST message failed")
            # A late turn may still add to the collector. The client sees its own sender id.
            messages = [{**m, "recipient_id": sender_id} for m in collector.messages]
            if not in_time or (not messages and not await is_paused(conversation, request.app)):
                lang = await conversation_language(request, conversation, text)
                messages.append({"recipient_id": sender_id, "text": channel_text("technical_problem", lang)})
            return response.json(messages)

        return webhook
