"""Conversation ids carry their channel (bot/conversation_ids.py), and each channel's output
reaches only its own conversations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.conversation_ids import CHANNELS, conversation_id, conversation_ids, external_id, recipient, split


def test_each_channel_puts_its_name_in_front_of_the_id_it_knows():
    assert conversation_id("telegram", "123") == "telegram:123"
    assert conversation_id("webchat", "abc") == "webchat:abc"
    assert conversation_id("rest", "demo-coach") == "rest:demo-coach"
    with pytest.raises(ValueError):
        conversation_id("cmdline", "x")


def test_an_id_a_client_names_stays_inside_its_own_channel():
    # A REST client naming a Telegram conversation speaks in a REST conversation of that name.
    named = conversation_id("rest", "telegram:123")
    assert named == "rest:telegram:123" and split(named) == ("rest", "telegram:123")
    assert recipient("telegram", named) is None and recipient("rest", named) == "telegram:123"


def test_legacy_ids_have_no_channel_and_keep_their_id():
    assert split("demo-coach") == (None, "demo-coach")
    assert split("12345") == (None, "12345")
    assert split("sms:555") == (None, "sms:555")  # not one of our channels
    assert split("rest:") == (None, "rest:")
    assert recipient("telegram", "12345") == "12345"  # a conversation from before the prefix
    assert conversation_ids("telegram", "12345") == {"telegram:12345", "12345"}
    assert conversation_ids("cmdline", "default") == {"default"}


@given(st.sampled_from(CHANNELS), st.text(min_size=1, max_size=40))
def test_an_id_comes_back_as_it_went_in(channel: str, external: str):
    conversation = conversation_id(channel, external)
    assert split(conversation) == (channel, external) and external_id(conversation) == external
    assert recipient(channel, conversation) == external
    assert all(recipient(other, conversation) is None for other in CHANNELS if other != channel)


class RecordingSender:
    """Stands in for bot.telegram_api.Sender (the real one is tested against the Bot API stand-in)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    async def send_text(self, chat_id: Any, text: str, buttons: Any = None) -> int:
        self.sent.append((chat_id, text))
        return 1


async def test_telegram_output_sends_to_the_chat_and_never_to_another_channels_conversation():
    from connectors.telegram import TelegramOutput

    sender = RecordingSender()
    output = TelegramOutput(sender)  # type: ignore[arg-type]
    await output.send_text_message("telegram:42", "hei")
    await output.send_text_message("rest:42", "not for Telegram")
    await output.send_text_with_buttons("webchat:42", "not for Telegram", [])
    assert sender.sent == [("42", "hei")] and output.messages_sent == 1
