"""The Telegram channel (`POST /webhooks/telegram/webhook`), on python-telegram-bot.

Rasa 3.6's own Telegram connector is built on aiogram 2 and cannot send bot-initiated
messages from the running server. This one checks Telegram's secret header, reads updates
with `telegram.Update.de_json`, answers tapped buttons, politely refuses what is not text,
processes a retried update once, and sends through `bot.telegram_api.Sender` (Markdown
escaped, split at 4096 characters, inline keyboards, 429 and transient errors retried),
from the same event loop as the server, so proactive and handoff messages reach Telegram.
A chat's conversation is `telegram:<chat id>` (bot/conversation_ids.py): no other channel
can write into it.
"""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.conversation_ids import TELEGRAM, conversation_id, recipient
from bot.i18n import channel_text
from bot.shared import redis_client
from bot.telegram_api import PayloadStore, SeenUpdates, Sender, make_bot, parse_update, settings_from_env
from connectors import recovery
from connectors.paused import is_paused
from connectors.turns import within_deadline

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramOutput(OutputChannel):
    """Rasa's responses as Telegram messages, to the chat of a `telegram:<chat id>` conversation."""

    @classmethod
    def name(cls) -> str:
        return TELEGRAM

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.messages_sent = 0

    async def _send(self, conversation: str, text: str, buttons: list[dict[str, Any]] | None = None) -> bool:
        chat = recipient(TELEGRAM, conversation)
        if chat is None:
            log.warning("not sent: a conversation of another channel has no Telegram chat")
            return False
        await self.sender.send_text(chat, text, buttons)
        return True

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if await self._send(recipient_id, text):
            self.messages_sent += 1

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        if await self._send(recipient_id, text, buttons):
            self.messages_sent += 1

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if text:
            await self._send(recipient_id, str(text), json_message.get("buttons"))


class TelegramInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return TELEGRAM

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Secrets come from the environment only (credentials.yml stays free of them)."""
        token, secret, base_url = settings_from_env()
        return cls(token, secret, base_url)

    def __init__(self, token: str | None, secret: str | None, base_url: str) -> None:
        self.token, self.secret = token, secret
        shared = redis_client()  # several Rasa instances (REDIS_URL): buttons and retries work on any
        self.payloads = PayloadStore(shared=shared)
        self.seen = SeenUpdates(shared=shared)
        self.sender = Sender(make_bot(token, base_url), self.payloads) if token else None
        if not token or not secret:
            log.warning("Telegram channel disabled: TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET must both be set")

    def get_output_channel(self) -> OutputChannel | None:
        return TelegramOutput(self.sender) if self.sender else None

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(self.secret) and hmac.compare_digest(given.encode(), (self.secret or "").encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(f"telegram_webhook_{type(self).__name__}", module.__name__ if module else None)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.sender and self.secret else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            recovery.install(request.app)
            if not self._authorised(request) or self.sender is None:
                return response.json({"error": "forbidden"}, status=403)
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json({"error": "update too large"}, status=413)
            try:
                data = request.json
                incoming = parse_update(data, self.sender.bot, self.payloads)
            except Exception:  # noqa: BLE001 - malformed JSON or not an update
                return response.json({"error": "body must be a Telegram update (JSON with update_id)"}, status=400)
            if not self.seen.first_time(incoming.update_id):
                return response.json({"status": "duplicate"})
            await self._handle(incoming, on_new_message)
            return response.json({"status": "ok"})

        return webhook

    async def _handle(self, incoming: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Never raises: Telegram retries any non-200, and the customer must get an answer."""
        assert self.sender is not None
        sender = self.sender
        try:
            if incoming.callback_id:
                await sender.answer_callback(incoming.callback_id)
            if incoming.kind == "ignored":
                log.info("telegram update %s of type %s ignored", incoming.update_id, incoming.update_type)
                return
            if incoming.kind == "unsupported":
                await sender.send_text(incoming.chat_id, channel_text("text_only", incoming.language))
                return
            if incoming.kind == "help":
                await sender.send_text(incoming.chat_id, channel_text("help", incoming.language))
                return
            output = TelegramOutput(sender)
            conversation = conversation_id(TELEGRAM, str(incoming.chat_id))  # never another channel's
            in_time = await within_deadline(on_new_message(
                UserMessage(
                    incoming.text, output, conversation, input_channel=self.name(),
                    metadata={"input_channel": self.name(), "telegram_update_id": incoming.update_id,
                              "edited": incoming.edited},
                )
            ))
            # Too slow, or failed and said nothing: apologise (a late answer still follows).
            if not in_time or (output.messages_sent == 0 and not await is_paused(conversation)):
                await sender.send_text(incoming.chat_id, channel_text("technical_problem", incoming.language))
        except Exception:  # noqa: BLE001 - apologise rather than go silent
            log.exception("telegram update %s could not be processed", incoming.update_id)
            try:
                await sender.send_text(incoming.chat_id, channel_text("technical_problem", incoming.language))
            except Exception:  # noqa: BLE001 - Telegram itself is unreachable: nothing more to do
                log.error("telegram unreachable; the apology for update %s was not sent", incoming.update_id)
