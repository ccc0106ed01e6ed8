"""A turn has a deadline: a slow action server must not keep the customer waiting.

Rasa 3.6 waits up to five minutes for the action server (a constant, not a setting). The
channels wait at most `BOT_TURN_TIMEOUT_S` seconds (default 25) and then apologise; the
turn goes on in the background, so its events still reach the tracker (and, on channels
that can send later such as Telegram, the late answer still reaches the customer).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TURN_TIMEOUT_S = 25.0


def turn_timeout() -> float:
    try:
        return max(0.1, float(os.environ.get("BOT_TURN_TIMEOUT_S") or DEFAULT_TURN_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TURN_TIMEOUT_S


def _log_late_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a turn that ran past its deadline failed", exc_info=task.exception())


async def within_deadline(turn: Awaitable[Any]) -> bool:
    """Run the turn; True when it finished in time (its exceptions are raised), False when
    it is still running in the background."""
    task = asyncio.ensure_future(turn)
    done, _ = await asyncio.wait({task}, timeout=turn_timeout())
    if task in done:
        task.result()
        return True
    log.warning("a turn took longer than %.0fs: the customer gets an apology, the turn goes on", turn_timeout())
    task.add_done_callback(_log_late_failure)
    return False
