"""Settings from the environment (see `.env.example`); nothing secret lives in the code."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def database_url() -> str:
    """`DATABASE_URL`, else a SQLite file under `var/`."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    VAR_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'fjordbil.db'}"


def dev_mode() -> bool:
    """Dev mode logs one-time codes so a developer can log in without SMS or e-mail."""
    return os.environ.get("BOT_ENV", "dev").lower() in {"dev", "development", "test"}


def timezone_name() -> str:
    return os.environ.get("BOT_TIMEZONE", "Europe/Oslo")


DEFAULT_WEBCHAT_ORIGINS = "http://localhost:8080,http://127.0.0.1:8080"


def webchat_origins(env: dict[str, str] | None = None) -> list[str]:
    """The web chat pages' origins (`WEBCHAT_ORIGINS`, comma separated): the only origins Rasa's
    CORS headers and the socket allow."""
    raw = (os.environ if env is None else env).get("WEBCHAT_ORIGINS") or DEFAULT_WEBCHAT_ORIGINS
    return [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]
