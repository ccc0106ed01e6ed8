"""What `bot bench load` reports: the held load of a start, and ours against the starter bot."""

from __future__ import annotations

from bot.bench_load.measure import Step
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
