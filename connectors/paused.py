"""Whether a conversation is paused for a person (handoff): then the bot's silence is meant,
and the channels must not apologise for it."""

from __future__ import annotations

import logging

from sanic import Sanic

log = logging.getLogger(__name__)


async def is_paused(sender_id: str, app: Sanic | None = None) -> bool:
    try:
        app = app or Sanic.get_app()
        tracker = await app.ctx.agent.tracker_store.retrieve(sender_id)
        return bool(tracker is not None and tracker.is_paused())
    except Exception:  # noqa: BLE001 - unknown means not paused: better an apology than silence
        log.debug("could not tell whether the conversation is paused")
        return False
