"""`bot bench long`: does a turn get slower as one conversation grows?

One customer writes `--turns` messages (default 300) back to back, cycling through a few
everyday questions, to our assistant (the embedded default) and to Rasa's starter bot.
Printed: the median of turns 2-13 ("turn 5") and of the last 12 ("turn 300"), their ratio
(target for ours: at most 1.5), and the median every 50 turns. Results in results/long/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bot.config import PROJECT_ROOT

CYCLES = {
    "embedded": ["hei", "hva koster dekkskift?", "er bilen min ferdig?", "når åpner verkstedet?", "hvor er dere?",
                 "takk"],
    "starter": ["hi", "I am great", "are you a bot?", "I am sad", "yes", "bye"],
}
WINDOW = 12  # two rounds of the cycle: the same mix of questions at the start and at the end
RATIO_TARGET = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--long-turns", type=int, default=300, help="long: turns of the one conversation")
    parser.add_argument("--long-setups", default="embedded,starter", help="long: embedded, starter")


def turn_ms(url: str, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        replies = json.loads(response.read())
    if not replies:
        raise RuntimeError(f"no answer to {text!r}")
    return (time.perf_counter() - started) * 1000


def conversation(url: str, name: str, turns: int) -> list[float]:
    cycle = CYCLES[name]
    sender = "load-0" if name == "embedded" else "starter-long"
    return [turn_ms(url, sender, cycle[n % len(cycle)]) for n in range(turns)]


def run(args: argparse.Namespace) -> int:
    from bot.bench_load import setups

    out = PROJECT_ROOT / "results" / "long"
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    worst = 0.0
    for name in [s.strip() for s in args.long_setups.split(",") if s.strip()]:
        work = Path(tempfile.mkdtemp(prefix=f"long-{name}-"))
        running = setups.embedded(work, 10) if name == "embedded" else setups.starter(work)
        try:
            latencies = conversation(running.url, name, args.long_turns)
        finally:
            running.close()
        early = statistics.median(latencies[1:1 + WINDOW])
        late = statistics.median(latencies[-WINDOW:])
        ratio = late / early
        marks = {n: round(statistics.median(latencies[max(1, n - WINDOW):n]), 1)
                 for n in range(50, len(latencies) + 1, 50)}
        print(f"{name}: turn 5 (median of turns 2-{1 + WINDOW}) {early:.0f} ms, turn {len(latencies)} (median of the "
              f"last {WINDOW}) {late:.0f} ms: {ratio:.2f}x", flush=True)
        print(f"{name}: median by turn: " + ", ".join(f"{n}: {v:.0f} ms" for n, v in marks.items()), flush=True)
        results[name] = {"turn_5_ms": round(early, 1), "turn_last_ms": round(late, 1), "ratio": round(ratio, 2),
                         "by_turn": marks, "latencies_ms": [round(v, 1) for v in latencies]}
        if name == "embedded":
            worst = ratio
    (out / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    if "embedded" in results:
        verdict = "met" if worst <= RATIO_TARGET else "MISSED"
        print(f"target: turn {args.long_turns} at most {RATIO_TARGET}x turn 5 for ours: {verdict} ({worst:.2f}x)")
    return 0
