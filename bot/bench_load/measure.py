"""One load step: locust (headless, its own environment) with N simulated customers for a
while, and the numbers of that step read from the message log it writes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT

LOCUST = PROJECT_ROOT / ".venv-load" / "bin" / "locust"
LOCUSTFILE = PROJECT_ROOT / "tests" / "bench" / "locustfile.py"
P95_TARGET_MS = 500.0
LOCUST_PEAK_MB = [0.0]  # the load generator's own peak memory over the steps so far
LOCUST_CPU_S = [0.0]    # the CPU time the load generator used in the last step


@dataclass
class Step:
    """The numbers of one step; latencies are a turn as the customer sees it (retries included)."""

    setup: str
    users: int
    turns: int
    seconds: float
    turns_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int          # turns whose customer saw an error (any time in the step)
    error_rate: float
    retried: int         # turns a client had to send again (same message id)
    note: str = ""
    # CPU time (user + system) each process used over the whole step, per turn answered in it
    cpu_ms_per_turn: dict[str, float] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return self.errors == 0 and self.turns > 0 and self.p95_ms <= P95_TARGET_MS

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "holds": self.holds}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def step_numbers(setup: str, users: int, entries: list[dict[str, Any]], window: tuple[float, float]) -> Step:
    """Latency and throughput over the measuring window (after the ramp-up); errors over the whole step."""
    outcomes = [e for e in entries if e["state"] in ("answered", "failed")]
    inside = [e for e in outcomes if window[0] <= e["t"] <= window[1]]
    latencies = [e["ms"] for e in inside]
    seconds = max(0.001, window[1] - window[0])
    errors = sum(e["state"] == "failed" for e in outcomes)
    return Step(
        setup=setup, users=users, turns=len(inside), seconds=round(seconds, 1),
        turns_per_s=round(len(inside) / seconds, 2),
        p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_ms=round(percentile(latencies, 95), 1), p99_ms=round(percentile(latencies, 99), 1),
        errors=errors, error_rate=round(errors / max(1, len(outcomes)), 4),
        retried=sum(1 for e in outcomes if e.get("retries")),
    )


def run_locust(
    url: str, users: int, config: dict[str, Any], work: Path, measure_s: float, settle_s: float = 10,
    during: Callable[[float], None] | None = None,
) -> tuple[list[dict[str, Any]], tuple[float, float]]:
    """Run one step; returns its log entries and the measuring window (epoch seconds).
    `during(t0)` runs in a thread once the measuring window has begun (to kill a process)."""
    if not LOCUST.exists():
        raise RuntimeError(f"{LOCUST} is missing: `make load-env` makes locust's own environment")
    label = f"{config['bot']}-{config.get('step', 0)}-{users}"
    log = work / f"messages-{label}.jsonl"
    log.unlink(missing_ok=True)
    config_path = work / f"locust-{label}.json"
    config_path.write_text(json.dumps({**config, "log": str(log)}), encoding="utf-8")
    spawn_rate = max(5.0, users / 10)
    ramp_s = users / spawn_rate
    run_s = int(ramp_s + settle_s + measure_s + 1)
    command = [
        str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--users", str(users), "--spawn-rate", str(spawn_rate),
        "--run-time", f"{run_s}s", "--host", url, "--stop-timeout", "30", "--only-summary",
        "--loglevel", "WARNING", "--csv", str(work / f"locust-{label}"),
    ]
    started = time.time()
    window = (started + ramp_s + settle_s, started + ramp_s + settle_s + measure_s)
    thread = None
    if during is not None:
        thread = threading.Timer(window[0] - time.time() + measure_s / 3, during, args=(window[0],))
        thread.start()
    proc = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env={**os.environ, "LOAD_CONFIG": str(config_path)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    peak, cpu = 0.0, 0.0
    deadline = time.time() + run_s + 300
    while proc.poll() is None and time.time() < deadline:
        peak = max(peak, peak_rss_mb(proc.pid))  # VmHWM only grows: the last reading is the peak
        cpu = max(cpu, cpu_seconds(proc.pid))    # so does CPU time (the last second is missed)
        time.sleep(1)
    LOCUST_CPU_S[0] = cpu
    if proc.poll() is None:
        proc.kill()
    output = proc.communicate()[0]
    LOCUST_PEAK_MB[0] = max(LOCUST_PEAK_MB[0], peak)
    if thread is not None:
        thread.join()
    entries = read_log(log)
    if not entries:
        raise RuntimeError(f"locust sent nothing (exit {proc.returncode}):\n{output[-3000:]}")
    return entries, window


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total = 0.0
    for candidate in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(total, 1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its live children have used, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for candidate in [pid, *children(pid)]:
        fields = stat_fields(Path(f"/proc/{candidate}/stat"))
        if fields:
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)
    return total


def cpu_per_turn(before: dict[str, float], after: dict[str, float], entries: list[dict[str, Any]]) -> dict[str, float]:
    """Milliseconds of CPU per answered turn, per process alive at both readings."""
    answered = sum(e["state"] == "answered" for e in entries)
    if not answered:
        return {}
    return {name: round((after[name] - before[name]) * 1000 / answered, 1) for name in after if name in before}


def stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc/PID/stat after the command name (state first); [] if it is gone."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = stat_fields(stat)
        if fields and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
