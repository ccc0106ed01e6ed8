"""Signed conversation ids (bot/signing.py): what the channels check before a client may speak."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot import signing
from bot.config import PROJECT_ROOT
from bot.signing import REST, WEBCHAT, new_session_id, rest_policy, sign, verify


def test_a_signature_holds_only_for_its_secret_purpose_and_value():
    token = sign("s" * 32, WEBCHAT, "abc")
    assert verify("s" * 32, WEBCHAT, "abc", token)
    assert verify("s" * 32, WEBCHAT, "abc", token.upper() + " ")   # hex is hex, however it is written
    assert not verify("t" * 32, WEBCHAT, "abc", token)
    assert not verify("s" * 32, REST, "abc", token)
    assert not verify("s" * 32, WEBCHAT, "abd", token)
    assert not any(verify("s" * 32, WEBCHAT, "abc", bad) for bad in (None, "", 42, token[:-1], "0" * 64))
    assert not verify("", WEBCHAT, "abc", sign("", WEBCHAT, "abc"))   # no secret: nothing is valid


def test_session_ids_are_random_128_bit():
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize(("env", "secret", "policy"), [
    ("dev", None, "open"), ("test", None, "open"), ("production", None, "closed"),
    ("production", "x" * 32, "signed"), ("dev", "x" * 32, "signed"),
])
def test_the_rest_channel_is_open_only_in_dev_mode_without_a_secret(monkeypatch, env, secret, policy):
    monkeypatch.setenv("BOT_ENV", env)
    if secret:
        monkeypatch.setenv("REST_SIGNING_SECRET", secret)
    else:
        monkeypatch.delenv("REST_SIGNING_SECRET", raising=False)
    assert rest_policy() == policy


def test_the_web_chat_secret_is_required_outside_dev_mode_and_kept_in_dev_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("WEBCHAT_SECRET", raising=False)
    monkeypatch.setenv("BOT_ENV", "production")
    with pytest.raises(RuntimeError, match="WEBCHAT_SECRET"):
        signing.stored_secret("WEBCHAT_SECRET", tmp_path / "webchat.secret")
    monkeypatch.setenv("WEBCHAT_SECRET", "short")
    with pytest.raises(RuntimeError, match="16"):
        signing.stored_secret("WEBCHAT_SECRET", tmp_path / "webchat.secret")
    monkeypatch.delenv("WEBCHAT_SECRET")
    monkeypatch.setenv("BOT_ENV", "dev")
    made = signing.stored_secret("WEBCHAT_SECRET", tmp_path / "webchat.secret")
    assert signing.stored_secret("WEBCHAT_SECRET", tmp_path / "webchat.secret") == made   # a restart keeps it
    assert (tmp_path / "webchat.secret").stat().st_mode & 0o077 == 0


def test_bot_rest_sign_prints_the_signature_a_client_sends():
    env = {"REST_SIGNING_SECRET": "y" * 32, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "rest", "sign", "kunde-42"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == sign("y" * 32, REST, "kunde-42")
