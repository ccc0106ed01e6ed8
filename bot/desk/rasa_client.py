"""What the desk asks of Rasa's HTTP API (token auth, server side only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

HANDBACK_INTENT = "EXTERNAL_handback"


class RasaClient:
    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http, self.url, self.token = http, url.rstrip("/"), token

    def _conversation(self, sender_id: str) -> str:
        return f"{self.url}/conversations/{quote(sender_id, safe='')}"

    async def tracker(self, sender_id: str) -> dict[str, Any]:
        async with self.http.get(f"{self._conversation(sender_id)}/tracker", params={"token": self.token},
                                 timeout=aiohttp.ClientTimeout(total=10)) as reply:
            reply.raise_for_status()
            return await reply.json()

    async def append(self, sender_id: str, events: list[dict[str, Any]], channel: str | None = None) -> None:
        params = {"token": self.token}
        if channel:
            params.update(output_channel=channel, execute_side_effects="true")
        async with self.http.post(f"{self._conversation(sender_id)}/tracker/events", params=params, json=events,
                                  timeout=aiohttp.ClientTimeout(total=15)) as reply:
            reply.raise_for_status()

    async def say(self, sender_id: str, channel: str, text: str, agent_name: str) -> None:
        """An agent's reply: sent on the customer's channel and kept in the tracker with the name."""
        event = {"event": "bot", "text": text, "metadata": {"agent": agent_name}}
        await self.append(sender_id, [event], channel)

    async def resume(self, sender_id: str) -> None:
        """Unpause the bot. While paused Rasa only logged the customer's messages; the listen
        action puts the dialogue back where a rule can take the next turn."""
        await self.append(sender_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}])

    async def hand_back(self, sender_id: str, channel: str) -> None:
        """Resume the bot and let it greet the customer again, in context."""
        await self.resume(sender_id)
        async with self.http.post(
            f"{self._conversation(sender_id)}/trigger_intent",
            params={"token": self.token, "output_channel": channel},
            json={"name": HANDBACK_INTENT}, timeout=aiohttp.ClientTimeout(total=30),
        ) as reply:
            reply.raise_for_status()
