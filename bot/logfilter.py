"""Keep personal data out of every log: message texts, phone numbers, e-mail addresses.

Rasa's debug logs carry whole conversations: `processor.message.parse` has the text of the
user's message, the action logs print events (`UserUttered(text: ...)`, `BotUttered(text: ...)`,
`SlotSet(key: contact, value: +47...)`), the REST channel and NLG log payloads. `LogFilter`
rewrites each record: the values of text fields are replaced by `<text>`, and whatever
remains goes through `bot.masking.mask` (e-mail, phone, registration number).

`install()` puts the filter in front of every handler of the process, including those Rasa
and Sanic add later, by wrapping the log record factory: a filter on a logger would miss
records of its child loggers, a filter on today's handlers would miss tomorrow's. Called by
`bot` (web, scheduler, tools), by `actions/__init__.py` (action server) and by
`connectors/__init__.py` (the Rasa server imports our channels before the first message).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.masking import mask

TEXT = "<text>"
_KEYS = (
    r"(?:text|parse_data_text|message|user_message|bot_message|utter_text|caption"
    r"|customer_name|first_name|last_name|contact|contact_masked)"
)
# 'text': '...', "text": "...", text='...', with escaped quotes inside.
_QUOTED = re.compile(
    rf"""(?P<key>\\?["']?\b{_KEYS}\\?["']?\s*[:=]\s*)(?P<q>\\?["'])(?P<body>(?:\\.|(?!(?P=q)).)*?)(?P=q)""",
    re.IGNORECASE | re.DOTALL,
)
# UserUttered(text: ..., intent: ...) / BotUttered(text: ..., data: ...) / AgentUttered(...): str() of events.
_EVENT_TEXT = re.compile(
    r"(?P<key>\b(?:UserUttered|BotUttered|AgentUttered)\(text:\s*)(?P<body>.*?)"
    r"(?=, (?:intent|data|metadata|type_name)\b|\)\s*[,\]\n]|\)$)",
    re.DOTALL,
)
# BotUttered('...', {data}, {metadata}, timestamp): repr() of a bot message.
_BOT_REPR = re.compile(r"(?P<key>\bBotUttered\(')(?P<body>.*?)(?=', \{)", re.DOTALL)
# "user text: ... | previous action name: ..." in the policies' state dumps.
_STATE_TEXT = re.compile(r"(?P<key>\buser text:\s*)(?P<body>.*?)(?=\s\|\s|\\n|\n|\"|$)")
# Rasa 2/3 f-string debug messages that quote the user's text.
_RECEIVED = re.compile(
    r"(?P<key>(?:Received user message|Logging of message|message)\s+)'(?P<body>[^']*)'", re.IGNORECASE
)
# Slots whose values are personal: SlotSet events, `{"name": "contact", "value": ...}`, slot dumps.
_TEXT_SLOTS = re.compile(
    r"""(?P<key>(?:SlotSet\(key:\s*|["']name["']\s*:\s*["']|\t|\\t)(?:contact|otp_code|customer_name|review_text)"""
    r"""(?:["']\s*,\s*["']value["']\s*:\s*|,\s*value:\s*|:\s*))(?P<body>[^,)}\n\\]+)"""
)


def redact(message: str) -> str:
    """The message without message texts and with personal data masked."""
    if not message:
        return message
    redacted = _QUOTED.sub(lambda m: f"{m['key']}{m['q']}{TEXT}{m['q']}", message)
    redacted = _EVENT_TEXT.sub(lambda m: f"{m['key']}{TEXT}", redacted)
    redacted = _BOT_REPR.sub(lambda m: f"{m['key']}{TEXT}", redacted)
    redacted = _STATE_TEXT.sub(lambda m: f"{m['key']}{TEXT}", redacted)
    redacted = _RECEIVED.sub(lambda m: f"{m['key']}'{TEXT}'", redacted)
    redacted = _TEXT_SLOTS.sub(lambda m: f"{m['key']}{TEXT}", redacted)
    return mask(redacted)


class LogFilter(logging.Filter):
    """Redacts each record in place; never drops one (a log line without data still helps)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not break logging
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._redacted = True  # type: ignore[attr-defined]
        return True


_FILTER = LogFilter()
_installed = False


def install() -> None:
    """Redact every log record this process creates, whichever handler writes it (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _FILTER.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_FILTER)
    _installed = True
