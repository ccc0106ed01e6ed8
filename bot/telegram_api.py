"""Talking to Telegram with python-telegram-bot: reading updates, and sending text with
inline buttons reliably (Markdown escaped, split at 4096 characters, 429 and transient
errors retried). No Rasa here: the Rasa channel and the `bot telegram` command share it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import redis
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.helpers import escape_markdown

from bot.shared import key

log = logging.getLogger(__name__)

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
T = TypeVar("T")


def settings_from_env() -> tuple[str | None, str | None, str]:
    """TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET and TELEGRAM_API_BASE_URL (for a local Bot API)."""
    return (
        os.environ.get("TELEGRAM_TOKEN") or None,
        os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None,
        os.environ.get("TELEGRAM_API_BASE_URL") or DEFAULT_BASE_URL,
    )


def make_bot(token: str, base_url: str = DEFAULT_BASE_URL) -> Bot:
    return Bot(token=token, base_url=base_url)


def language_of(language_code: str | None) -> str:
    """The Telegram app's language as ours: Scandinavian → nb or sv, anything else → en."""
    code = (language_code or "").lower().split("-")[0]
    if code in ("nb", "no", "nn", "da"):
        return "nb"
    if code == "sv":
        return "sv"
    return "en" if code else "nb"


# --- incoming -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Incoming:
    """What an update means for the assistant.

    kind: "text" (a message or a tapped button's payload for Rasa), "help", "unsupported"
    (photo, sticker, voice ...: answered politely) or "ignored" (other update types).
    """

    kind: str
    update_id: int
    chat_id: int | None = None
    text: str | None = None
    callback_id: str | None = None
    language: str = "nb"
    edited: bool = False
    update_type: str = ""


def parse_update(data: dict[str, Any], bot: Bot, payloads: PayloadStore | None = None) -> Incoming:
    """Read one update as Telegram sends it; raises ValueError when it is not an update."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise ValueError("not a Telegram update")
    kinds = [key for key in data if key != "update_id"]
    update_type = kinds[0] if kinds else "empty"
    try:
        update = Update.de_json(data, bot)
    except Exception:  # noqa: BLE001 - a type this library version cannot read: acknowledge it
        log.info("telegram update %s of type %s could not be read", data["update_id"], update_type)
        update = None
    if update is None:
        return Incoming("ignored", data["update_id"], update_type=update_type)
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        payload = payloads.resolve(query.data) if payloads is not None else query.data
        return Incoming(
            "text" if payload else "ignored", update.update_id, chat, payload, query.id,
            language_of(query.from_user.language_code), update_type=update_type,
        )
    message = update.message or update.edited_message
    if message is None:
        return Incoming("ignored", update.update_id, update_type=update_type)
    language = language_of(message.from_user.language_code if message.from_user else None)
    edited = update.edited_message is not None
    text = message.text
    if text is None:
        return Incoming("unsupported", update.update_id, message.chat.id, language=language, edited=edited,
                        update_type=update_type)
    command = text.strip().split(maxsplit=1)[0].split("@")[0].lower() if text.strip().startswith("/") else None
    if command == "/start":
        text = "/greet"
    elif command == "/help":
        return Incoming("help", update.update_id, message.chat.id, language=language, update_type=update_type)
    return Incoming("text", update.update_id, message.chat.id, text, language=language, edited=edited,
                    update_type=update_type)


class SeenUpdates:
    """Update ids processed lately, so a retried delivery from Telegram is processed once, by
    whichever Rasa instance gets it (in Redis at scale, else in memory)."""

    def __init__(self, size: int = 10_000, shared: redis.Redis | None = None, ttl_s: int = 86_400) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size
        self._shared, self._ttl = shared, ttl_s

    def first_time(self, update_id: int) -> bool:
        if self._shared is not None:
            try:
                return bool(self._shared.set(key("telegram", "update", update_id), 1, nx=True, ex=self._ttl))
            except redis.RedisError:
                log.warning("Redis unreachable: duplicate Telegram updates are recognised by this process only")
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class PayloadStore:
    """Button payloads longer than Telegram's 64-byte callback_data travel as a short key; at
    scale the key is kept in Redis, so a button sent by one Rasa instance works on the other."""

    def __init__(self, size: int = 50_000, shared: redis.Redis | None = None, ttl_s: int = 30 * 86_400) -> None:
        self._by_key: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._shared, self._ttl = shared, ttl_s

    def callback_data(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_BYTES:
            return payload
        short = "#" + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._by_key[short] = payload
        self._by_key.move_to_end(short)
        if len(self._by_key) > self._size:
            self._by_key.popitem(last=False)
        if self._shared is not None:
            try:
                self._shared.set(key("telegram", "payload", short), payload, ex=self._ttl)
            except redis.RedisError:
                log.warning("Redis unreachable: a long button payload is known to this process only")
        return short

    def resolve(self, data: str | None) -> str | None:
        if not (data and data.startswith("#")):
            return data
        if data in self._by_key:
            return self._by_key[data]
        if self._shared is not None:
            try:
                return self._shared.get(key("telegram", "payload", data))
            except redis.RedisError:
                log.warning("Redis unreachable: a long button payload could not be looked up")
        return None


# --- outgoing -----------------------------------------------------------------------------
def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Markdown-escaped chunks of at most `limit` characters, cut at line or word breaks."""
    chunks: list[str] = []
    rest = text
    while rest:
        escaped = escape_markdown(rest, version=2)
        if len(escaped) <= limit:
            chunks.append(escaped)
            break
        # Largest prefix whose escaped form fits, preferring a newline, then a space.
        low, high = 1, len(rest)
        while low < high:
            mid = (low + high + 1) // 2
            if len(escape_markdown(rest[:mid], version=2)) <= limit:
                low = mid
            else:
                high = mid - 1
        newline, space = rest.rfind("\n", 0, low), rest.rfind(" ", 0, low)
        cut = newline if newline > low // 2 else space if space > low // 2 else low
        chunks.append(escape_markdown(rest[:cut].rstrip(), version=2))
        rest = rest[cut:].lstrip()
    return [chunk for chunk in chunks if chunk] or [escape_markdown(" ", version=2)]


def keyboard(buttons: list[dict[str, Any]], payloads: PayloadStore) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(str(b.get("title") or "")[:64], callback_data=payloads.callback_data(str(b["payload"])))]
        for b in buttons
        if b.get("payload")
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class Sender:
    """Sends through a Bot, waiting out 429s and retrying transient failures."""

    def __init__(self, bot: Bot, payloads: PayloadStore | None = None, attempts: int = 4,
                 max_wait_s: float = 30.0, backoff_s: float = 0.5) -> None:
        self.bot = bot
        self.payloads = payloads or PayloadStore()
        self.attempts = attempts
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except RetryAfter as error:
                value = error._retry_after  # a timedelta; the public attribute warns in v22
                wait = min(self.max_wait_s, value.total_seconds())
                log.warning("telegram %s: flood control, retrying in %.1f s", what, wait)
            except (BadRequest, Forbidden):
                raise  # our request or the chat is wrong: retrying will not help
            except (TimedOut, NetworkError) as error:
                wait = self.backoff_s * 2 ** (attempt - 1)
                log.warning("telegram %s failed (%s), attempt %d", what, type(error).__name__, attempt)
            if attempt == self.attempts:
                break
            await asyncio.sleep(wait)
        raise NetworkError(f"telegram {what}: gave up after {self.attempts} attempts")

    async def send_text(self, chat_id: int | str, text: str, buttons: list[dict[str, Any]] | None = None) -> int:
        """Send `text` (split if long; buttons under the last part). Returns the parts sent."""
        parts = split_text(text or "")
        markup = keyboard(buttons or [], self.payloads)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await self._call("sendMessage", lambda part=part, last=last: self.bot.send_message(
                chat_id=chat_id, text=part, parse_mode=ParseMode.MARKDOWN_V2,
                reply_markup=markup if last else None,
            ))
        return len(parts)

    async def answer_callback(self, callback_id: str) -> None:
        """Stop the spinner on the tapped button; a failure here must not lose the message."""
        try:
            await self._call("answerCallbackQuery", lambda: self.bot.answer_callback_query(callback_id))
        except Exception as error:  # noqa: BLE001 - the tap itself is still processed
            log.warning("telegram answerCallbackQuery failed: %s", type(error).__name__)


# --- setup and local development ----------------------------------------------------------
WEBHOOK_PATH = "/webhooks/telegram/webhook"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def webhook_url(public_url: str) -> str:
    """`https://host` or the full webhook URL; Telegram needs HTTPS."""
    url = public_url.rstrip("/")
    if not url.startswith("https://"):
        raise ValueError("Telegram only calls webhooks over HTTPS: give an https:// URL")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


async def set_webhook(bot: Bot, public_url: str, secret: str) -> str:
    url = webhook_url(public_url)
    await bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    return url


async def poll(bot: Bot, rasa_url: str, secret: str, once: bool = False, timeout_s: int = 25) -> int:
    """Long polling for development without a public URL: every update is posted to the local
    Rasa server's Telegram webhook, so it goes through exactly the same channel code."""
    await bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
    target = rasa_url.rstrip("/") + WEBHOOK_PATH
    offset, forwarded = 0, 0
    async with aiohttp.ClientSession() as http:
        while True:
            updates = await bot.get_updates(offset=offset, timeout=timeout_s, allowed_updates=ALLOWED_UPDATES)
            for update in updates:
                offset = max(offset, update.update_id + 1)
                async with http.post(target, json=update.to_dict(),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as reply:
                    if reply.status != 200:
                        log.warning("the Rasa webhook answered %s to update %s", reply.status, update.update_id)
                forwarded += 1
            if once:
                return forwarded
