"""Logs never contain message texts, phone numbers or e-mail addresses (bot.logfilter).

The lines below are Rasa 3.6's own debug output, as written by a running stack, with the
personal data put back in."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logfilter import LogFilter, install, redact

RASA_LINES = [
    # processor.message.parse (structlog, rendered as JSON before it reaches logging)
    '{"parse_data_text": "min mail er kari@example.no, flamingoen danser", "parse_data_intent": '
    '{"name": "inform", "confidence": 0.8}, "event": "processor.message.parse", "level": "debug"}',
    # processor.actions.log: the repr of a bot message
    '{"action_name": "action_show_my_data", "rasa_events": ["BotUttered(\'Here\'s what we store about you:\\n'
    '\\u2022 Profile: Emma Smith; contact: +4795678901\', {\\"elements\\": null, \\"buttons\\": null}, '
    '{\\"customer_name\\": \\"Emma\\"}, 1795446025.87)"], "event": "processor.actions.log"}',
    # rule_policy.actions.find: the states, with the user's text
    '{"current_states": "\\n[state 1] user text: flamingoen danser på taket | previous action name: '
    'action_listen | slots: {\'customer_id\': (1.0,)}", "event": "rule_policy.actions.find"}',
    # processor: slot values
    '{"slot_values": "\\tlanguage: en\\n\\tcustomer_id: 6\\n\\tcustomer_name: Emma\\n\\tcontact: +4795678901\\n"}',
    # events as str()
    "UserUttered(text: flamingoen danser på taket, intent: greet, use_text_for_featurization: True)",
    "SlotSet(key: contact, value: emma.smith@example.com)",
]


@pytest.mark.parametrize("line", RASA_LINES)
def test_logs_never_contain_message_texts_phone_numbers_or_emails(line: str) -> None:
    redacted = redact(line)
    for secret in ("flamingo", "kari@example.no", "+4795678901", "95678901", "emma.smith@example.com",
                   "Here's what", "Emma"):
        assert secret not in redacted, (secret, redacted)


def test_redaction_keeps_what_helps_debugging() -> None:
    line = RASA_LINES[0]
    assert '"name": "inform"' in redact(line) and "processor.message.parse" in redact(line)
    assert redact("Predicted next action 'action_listen' with confidence 0.98.") == (
        "Predicted next action 'action_listen' with confidence 0.98."
    )
    assert "2026-11-24" in redact("booking at 2026-11-24 09:00 for customer 12")


def test_log_filter_masks_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "contact %s wrote %r", ("912 34 567", "x"), None)
    assert LogFilter().filter(record) is True
    assert record.getMessage() == "contact <phone> wrote 'x'"
    try:
        raise ValueError("bad address ola@example.no")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    LogFilter().filter(record)
    assert "ola@example.no" not in (record.exc_text or "") and "<email>" in (record.exc_text or "")


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added after install(): the filter must still apply
    logger = logging.getLogger("rasa.core.processor.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)


def test_installed_filter_covers_handlers_added_later(captured: io.StringIO) -> None:
    install()
    install()  # idempotent
    logging.getLogger("rasa.core.processor.test").debug("Received user message '%s'", "ring meg på 98765432")
    assert "98765432" not in captured.getvalue() and "ring meg" not in captured.getvalue()
    assert "Received user message" in captured.getvalue()
