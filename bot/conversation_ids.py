"""A conversation id carries its channel: `telegram:<chat id>`, `webchat:<session id>`,
`rest:<sender>`.

Rasa keys a conversation by its id alone. Our connectors put their own channel in front of the
id the channel knows (the Telegram chat, the server-issued web chat session, the REST client's
signed sender), so no channel can ever write into a conversation another channel began, whatever
id a client names: a REST client saying "telegram:123" speaks in `rest:telegram:123`.

The channels' outputs take the prefix off again to reach the chat, the page or the client.
Conversations from before the prefix (an id without one of these prefixes) are legacy: they stay
readable in the desk, review and insights, and erasure still finds them.
"""

from __future__ import annotations

TELEGRAM = "telegram"
WEBCHAT = "webchat"
REST = "rest"
CHANNELS = (TELEGRAM, WEBCHAT, REST)


def conversation_id(channel: str, external_id: str) -> str:
    """The conversation id of `external_id` (chat, session, sender) on `channel`."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return f"{channel}:{external_id}"


def split(conversation: str) -> tuple[str | None, str]:
    """(channel, id on that channel); (None, the id as it is) for a legacy conversation id."""
    channel, sep, rest = conversation.partition(":")
    if sep and channel in CHANNELS and rest:
        return channel, rest
    return None, conversation


def external_id(conversation: str) -> str:
    """The id the channel knows (chat id, session id, sender): what its output sends to."""
    return split(conversation)[1]


def conversation_ids(channel: str, external: str) -> set[str]:
    """Every conversation id `external` on `channel` may have had: today's and the legacy one."""
    return {conversation_id(channel, external), external} if channel in CHANNELS else {external}


def recipient(channel: str, conversation: str) -> str | None:
    """What `channel`'s output sends to for `conversation`: its own id there, the id itself for a
    legacy conversation, None for a conversation of another channel (nothing is sent)."""
    found, external = split(conversation)
    return external if found in (None, channel) else None
