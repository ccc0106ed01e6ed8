"""What `bot bench load` reports: the held load of a start, and ours against the starter bot."""

from __future__ import annotations

import subprocess
import sys
import time

from bot.bench_load.measure import Step, cpu_per_turn, cpu_seconds
from bot.bench_load.run import WARM_UP_NOTE, held, summary_line


def step(users: int, p95: float, errors: int = 0, note: str = "") -> Step:
    return Step("embedded", users, turns=100, seconds=60, turns_per_s=1.7, p50_ms=p95 / 2, p95_ms=p95,
                p99_ms=p95, errors=errors, error_rate=errors / 100, retried=0, note=note)


def test_the_held_load_is_the_largest_counted_step_within_the_target():
    assert held([step(25, 300), step(50, 480), step(100, 900)]) == 50
    assert held([step(25, 300), step(50, 200, errors=1)]) == 25        # an error fails a step
    assert held([step(10, 100, note=WARM_UP_NOTE), step(25, 900)]) == 0  # the warm-up does not count
    assert held([]) == 0


def test_the_summary_compares_ours_with_the_starter_bot_from_each_start():
    results = [
        {"setup": "embedded", "start": "cold", "held_users": 25},
        {"setup": "embedded", "start": "warm", "held_users": 50},
        {"setup": "scale", "start": "cold", "held_users": 150},
        {"setup": "starter", "start": "cold", "held_users": 100},
        {"setup": "starter", "start": "warm", "held_users": 100},
    ]
    line = summary_line(results)
    assert line.startswith("held load, embedded / starter: cold 25 / 100 (0.25x), warm 50 / 100 (0.50x)")
    assert "2.00x" in line   # the target is said with it
    assert "warm" not in summary_line(results[:1] + results[3:4])
    assert "run both setups" in summary_line(results[:2])
    assert "n/a" in summary_line([{"setup": "embedded", "start": "cold", "held_users": 25},
                                  {"setup": "starter", "start": "cold", "held_users": 0}])


def test_cpu_per_turn_is_the_cpu_a_process_used_over_the_answered_turns():
    busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.6\n"
                             "while time.process_time() < end: pass\ntime.sleep(30)"])
    try:
        before = {"rasa": cpu_seconds(busy.pid), "gone": 1.0}
        deadline = time.monotonic() + 60
        while cpu_seconds(busy.pid) < 0.55 and time.monotonic() < deadline:  # the spin uses 0.6 s of CPU
            time.sleep(0.1)
        after = {"rasa": cpu_seconds(busy.pid)}
    finally:
        busy.kill()
        busy.wait()
    entries = [{"state": "answered"}] * 6 + [{"state": "failed"}]
    numbers = cpu_per_turn(before, after, entries)
    assert set(numbers) == {"rasa"}                   # a process gone by the end is left out
    assert 50 <= numbers["rasa"] <= 130                # about 600 ms of CPU over 6 answered turns
    assert cpu_per_turn(before, after, [{"state": "failed"}]) == {}
    assert cpu_seconds(2**22 + 12345) == 0.0          # no such process
