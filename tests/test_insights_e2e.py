"""`bot report` against a real stack: scripted conversations over REST (one contained, one
with a misunderstood message, one handed to a person), then the report as a subprocess
pointed at that stack's profile database and tracker store, checked for the counts."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runner import BIN, Stack, latest_model, start_stack
from tests.servers import free_port, seeded_database
from tests.test_e2e import say

pytestmark = pytest.mark.e2e
# Messages the model is unsure about; the test uses the first one it classifies as nlu_fallback.
FALLBACK_CANDIDATES = ("...", "hva", "kanskje", "?", "hmm")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("insights-e2e")
    url = seeded_database(work)
    running = start_stack(free_port(), free_port(), latest_model(), work,
                          extra_env={"DATABASE_URL": url, "BOT_ENV": "dev"}, timeout=600)
    running.db_url = url  # type: ignore[attr-defined]
    running.work = work  # type: ignore[attr-defined]
    yield running
    running.stop()


def parsed_intent(stack: Stack, text: str) -> str:
    request = urllib.request.Request(f"{stack.rasa_url}/model/parse?token={stack.token}",
                                     data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["intent"]["name"]


def test_bot_report_counts_the_conversations_of_a_real_stack(stack, tmp_path: Path):
    fallback = next((t for t in FALLBACK_CANDIDATES if parsed_intent(stack, t) == "nlu_fallback"), None)
    assert fallback is not None, f"the model is sure about all of {FALLBACK_CANDIDATES}: add a vaguer message"
    say(stack, "insights-contained", "hei")
    say(stack, "insights-contained", "hva koster dekkskift?")
    say(stack, "insights-fallback", fallback)
    say(stack, "insights-fallback", "takk for hjelpen")
    say(stack, "insights-handoff", "jeg vil snakke med et menneske")

    out = tmp_path / "report.html"
    env = {**os.environ, "DATABASE_URL": stack.db_url,  # type: ignore[attr-defined]
           "TRACKER_DATABASE_URL": f"sqlite:///{stack.work / 'tracker.db'}"}  # type: ignore[attr-defined]
    done = subprocess.run([str(BIN / "bot"), "report", "--days", "2", "--out", str(out),
                           "--results", str(tmp_path / "no-results")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    assert "Samtaler: 3" in done.stdout
    assert "Løst uten menneske: 66,7%" in done.stdout
    assert "Overlevert til menneske: 33,3%" in done.stdout
    assert "Ikke forstått (fallback): 20,0%" in done.stdout  # 1 of 5 customer messages
    html = out.read_text(encoding="utf-8")
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) >= 4 and all(base64.b64decode(p).startswith(b"\x89PNG") for p in pngs)
    assert "ba om et menneske" in html and "request_human" in html and "nlu_fallback" in html
    assert "Ingen NLU-evaluering funnet" in html
