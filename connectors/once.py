"""A message a client sends again (same `message_id`) is answered, not processed twice.

A chat app whose request failed in transit (a Rasa instance killed behind the load
balancer, a timeout) sends the message again. Rasa stores a turn's events only when the
turn ends, so a message found in the tracker was answered: its answer is sent again from
the tracker. The check and the turn run under the conversation's lock (Rasa's lock store:
Redis when several instances share conversations), so two copies racing each other on two
instances are processed once too.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


def answer_to(events: list[Event], message_id: str) -> list[BotUttered] | None:
    """The bot's messages that answered the user message `message_id`; None if it never came."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            answer: list[BotUttered] = []
            for later in events[index + 1:]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    answer.append(later)
            return answer
    return None


async def recent_events(store: Any, sender_id: str) -> list[Event]:
    """The conversation's recent events: from our windowed store directly (no tracker is built
    twice per message), else from the tracker any other store returns."""
    inner = store
    while not hasattr(inner, "recent_events") and hasattr(inner, "_tracker_store"):
        inner = inner._tracker_store  # Rasa wraps the configured store (awaitable, fail-safe)
    if hasattr(inner, "recent_events"):
        return await inner.recent_events(sender_id)
    tracker: DialogueStateTracker | None = await store.retrieve(sender_id)
    return list(tracker.events) if tracker is not None else []


async def handle_once(app: Any, message: UserMessage) -> None:
    """Process `message` (its id given by the client), or replay the answer it already got."""
    agent = app.ctx.agent
    if not agent.is_ready():
        return
    async with agent.lock_store.lock(message.sender_id):
        earlier = answer_to(await recent_events(agent.tracker_store, message.sender_id), message.message_id)
        if earlier is None:
            await agent.processor.handle_message(message)
            return
        for bot in earlier:
            await message.output_channel.send_response(message.sender_id, {"text": bot.text, **(bot.data or {})})
