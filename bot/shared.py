"""State that several processes of the scale setup must share (Redis, from `REDIS_URL`).

Without `REDIS_URL` (one Rasa process) there is nothing to share and callers keep their
state in memory. When Redis cannot be reached, callers fall back to memory as well and log
it: a lost Redis must not stop customers' messages."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "fjordbil"


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)


def redis_client() -> redis.Redis | None:
    url = (os.environ.get("REDIS_URL") or "").strip()
    return _client(url) if url else None


def key(*parts: object) -> str:
    return ":".join([KEY_PREFIX, *(str(p) for p in parts)])
