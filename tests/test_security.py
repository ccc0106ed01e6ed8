"""Secrets stay out of the repository and come from the environment; `bot run` points Rasa
at the action server it started, with the shared secret; the web app limits bodies."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.config import PROJECT_ROOT
from bot.endpoints import ACTION_TOKEN_HEADER
from bot.runner import REQUEST_MAX_BYTES, run_endpoints, stack_endpoints, stack_env
from bot.web.app import MAX_BODY_BYTES, create_app

CODE_DIRS = ("bot", "actions", "connectors")
TOKEN_PATTERNS = {
    "Telegram bot token": re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(r"://[^/\s:@'\"]+:(?!\$\{)[^/\s@'\"]{3,}@"),
}
# `password = "..."`, `secret: ...`, `token="..."` with a literal value, in code and config.
LITERAL_SECRET = re.compile(
    r"""(?ix)\b[\w-]*(password|passwd|secret|api[_-]?key|auth[_-]?token|(?<![a-z_])token)\b
        \s*[:=]\s*["']([^"'\s$<{]{8,})["']""",
)
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|KEY|DATABASE_URL|REDIS_URL")
ENV_READ = re.compile(r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|env\.get)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")


def repository_files() -> list[Path]:
    """Tracked files and new files not ignored (what the next commit could contain)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return [PROJECT_ROOT / name for name in listed if (PROJECT_ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def test_no_secret_in_the_repository():
    files = repository_files()
    assert len(files) > 100  # the scan really saw the repository
    found = []
    for path in files:
        text = text_of(path)
        if text is None:
            continue
        relative = path.relative_to(PROJECT_ROOT)
        in_tests = relative.parts[0] == "tests"  # tests may spell out obviously fake local URLs
        for name, pattern in TOKEN_PATTERNS.items():
            if not (in_tests and name == "password in a URL"):
                found += [f"{relative}: {name}" for _ in pattern.finditer(text)]
        if not in_tests and path.suffix in (".py", ".yml", ".yaml", ".toml", ".cfg", ".ini"):
            found += [f"{relative}: literal {m.group(1)}" for m in LITERAL_SECRET.finditer(text)]
    assert found == [], found


def test_the_secret_scan_finds_what_it_looks_for():
    # Built at run time, so this file does not itself hold what the scan looks for.
    assert TOKEN_PATTERNS["Telegram bot token"].search("TELEGRAM_TOKEN=123456789" + ":AAHk3jf93kfJ39dk" + "x" * 19)
    assert TOKEN_PATTERNS["password in a URL"].search("postgresql://bot" + ":hunter22@db/bot")
    assert not TOKEN_PATTERNS["password in a URL"].search("postgresql://postgres@127.0.0.1:5432/test")
    assert LITERAL_SECRET.search("DESK_SECRET = " + '"s3cr3t-value-here"')
    assert LITERAL_SECRET.search("password: " + "'correct-horse-battery'")
    assert not LITERAL_SECRET.search('SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"')
    assert not LITERAL_SECRET.search("X-Action-Token: ${ACTION_SERVER_TOKEN}")


def secrets_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for directory in CODE_DIRS:
        for path in (PROJECT_ROOT / directory).rglob("*.py"):
            names |= {n for n in ENV_READ.findall(path.read_text(encoding="utf-8")) if SECRET_NAME.search(n)}
    return names


def env_example() -> dict[str, str]:
    lines = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))


def test_every_secret_the_code_reads_is_documented_in_env_example_without_a_value():
    read = secrets_read_by_the_code()
    assert {"RASA_TOKEN", "TELEGRAM_TOKEN", "DESK_SECRET", "ACTION_SERVER_TOKEN"} <= read
    documented = env_example()
    assert read - set(documented) == set()
    filled = {name for name, value in documented.items() if SECRET_NAME.search(name) and "TOKEN" in name and value}
    filled |= {name for name in ("DESK_SECRET", "TELEGRAM_WEBHOOK_SECRET", "DESK_PASSWORD") if documented.get(name)}
    assert filled == set()


def test_credentials_yml_holds_no_secret():
    channels = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert "connectors.telegram.TelegramInput" in channels
    for channel, settings in channels.items():
        secret_keys = [key for key in (settings or {}) if SECRET_NAME.search(str(key).upper())]
        assert secret_keys == [], f"{channel}: {secret_keys} belong in the environment, not in credentials.yml"


def test_bot_run_points_rasa_at_the_chosen_action_port_with_the_shared_secret(tmp_path):
    written = yaml.safe_load(run_endpoints(tmp_path / "endpoints.yml", 5123, env={}).read_text(encoding="utf-8"))
    project = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert written["action_endpoint"]["url"] == "http://127.0.0.1:5123/webhook"
    assert written["action_endpoint"]["headers"] == {ACTION_TOKEN_HEADER: "${ACTION_SERVER_TOKEN}"}
    assert {k: v for k, v in written.items() if k != "action_endpoint"} == {
        k: v for k, v in project.items() if k != "action_endpoint"
    }
    test_stack = yaml.safe_load(stack_endpoints(tmp_path / "e.yml", 5124, f"sqlite:///{tmp_path / 't.db'}").read_text())
    assert test_stack["action_endpoint"]["headers"] == {ACTION_TOKEN_HEADER: "${ACTION_SERVER_TOKEN}"}


def test_the_stack_always_has_an_action_server_token_and_a_request_size_limit(monkeypatch):
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    first, second = stack_env(), stack_env()
    assert len(first["ACTION_SERVER_TOKEN"]) >= 24 and first["ACTION_SERVER_TOKEN"] != second["ACTION_SERVER_TOKEN"]
    assert first["SANIC_REQUEST_MAX_SIZE"] == str(REQUEST_MAX_BYTES)
    assert stack_env({"ACTION_SERVER_TOKEN": "configured"})["ACTION_SERVER_TOKEN"] == "configured"
    assert first["MALLOC_ARENA_MAX"] == "2"                                # less memory kept by threads
    assert stack_env({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"  # an operator's own choice stays


@pytest.mark.parametrize("path", ["/desk/login", "/desk/logout"])
async def test_web_posts_larger_than_the_limit_get_413(path):
    app = create_app({"rasa_url": "http://127.0.0.1:9", "rasa_public_url": "", "rasa_token": "", "demo": False})
    async with TestClient(TestServer(app)) as client:
        response = await client.post(path, data=b"x" * (MAX_BODY_BYTES + 1),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 413
        small = await client.post(path, data=b"x=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert small.status != 413
