"""Signed conversation ids: the proof a channel asks for before it lets a client speak as a sender.

- Web chat: the web server issues a random session id (128 bits) and an HMAC of it with
  `WEBCHAT_SECRET`; the socket channel and the history endpoint accept the id only with it.
- REST: an HMAC of the sender id with `REST_SIGNING_SECRET`, made by the business's own backend
  (`bot rest sign SENDER`), sent as `X-Sender-Signature`.

Both compare in constant time. Each purpose has its own prefix, so a web chat token is never a
REST signature. No Rasa import: the web server and the Rasa channels both use it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.config import VAR_DIR, dev_mode

WEBCHAT = "webchat"
REST = "rest"
SESSION_ID_BYTES = 16   # 128 bits
MIN_SECRET_CHARS = 16


def sign(secret: str, purpose: str, value: str) -> str:
    """hex HMAC-SHA256 of `purpose:value` with `secret`."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def verify(secret: str, purpose: str, value: str, signature: object) -> bool:
    """True when `signature` is `sign(secret, purpose, value)`; constant time."""
    if not secret or not isinstance(signature, str) or not signature:
        return False
    return hmac.compare_digest(sign(secret, purpose, value).encode(), signature.strip().lower().encode())


def new_session_id() -> str:
    return secrets.token_hex(SESSION_ID_BYTES)


def stored_secret(name: str, path: Path) -> str:
    """`name` from the environment; in dev mode, else one made once and kept in var/ (mode 600),
    so a restarted `bot run` keeps the pages' sessions. Outside dev mode a missing secret is an error."""
    configured = os.environ.get(name, "").strip()
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise RuntimeError(f"{name} must be at least {MIN_SECRET_CHARS} characters")
        return configured
    if not dev_mode():
        raise RuntimeError(f"{name} is not set: it is required outside dev mode (BOT_ENV=dev)")
    return kept_secret(path, 32)


def kept_secret(path: Path, nbytes: int) -> str:
    """The secret kept in `path`, else a random one of `nbytes` made now and kept there (mode 600)."""
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(nbytes)
    path.touch(mode=0o600)
    path.write_text(made, encoding="utf-8")
    return made


def webchat_secret() -> str:
    """The secret web chat sessions are signed with (`WEBCHAT_SECRET`)."""
    return stored_secret("WEBCHAT_SECRET", VAR_DIR / "webchat.secret")


def rest_secret() -> str | None:
    """`REST_SIGNING_SECRET`, or None when not configured."""
    configured = os.environ.get("REST_SIGNING_SECRET", "").strip()
    return configured or None


def rest_policy() -> str:
    """How the REST channel admits a sender: "signed" (a secret is configured: a valid signature
    is required), "open" (dev mode without a secret: anyone, as the demo and curl need) or
    "closed" (neither: every message is refused)."""
    if rest_secret():
        return "signed"
    return "open" if dev_mode() else "closed"
