"""Delivery through Rasa: the message is composed by `action_proactive_message` in the
customer's language, lands in the tracker, and goes out on the customer's channel."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

from bot.conversation_ids import CHANNELS, conversation_id

TRIGGER_INTENT = "EXTERNAL_proactive"


async def trigger(
    http: aiohttp.ClientSession, rasa_url: str, token: str, recipient: str, channel: str, outbox_id: int,
    timeout_s: float = 30,
) -> str | None:
    """POST /conversations/{channel}:{recipient}/trigger_intent (the conversation the customer's
    channel writes into); None when Rasa took it, else the error."""
    if channel not in CHANNELS:
        return f"no conversation on channel {channel!r}"
    conversation = conversation_id(channel, recipient)
    url = f"{rasa_url.rstrip('/')}/conversations/{quote(conversation, safe='')}/trigger_intent"
    try:
        async with http.post(
            url,
            params={"output_channel": channel, "token": token},
            json={"name": TRIGGER_INTENT, "entities": {"proactive_id": str(outbox_id)}},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as reply:
            if reply.status == 200:
                return None
            return f"rasa answered {reply.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        return f"rasa unreachable: {type(error).__name__}"
