"""A short load test of the scale setup (two Rasa instances and two action servers behind
nginx, PostgreSQL, Redis), with one Rasa instance killed mid-run: every conversation comes
through whole. Speed is not checked here; `bot bench load` (make bench-load) measures it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.bench_load.measure import LOCUST
from bot.bench_load.options import DEFAULT_POSTGRES, DEFAULT_REDIS
from bot.scale import NGINX

pytestmark = pytest.mark.e2e


def missing_service() -> str | None:
    """Why this machine cannot run the scale setup, or None."""
    if not (shutil.which("nginx") or Path(NGINX).exists()):
        return "nginx is not installed (make test installs Debian's nginx when it runs as root)"
    if not LOCUST.exists():
        return f"{LOCUST} is missing (make load-env)"
    try:
        engine = create_engine(DEFAULT_POSTGRES, future=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as error:
        return f"PostgreSQL is not reachable at {DEFAULT_POSTGRES}: {error.orig}"
    try:
        redis.Redis.from_url(DEFAULT_REDIS, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {DEFAULT_REDIS}: {error}"
    return None


def test_short_load_on_the_scale_setup_with_a_rasa_instance_killed_keeps_every_conversation_whole(tmp_path):
    reason = missing_service()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "results"
    command = [str(Path(sys.executable).parent / "bot"), "bench", "load", "--setups", "scale", "--users", "20",
               "--measure", "20", "--think", "0.5,1.5", "--known", "1000", "--refine", "0", "--kill",
               "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    printed = result.stdout + result.stderr[-4000:]
    assert result.returncode == 0, printed
    (scale,) = json.loads((out / "summary.json").read_text())
    assert scale["correct"] is True and scale["problems"] == [], scale["problems"]
    normal, killed = scale["steps"]
    assert "killed" in killed["note"] and "killing rasa-2" in result.stdout
    assert normal["turns"] + killed["turns"] >= 300, scale["steps"]   # a few hundred turns, each checked
    assert normal["errors"] == 0 and killed["errors"] == 0, scale["steps"]
    assert "correctness: ok" in result.stdout and (out / "latency.png").stat().st_size > 0
